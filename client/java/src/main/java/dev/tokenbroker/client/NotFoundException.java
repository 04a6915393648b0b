package dev.tokenbroker.client;

/**
 * {@code NOT_FOUND}: no such integration (reason {@code INTEGRATION_NOT_FOUND}): a configuration
 * error.
 */
public final class NotFoundException extends TokenbrokerException {
  private static final long serialVersionUID = 1L;

  NotFoundException(TokenbrokerException parts) {
    super(parts);
  }
}
