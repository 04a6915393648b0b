package dev.tokenbroker.client;

/**
 * {@code UNAVAILABLE}: the broker or IMS is unreachable and no valid token is cached; already
 * retried by the client.
 */
public final class UnavailableException extends TokenbrokerException {
  private static final long serialVersionUID = 1L;

  UnavailableException(TokenbrokerException parts) {
    super(parts);
  }
}
