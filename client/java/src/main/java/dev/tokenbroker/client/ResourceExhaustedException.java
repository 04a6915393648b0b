package dev.tokenbroker.client;

/**
 * {@code RESOURCE_EXHAUSTED}: a limit was hit (e.g. the forced-refresh limit); wait {@link
 * #retryDelay()} before trying again.
 */
public final class ResourceExhaustedException extends TokenbrokerException {
  private static final long serialVersionUID = 1L;

  ResourceExhaustedException(TokenbrokerException parts) {
    super(parts);
  }
}
