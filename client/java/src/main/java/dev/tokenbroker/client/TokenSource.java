package dev.tokenbroker.client;

/**
 * A cached supply of one integration's access token and request headers.
 *
 * <p>Get one from {@link TokenbrokerClient#tokenSource(String)}. {@link #token()} and {@link
 * #requestHeaders()} return from memory (no I/O, no lock) while the cached token has enough
 * validity left, which is nearly always: the source follows the broker's {@code
 * WatchAccessTokens} stream, which pushes each new token as the broker mints it ahead of expiry,
 * and if the stream is down it asks {@code GetAccessToken} again at 80 % of the token's lifetime.
 * Only the first call, or a call after every refresh failed, blocks on an RPC (one for all
 * concurrent callers).
 *
 * <p>Implementations are thread-safe. Close a source to end its stream.
 */
public interface TokenSource extends AutoCloseable {
  /**
   * A valid token with at least {@code min(tokenMinValidity, 10 % of its lifetime)} left.
   *
   * @throws TokenbrokerException when no such token is cached and the broker cannot give one
   *     (codes as {@link TokenbrokerClient#getAccessToken(String)})
   * @throws IllegalStateException after {@link #close()}
   */
  Token token();

  /**
   * The headers for an Adobe API call carrying the current {@link #token()}. The first call fetches
   * the integration's static headers ({@code x-api-key}, ...) with {@code GetRequestHeaders};
   * they are re-fetched in the background whenever the token rotates.
   *
   * @throws TokenbrokerException as {@link #token()}
   */
  RequestHeaders requestHeaders();

  /**
   * Reports that an API refused {@code rejectedAccessToken} (HTTP 401) and returns a different
   * token: the cached one if it has changed meanwhile, else a freshly minted one ({@code
   * RefreshAccessToken}). Concurrent callers share one refresh.
   *
   * @throws TokenbrokerException when the broker cannot mint a new token
   */
  Token invalidate(String rejectedAccessToken);

  /** Ends the stream and the refresh timer. Idempotent. */
  @Override
  void close();
}
