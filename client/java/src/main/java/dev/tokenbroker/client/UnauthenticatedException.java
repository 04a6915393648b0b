package dev.tokenbroker.client;

/**
 * {@code UNAUTHENTICATED}: the caller token is missing, unknown, or its file cannot be read.
 */
public final class UnauthenticatedException extends TokenbrokerException {
  private static final long serialVersionUID = 1L;

  UnauthenticatedException(TokenbrokerException parts) {
    super(parts);
  }
}
