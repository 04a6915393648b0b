package dev.tokenbroker.client;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link TokenbrokerClient} connects and calls: target, transport security (plaintext, TLS,
 * mutual TLS), the caller token, the per-call deadline, retries, and the token sources' minimum
 * validity.
 *
 * <p>TLS verified against the system's trust store is the default; {@link Builder#plaintext()}
 * is for a broker on loopback or in the same pod only. Immutable and thread-safe.
 *
 * <pre>{@code
 * TokenbrokerOptions options = TokenbrokerOptions.builder("tokenbroker.internal:50051")
 *     .mtls(Path.of("ca.pem"), Path.of("client.pem"), Path.of("client-key.pem"))
 *     .callerTokenFile(Path.of("/var/run/secrets/tokenbroker/token"))
 *     .deadline(Duration.ofSeconds(5))
 *     .build();
 * }</pre>
 */
public final class TokenbrokerOptions {
  /** Transport security of the channel. */
  public enum Security {
    /** No TLS. */
    PLAINTEXT,
    /** TLS; the server's certificate is verified. */
    TLS,
    /** TLS with a client certificate. */
    MUTUAL_TLS,
  }

  private final String target;
  private final Security security;
  private final Path caFile;
  private final Path certChainFile;
  private final Path privateKeyFile;
  private final String authority;
  private final String callerToken;
  private final Path callerTokenFile;
  private final Duration callerTokenReload;
  private final Duration deadline;
  private final RetryPolicy retryPolicy;
  private final Duration tokenMinValidity;

  private TokenbrokerOptions(Builder b) {
    this.target = b.target;
    this.security = b.security;
    this.caFile = b.caFile;
    this.certChainFile = b.certChainFile;
    this.privateKeyFile = b.privateKeyFile;
    this.authority = b.authority;
    this.callerToken = b.callerToken;
    this.callerTokenFile = b.callerTokenFile;
    this.callerTokenReload = b.callerTokenReload;
    this.deadline = b.deadline;
    this.retryPolicy = b.retryPolicy;
    this.tokenMinValidity = b.tokenMinValidity;
  }

  /**
   * Options for the broker at {@code target}: {@code host:port} or any gRPC target URI ({@code
   * dns:///host:port}, {@code unix:///path}).
   */
  public static Builder builder(String target) {
    return new Builder(target);
  }

  public String target() {
    return target;
  }

  public Security security() {
    return security;
  }

  /** PEM CA bundle that verifies the server; null: the system trust store. */
  public Path caFile() {
    return caFile;
  }

  /** PEM client certificate chain (mutual TLS), or null. */
  public Path certChainFile() {
    return certChainFile;
  }

  /** PEM private key of the client certificate (mutual TLS), or null. */
  public Path privateKeyFile() {
    return privateKeyFile;
  }

  /** The authority (TLS server name) to use instead of the target's host, or null. */
  public String authority() {
    return authority;
  }

  /** True when a caller token (string or file) is set. */
  public boolean hasCallerToken() {
    return callerToken != null || callerTokenFile != null;
  }

  Path callerTokenFile() {
    return callerTokenFile;
  }

  String callerToken() {
    return callerToken;
  }

  /** How long one read of the caller-token file stays in use before the file is read again. */
  public Duration callerTokenReload() {
    return callerTokenReload;
  }

  /** The deadline of one call, retries included. */
  public Duration deadline() {
    return deadline;
  }

  public RetryPolicy retryPolicy() {
    return retryPolicy;
  }

  /**
   * The validity a {@link TokenSource} keeps in reserve: it hands out a cached token only while it
   * has at least this much left, and asks the broker for a token valid that long ({@code
   * min_remaining_validity}). Null (the default): the server's rule, 60 s capped at 10 % of the
   * token's lifetime, and nothing sent.
   */
  public Duration tokenMinValidity() {
    return tokenMinValidity;
  }

  @Override
  public String toString() {
    return "TokenbrokerOptions{target="
        + target
        + ", security="
        + security
        + ", caFile="
        + caFile
        + ", authority="
        + authority
        + ", callerToken="
        + (callerToken != null ? "<set>" : callerTokenFile != null ? callerTokenFile : "none")
        + ", callerTokenReload="
        + callerTokenReload
        + ", deadline="
        + deadline
        + ", retryPolicy="
        + retryPolicy
        + ", tokenMinValidity="
        + (tokenMinValidity != null ? tokenMinValidity : "server")
        + '}';
  }

  /** Builds {@link TokenbrokerOptions}; setters validate their arguments. */
  public static final class Builder {
    private final String target;
    private Security security = Security.TLS;
    private Path caFile;
    private Path certChainFile;
    private Path privateKeyFile;
    private String authority;
    private String callerToken;
    private Path callerTokenFile;
    private Duration callerTokenReload = Duration.ofSeconds(5);
    private Duration deadline = Duration.ofSeconds(10);
    private RetryPolicy retryPolicy = RetryPolicy.defaults();
    private Duration tokenMinValidity;

    private Builder(String target) {
      Objects.requireNonNull(target, "target");
      if (target.isBlank()) {
        throw new IllegalArgumentException("target must not be empty");
      }
      this.target = target;
    }

    /**
     * No transport security. Only for a broker on loopback or in the same pod: a caller token
     * would travel in clear text.
     */
    public Builder plaintext() {
      security = Security.PLAINTEXT;
      caFile = certChainFile = privateKeyFile = null;
      return this;
    }

    /** TLS, the server verified against the system's trust store (the default). */
    public Builder tls() {
      return tls(null);
    }

    /** TLS, the server verified against {@code caFile} (PEM); null: the system trust store. */
    public Builder tls(Path caFile) {
      security = Security.TLS;
      this.caFile = caFile;
      certChainFile = privateKeyFile = null;
      return this;
    }

    /**
     * Mutual TLS: the server verified against {@code caFile} (null: the system trust store), the
     * client presenting {@code certChainFile} with {@code privateKeyFile} (PEM; PKCS#8 keys).
     */
    public Builder mtls(Path caFile, Path certChainFile, Path privateKeyFile) {
      security = Security.MUTUAL_TLS;
      this.caFile = caFile;
      this.certChainFile = Objects.requireNonNull(certChainFile, "certChainFile");
      this.privateKeyFile = Objects.requireNonNull(privateKeyFile, "privateKeyFile");
      return this;
    }

    /** The TLS server name and {@code :authority} to use instead of the target's host. */
    public Builder authority(String authority) {
      this.authority = authority;
      return this;
    }

    /**
     * Sends {@code authorization: Bearer <token>} with every call, identifying this caller to the
     * broker. Replaces a token file set before.
     */
    public Builder callerToken(String token) {
      Objects.requireNonNull(token, "token");
      if (token.isBlank() || token.strip().chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException("caller token must be one non-empty word");
      }
      this.callerToken = token.strip();
      this.callerTokenFile = null;
      return this;
    }

    /**
     * Like {@link #callerToken(String)}, read from a file (surrounding whitespace ignored). The
     * file is read again once the copy in memory is older than {@link #callerTokenReload}, so a
     * rotated Kubernetes token is picked up without a restart. A file that cannot be read fails
     * the call with {@code UNAUTHENTICATED} naming the file. Replaces a token string set before.
     */
    public Builder callerTokenFile(Path file) {
      this.callerTokenFile = Objects.requireNonNull(file, "file");
      this.callerToken = null;
      return this;
    }

    /** How long one read of the caller-token file stays in use. Default 5 s. */
    public Builder callerTokenReload(Duration reload) {
      Objects.requireNonNull(reload, "reload");
      if (reload.isNegative()) {
        throw new IllegalArgumentException("callerTokenReload must not be negative, got " + reload);
      }
      this.callerTokenReload = reload;
      return this;
    }

    /** The deadline of each call, retries included. Default 10 s. */
    public Builder deadline(Duration deadline) {
      Objects.requireNonNull(deadline, "deadline");
      if (deadline.isNegative() || deadline.isZero()) {
        throw new IllegalArgumentException("deadline must be positive, got " + deadline);
      }
      this.deadline = deadline;
      return this;
    }

    /** Default {@link RetryPolicy#defaults()}; {@link RetryPolicy#none()} disables retries. */
    public Builder retryPolicy(RetryPolicy policy) {
      this.retryPolicy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /**
     * See {@link TokenbrokerOptions#tokenMinValidity()}. Default null: the server's rule (60 s,
     * capped at 10 % of the token's lifetime).
     */
    public Builder tokenMinValidity(Duration d) {
      if (d != null && d.isNegative()) {
        throw new IllegalArgumentException("tokenMinValidity must not be negative");
      }
      this.tokenMinValidity = d;
      return this;
    }

    public TokenbrokerOptions build() {
      return new TokenbrokerOptions(this);
    }
  }
}
