package dev.tokenbroker.client;

import java.net.URI;
import java.net.http.HttpRequest;

/**
 * Adds the integration's Adobe headers to {@code java.net.http} requests.
 *
 * <pre>{@code
 * HttpRequest request = HttpRequests.authorized(URI.create(url), source).GET().build();
 * HttpResponse<String> r = httpClient.send(request, HttpResponse.BodyHandlers.ofString());
 * }</pre>
 */
public final class HttpRequests {
  private HttpRequests() {}

  /**
   * Sets every header of {@link TokenSource#requestHeaders()} on {@code builder} (replacing values
   * set before) and returns the builder.
   *
   * @throws TokenbrokerException when the source has no token to give
   */
  public static HttpRequest.Builder authorize(HttpRequest.Builder builder, TokenSource source) {
    source.requestHeaders().headers().forEach(builder::setHeader);
    return builder;
  }

  /** {@code HttpRequest.newBuilder(uri)} with the headers set. */
  public static HttpRequest.Builder authorized(URI uri, TokenSource source) {
    return authorize(HttpRequest.newBuilder(uri), source);
  }
}
