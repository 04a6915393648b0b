package dev.tokenbroker.client;

/**
 * {@code PERMISSION_DENIED}: the caller token is not allowed this call or integration.
 */
public final class PermissionDeniedException extends TokenbrokerException {
  private static final long serialVersionUID = 1L;

  PermissionDeniedException(TokenbrokerException parts) {
    super(parts);
  }
}
