package dev.tokenbroker.client;

/**
 * {@code FAILED_PRECONDITION}: IMS rejected the integration's credentials (reason {@code
 * IMS_REJECTED}: see {@link #imsError()}, {@link #xDebugId()}) or the integration is disabled.
 */
public final class FailedPreconditionException extends TokenbrokerException {
  private static final long serialVersionUID = 1L;

  FailedPreconditionException(TokenbrokerException parts) {
    super(parts);
  }
}
