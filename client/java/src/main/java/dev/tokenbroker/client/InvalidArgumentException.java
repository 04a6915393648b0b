package dev.tokenbroker.client;

/**
 * {@code INVALID_ARGUMENT}: a bad request; {@link #field()} names the field.
 */
public final class InvalidArgumentException extends TokenbrokerException {
  private static final long serialVersionUID = 1L;

  InvalidArgumentException(TokenbrokerException parts) {
    super(parts);
  }
}
