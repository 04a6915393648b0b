package dev.tokenbroker.client;

import java.time.Instant;
import java.util.Objects;

/**
 * An Adobe IMS access token handed out by tokenbroker.
 *
 * <p>Immutable. {@link #toString()} never shows the token itself: log a token
 * freely, never {@link #accessToken()}.
 *
 * @param accessToken the bearer token (secret)
 * @param tokenType always {@code bearer}
 * @param issueTime when IMS issued the token
 * @param expireTime when the token stops being valid
 * @param integration the integration's resource name, {@code integrations/{id}}
 */
public record Token(
    String accessToken, String tokenType, Instant issueTime, Instant expireTime, String integration) {

  public Token {
    Objects.requireNonNull(accessToken, "accessToken");
    Objects.requireNonNull(expireTime, "expireTime");
    Objects.requireNonNull(issueTime, "issueTime");
  }

  /** The {@code Authorization} header value: {@code Bearer <token>}. */
  public String authorizationHeader() {
    return "Bearer " + accessToken;
  }

  /** The token's whole lifetime, from issue to expiry. */
  public java.time.Duration lifetime() {
    return java.time.Duration.between(issueTime, expireTime);
  }

  /** True while the token is valid at {@code now}. */
  public boolean isValidAt(Instant now) {
    return now.isBefore(expireTime);
  }

  static Token fromProto(dev.tokenbroker.v1.AccessToken t) {
    return new Token(
        t.getAccessToken(),
        t.getTokenType(),
        Protos.toInstant(t.getIssueTime()),
        Protos.toInstant(t.getExpireTime()),
        t.getIntegration());
  }

  @Override
  public String toString() {
    return "Token{integration="
        + integration
        + ", issueTime="
        + issueTime
        + ", expireTime="
        + expireTime
        + ", accessToken=<redacted>}";
  }
}
