package dev.tokenbroker.client;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The HTTP headers an Adobe API call needs: {@code Authorization}, {@code x-api-key}, and
 * {@code x-gw-ims-org-id} / {@code x-sandbox-name} where the integration is configured for them.
 *
 * <p>Immutable; the map keeps the server's order. {@link #toString()} hides the token.
 *
 * @param headers header name to value, in a stable order; unmodifiable
 * @param expireTime when the token in {@code Authorization} expires
 */
public record RequestHeaders(Map<String, String> headers, Instant expireTime) {

  static final String AUTHORIZATION = "Authorization";

  public RequestHeaders {
    Objects.requireNonNull(expireTime, "expireTime");
    headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
  }

  /** The value of a header, the name compared case-insensitively; null when absent. */
  public String get(String name) {
    for (Map.Entry<String, String> e : headers.entrySet()) {
      if (e.getKey().equalsIgnoreCase(name)) {
        return e.getValue();
      }
    }
    return null;
  }

  /** The bearer token inside {@code Authorization}, or null when there is none. */
  public String accessToken() {
    String value = get(AUTHORIZATION);
    if (value == null || !value.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    return value.substring(7);
  }

  static RequestHeaders fromProto(dev.tokenbroker.v1.GetRequestHeadersResponse r) {
    Map<String, String> h = new LinkedHashMap<>();
    for (dev.tokenbroker.v1.Header header : r.getHeadersList()) {
      h.put(header.getName(), header.getValue());
    }
    return new RequestHeaders(h, Protos.toInstant(r.getExpireTime()));
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("RequestHeaders{");
    headers.forEach(
        (k, v) ->
            sb.append(k)
                .append('=')
                .append(k.equalsIgnoreCase(AUTHORIZATION) ? "<redacted>" : v)
                .append(", "));
    return sb.append("expireTime=").append(expireTime).append('}').toString();
  }
}
