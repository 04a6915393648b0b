package dev.tokenbroker.client;

import java.io.IOException;
import java.util.Objects;
import okhttp3.Interceptor;
import okhttp3.Request;
import okhttp3.Response;

/**
 * An OkHttp {@link Interceptor} that adds the integration's Adobe headers ({@code Authorization},
 * {@code x-api-key}, ...) from a {@link TokenSource} to every request, replacing any already set.
 *
 * <pre>{@code
 * OkHttpClient http = new OkHttpClient.Builder()
 *     .addInterceptor(new OkHttpTokenInterceptor(client.tokenSource("demo")))
 *     .build();
 * }</pre>
 *
 * <p>With {@link #retryingOnUnauthorized()}, a {@code 401} answer makes it {@link
 * TokenSource#invalidate invalidate} the token and send the request once more with the new one
 * (not for one-shot request bodies). Needs {@code com.squareup.okhttp3:okhttp} 4.x on the class
 * path (an optional dependency of this library). Thread-safe.
 *
 * <p>A {@link TokenbrokerException} from the source is wrapped in an {@link IOException}, as
 * OkHttp expects from interceptors; its cause is the original exception.
 */
public final class OkHttpTokenInterceptor implements Interceptor {
  private final TokenSource source;
  private final boolean retryOnUnauthorized;

  public OkHttpTokenInterceptor(TokenSource source) {
    this(source, false);
  }

  private OkHttpTokenInterceptor(TokenSource source, boolean retryOnUnauthorized) {
    this.source = Objects.requireNonNull(source, "source");
    this.retryOnUnauthorized = retryOnUnauthorized;
  }

  /** A copy that retries once with a new token when the API answers 401. */
  public OkHttpTokenInterceptor retryingOnUnauthorized() {
    return new OkHttpTokenInterceptor(source, true);
  }

  @Override
  public Response intercept(Chain chain) throws IOException {
    RequestHeaders headers = headers();
    Request request = chain.request();
    Response response = chain.proceed(withHeaders(request, headers));
    if (!retryOnUnauthorized
        || response.code() != 401
        || headers.accessToken() == null
        || (request.body() != null && request.body().isOneShot())) {
      return response;
    }
    response.close();
    try {
      source.invalidate(headers.accessToken());
    } catch (TokenbrokerException e) {
      throw new IOException("tokenbroker: " + e.getMessage(), e);
    }
    return chain.proceed(withHeaders(request, headers()));
  }

  private RequestHeaders headers() throws IOException {
    try {
      return source.requestHeaders();
    } catch (TokenbrokerException e) {
      throw new IOException("tokenbroker: " + e.getMessage(), e);
    }
  }

  private static Request withHeaders(Request request, RequestHeaders headers) {
    Request.Builder b = request.newBuilder();
    headers.headers().forEach(b::header);
    return b.build();
  }
}
