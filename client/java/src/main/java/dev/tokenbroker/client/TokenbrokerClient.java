package dev.tokenbroker.client;

import com.google.protobuf.FieldMask;
import dev.tokenbroker.v1.CreateIntegrationRequest;
import dev.tokenbroker.v1.DeleteIntegrationRequest;
import dev.tokenbroker.v1.GetAccessTokenRequest;
import dev.tokenbroker.v1.GetIntegrationRequest;
import dev.tokenbroker.v1.GetRequestHeadersRequest;
import dev.tokenbroker.v1.ImportIntegrationsRequest;
import dev.tokenbroker.v1.ImportIntegrationsResponse;
import dev.tokenbroker.v1.Integration;
import dev.tokenbroker.v1.IntegrationServiceGrpc;
import dev.tokenbroker.v1.ListClientSecretsRequest;
import dev.tokenbroker.v1.ListClientSecretsResponse;
import dev.tokenbroker.v1.ListIntegrationsRequest;
import dev.tokenbroker.v1.ListIntegrationsResponse;
import dev.tokenbroker.v1.MigrateIntegrationRequest;
import dev.tokenbroker.v1.RefreshAccessTokenRequest;
import dev.tokenbroker.v1.RotateClientSecretRequest;
import dev.tokenbroker.v1.RotateClientSecretResponse;
import dev.tokenbroker.v1.TokenServiceGrpc;
import dev.tokenbroker.v1.UpdateIntegrationRequest;
import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.Deadline;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A client of tokenbroker's {@code TokenService} and {@code IntegrationService}.
 *
 * <p>Adds to the generated stubs: integration ids or names ({@code "demo"} or {@code
 * "integrations/demo"}), a deadline on every call, retries of {@code UNAVAILABLE} ({@link
 * RetryPolicy}), the caller token, java.time types, and {@link TokenbrokerException} with the
 * server's error details decoded. For tokens on a hot path use {@link #tokenSource(String)},
 * which caches.
 *
 * <p>Thread-safe; create one per process and share it. Calls block the calling thread (at most
 * the deadline). {@link #close()} shuts the channel down if this client created it.
 *
 * <pre>{@code
 * try (TokenbrokerClient client = TokenbrokerClient.create(
 *     TokenbrokerOptions.builder("127.0.0.1:50051").plaintext().build())) {
 *   Token token = client.getAccessToken("demo");
 * }
 * }</pre>
 */
public final class TokenbrokerClient implements AutoCloseable {
  private static final String NAME_PREFIX = "integrations/";
  private static final String USER_AGENT = "tokenbroker-java/0.1.0";

  /** What the views made by {@link #withDeadline} share with the client they came from. */
  private static final class Shared {
    final ManagedChannel channel;
    final boolean ownsChannel;
    final TokenbrokerOptions options;
    final CallCredentials callCredentials;
    final Clock clock;
    private ScheduledExecutorService scheduler;
    private boolean closed;

    Shared(ManagedChannel channel, boolean owns, TokenbrokerOptions options, Clock clock) {
      this.channel = channel;
      this.ownsChannel = owns;
      this.options = options;
      this.clock = clock;
      if (options.callerTokenFile() != null) {
        callCredentials =
            CallerTokenCredentials.fromFile(options.callerTokenFile(), options.callerTokenReload());
      } else if (options.callerToken() != null) {
        callCredentials = CallerTokenCredentials.of(options.callerToken());
      } else {
        callCredentials = null;
      }
    }

    synchronized ScheduledExecutorService scheduler() {
      if (closed) {
        throw new IllegalStateException("the TokenbrokerClient is closed");
      }
      if (scheduler == null) {
        ScheduledThreadPoolExecutor s =
            new ScheduledThreadPoolExecutor(
                1,
                r -> {
                  Thread t = new Thread(r, "tokenbroker-client-refresh");
                  t.setDaemon(true);
                  return t;
                });
        s.setRemoveOnCancelPolicy(true);
        scheduler = s;
      }
      return scheduler;
    }

    synchronized void close() {
      if (closed) {
        return;
      }
      closed = true;
      if (scheduler != null) {
        scheduler.shutdownNow();
      }
      if (ownsChannel) {
        channel.shutdown();
        try {
          if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
            channel.shutdownNow();
          }
        } catch (InterruptedException e) {
          channel.shutdownNow();
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  private final Shared shared;
  private final boolean isView;
  private final Duration deadline;
  private final TokenServiceGrpc.TokenServiceBlockingStub tokens;
  private final TokenServiceGrpc.TokenServiceStub tokensAsync;
  private final IntegrationServiceGrpc.IntegrationServiceBlockingStub integrations;

  private TokenbrokerClient(Shared shared, boolean isView, Duration deadline) {
    this.shared = shared;
    this.isView = isView;
    this.deadline = deadline;
    TokenServiceGrpc.TokenServiceBlockingStub t = TokenServiceGrpc.newBlockingStub(shared.channel);
    TokenServiceGrpc.TokenServiceStub ta = TokenServiceGrpc.newStub(shared.channel);
    IntegrationServiceGrpc.IntegrationServiceBlockingStub i =
        IntegrationServiceGrpc.newBlockingStub(shared.channel);
    if (shared.callCredentials != null) {
      t = t.withCallCredentials(shared.callCredentials);
      ta = ta.withCallCredentials(shared.callCredentials);
      i = i.withCallCredentials(shared.callCredentials);
    }
    this.tokens = t;
    this.tokensAsync = ta;
    this.integrations = i;
  }

  /**
   * Connects to the broker as {@code options} say. Connecting is lazy: a broker that is down
   * shows as {@code UNAVAILABLE} on the first call, not here.
   *
   * @throws UncheckedIOException when a CA, certificate or key file cannot be read
   */
  public static TokenbrokerClient create(TokenbrokerOptions options) {
    ManagedChannelBuilder<?> b = Grpc.newChannelBuilder(options.target(), credentials(options));
    if (options.authority() != null) {
      b.overrideAuthority(options.authority());
    }
    b.userAgent(USER_AGENT);
    return new TokenbrokerClient(
        new Shared(b.build(), true, options, Clock.systemUTC()), false, options.deadline());
  }

  /**
   * Uses a channel the caller built and keeps owning ({@link #close()} leaves it open). The
   * options' target and transport settings are ignored; the rest apply.
   */
  public static TokenbrokerClient create(ManagedChannel channel, TokenbrokerOptions options) {
    return create(channel, options, Clock.systemUTC());
  }

  /** For tests only: a client whose token sources read time from {@code clock}. */
  static TokenbrokerClient create(
      ManagedChannel channel, TokenbrokerOptions options, Clock clock) {
    Objects.requireNonNull(channel, "channel");
    return new TokenbrokerClient(
        new Shared(channel, false, options, clock), false, options.deadline());
  }

  private static ChannelCredentials credentials(TokenbrokerOptions o) {
    if (o.security() == TokenbrokerOptions.Security.PLAINTEXT) {
      return InsecureChannelCredentials.create();
    }
    TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder();
    try {
      if (o.caFile() != null) {
        tls.trustManager(o.caFile().toFile());
      }
      if (o.security() == TokenbrokerOptions.Security.MUTUAL_TLS) {
        tls.keyManager(o.certChainFile().toFile(), o.privateKeyFile().toFile());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read TLS files: " + e.getMessage(), e);
    }
    return tls.build();
  }

  /**
   * A view of this client whose calls have {@code deadline} (retries included). It shares the
   * channel; closing the view does nothing.
   */
  public TokenbrokerClient withDeadline(Duration deadline) {
    Objects.requireNonNull(deadline, "deadline");
    if (deadline.isNegative() || deadline.isZero()) {
      throw new IllegalArgumentException("deadline must be positive, got " + deadline);
    }
    return new TokenbrokerClient(shared, true, deadline);
  }

  /** The options this client was made with. */
  public TokenbrokerOptions options() {
    return shared.options;
  }

  /** The per-call deadline of this client (or view). */
  public Duration deadline() {
    return deadline;
  }

  /** {@code "demo"} or {@code "integrations/demo"} → {@code "integrations/demo"}. */
  public static String integrationName(String idOrName) {
    Objects.requireNonNull(idOrName, "integration");
    return idOrName.startsWith(NAME_PREFIX) ? idOrName : NAME_PREFIX + idOrName;
  }

  // --- TokenService ---------------------------------------------------------------------------

  /**
   * A valid token of the integration, from the broker's cache (minted if needed). Every call is
   * one RPC: cache it, or use {@link #tokenSource(String)}.
   *
   * @throws TokenbrokerException INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION (IMS rejected
   *     the credentials: see {@link TokenbrokerException#imsError()}), UNAVAILABLE,
   *     DEADLINE_EXCEEDED
   */
  public Token getAccessToken(String integration) {
    return getAccessToken(integration, null);
  }

  /**
   * Like {@link #getAccessToken(String)}, the token staying valid at least {@code
   * minRemainingValidity} (null: the server's default; at most 12 h).
   */
  public Token getAccessToken(String integration, Duration minRemainingValidity) {
    GetAccessTokenRequest.Builder req =
        GetAccessTokenRequest.newBuilder().setName(integrationName(integration));
    if (minRemainingValidity != null) {
      req.setMinRemainingValidity(Protos.toProto(minRemainingValidity));
    }
    GetAccessTokenRequest r = req.build();
    return Token.fromProto(
        invoke(true, d -> tokens.withDeadline(d).getAccessToken(r)).getToken());
  }

  /**
   * The HTTP headers for Adobe APIs ({@code Authorization}, {@code x-api-key}, and {@code
   * x-gw-ims-org-id} / {@code x-sandbox-name} where configured). Errors: as {@link
   * #getAccessToken(String)}.
   */
  public RequestHeaders getRequestHeaders(String integration) {
    return getRequestHeaders(integration, null);
  }

  /** Like {@link #getRequestHeaders(String)} with a minimum remaining validity (null: default). */
  public RequestHeaders getRequestHeaders(String integration, Duration minRemainingValidity) {
    GetRequestHeadersRequest.Builder req =
        GetRequestHeadersRequest.newBuilder().setName(integrationName(integration));
    if (minRemainingValidity != null) {
      req.setMinRemainingValidity(Protos.toProto(minRemainingValidity));
    }
    GetRequestHeadersRequest r = req.build();
    return RequestHeaders.fromProto(invoke(true, d -> tokens.withDeadline(d).getRequestHeaders(r)));
  }

  /**
   * Mints a new token now, whatever the broker has cached (concurrent refreshes share one IMS
   * exchange). Errors: as {@link #getAccessToken(String)}.
   */
  public Token refreshAccessToken(String integration) {
    RefreshAccessTokenRequest r =
        RefreshAccessTokenRequest.newBuilder().setName(integrationName(integration)).build();
    return Token.fromProto(
        invoke(true, d -> tokens.withDeadline(d).refreshAccessToken(r)).getToken());
  }

  /**
   * A cached, self-refreshing source of the integration's token and headers: it follows the
   * broker's {@code WatchAccessTokens} stream and falls back to asking again before the token
   * expires. Close it when done (closing the client closes its refresh thread too).
   */
  public TokenSource tokenSource(String integration) {
    return new WatchingTokenSource(
        this, integrationName(integration), shared.options.tokenMinValidity(), shared.clock);
  }

  // --- IntegrationService ---------------------------------------------------------------------
  //
  // Each call goes through invoke() like the token calls: this client's deadline, its caller
  // token, TokenbrokerException errors, and retries of UNAVAILABLE, except for the calls that
  // change integrations in a way a second attempt would not repeat (create, update, delete,
  // import, migrate), which are made once. Results never hold a secret: the server returns none.

  /**
   * Registers an integration ({@code integration.credentials} set). Not retried.
   *
   * @throws TokenbrokerException INVALID_ARGUMENT (see {@link TokenbrokerException#field()}),
   *     ALREADY_EXISTS
   */
  public Integration createIntegration(String integrationId, Integration integration) {
    CreateIntegrationRequest r =
        CreateIntegrationRequest.newBuilder()
            .setIntegrationId(integrationId)
            .setIntegration(integration)
            .build();
    return invoke(false, d -> integrations.withDeadline(d).createIntegration(r)).getIntegration();
  }

  /** One integration, without secrets. Errors: INVALID_ARGUMENT, NOT_FOUND. */
  public Integration getIntegration(String integration) {
    GetIntegrationRequest r =
        GetIntegrationRequest.newBuilder().setName(integrationName(integration)).build();
    return invoke(true, d -> integrations.withDeadline(d).getIntegration(r)).getIntegration();
  }

  /** Every integration, in id order (all pages; each page has its own deadline). */
  public List<Integration> listIntegrations() {
    List<Integration> all = new ArrayList<>();
    String token = "";
    do {
      ListIntegrationsRequest r =
          ListIntegrationsRequest.newBuilder().setPageSize(1000).setPageToken(token).build();
      ListIntegrationsResponse page =
          invoke(true, d -> integrations.withDeadline(d).listIntegrations(r));
      all.addAll(page.getIntegrationsList());
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return all;
  }

  /**
   * Changes the fields of {@code integration} named in {@code updateMask}; set {@code etag} for
   * optimistic concurrency. Its name may be an id or {@code integrations/{id}} (a normalised copy
   * is sent; the argument is not changed). Not retried. Errors: INVALID_ARGUMENT, NOT_FOUND,
   * ABORTED.
   */
  public Integration updateIntegration(Integration integration, FieldMask updateMask) {
    Integration named =
        integration.toBuilder().setName(integrationName(integration.getName())).build();
    UpdateIntegrationRequest r =
        UpdateIntegrationRequest.newBuilder()
            .setIntegration(named)
            .setUpdateMask(updateMask)
            .build();
    return invoke(false, d -> integrations.withDeadline(d).updateIntegration(r)).getIntegration();
  }

  /**
   * Deletes an integration and its cached tokens; {@code etag} may be null. Not retried. Errors:
   * INVALID_ARGUMENT, NOT_FOUND, ABORTED.
   */
  public void deleteIntegration(String integration, String etag) {
    DeleteIntegrationRequest.Builder r =
        DeleteIntegrationRequest.newBuilder().setName(integrationName(integration));
    if (etag != null) {
      r.setEtag(etag);
    }
    DeleteIntegrationRequest req = r.build();
    invoke(false, d -> integrations.withDeadline(d).deleteIntegration(req));
  }

  /**
   * Creates (or, with {@code allow_update}, replaces) one integration per credential of an Adobe
   * Developer Console "Download JSON" file or an AEM service credential ({@code
   * request.credential_file}), all or none; with {@code validate_only} nothing is written and the
   * response shows what would be. Not retried.
   *
   * @throws TokenbrokerException INVALID_ARGUMENT (the file: the message names the JSON path),
   *     ALREADY_EXISTS (an id exists and {@code allow_update} is false), NOT_FOUND ({@code
   *     credential_name} matches no credential), FAILED_PRECONDITION ({@code allow_update} of an
   *     integration of another auth method), ABORTED (changed concurrently), PERMISSION_DENIED
   */
  public ImportIntegrationsResponse importIntegrations(ImportIntegrationsRequest request) {
    Objects.requireNonNull(request, "request");
    return invoke(false, d -> integrations.withDeadline(d).importIntegrations(request));
  }

  /**
   * The credential's client secrets at the Adobe Developer Console (never their values), each
   * matched with the ones the broker stores.
   *
   * @throws TokenbrokerException INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION (the message
   *     says what to do), UNAVAILABLE (IMS or the Console unreachable; already retried),
   *     PERMISSION_DENIED
   */
  public ListClientSecretsResponse listClientSecrets(String integration) {
    ListClientSecretsRequest r =
        ListClientSecretsRequest.newBuilder().setParent(integrationName(integration)).build();
    return invoke(true, d -> integrations.withDeadline(d).listClientSecrets(r));
  }

  /**
   * Rotates the credential's client secret at the Developer Console ({@code immediate}: delete
   * the old one as soon as the new one works, for a leaked secret). The server resumes an
   * interrupted rotation, so UNAVAILABLE is retried like a read; a response in {@code
   * STATE_WAITING} means: call again later (after the server's grace period) to finish.
   *
   * @throws TokenbrokerException as {@link #listClientSecrets(String)}, and ABORTED (a concurrent
   *     rotation)
   */
  public RotateClientSecretResponse rotateClientSecret(String integration, boolean immediate) {
    RotateClientSecretRequest r =
        RotateClientSecretRequest.newBuilder()
            .setParent(integrationName(integration))
            .setImmediate(immediate)
            .build();
    return invoke(true, d -> integrations.withDeadline(d).rotateClientSecret(r));
  }

  /**
   * Converts a JWT integration to OAuth Server-to-Server ({@code request.name}: an id or a name)
   * and returns it as stored. {@code request} is not modified. Not retried.
   *
   * @throws TokenbrokerException INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION (not JWT, or
   *     IMS refused the S2S credential), UNAVAILABLE (IMS unreachable), ABORTED, PERMISSION_DENIED
   */
  public Integration migrateIntegration(MigrateIntegrationRequest request) {
    Objects.requireNonNull(request, "request");
    String name = integrationName(request.getName());
    MigrateIntegrationRequest r =
        name.equals(request.getName()) ? request : request.toBuilder().setName(name).build();
    return invoke(false, d -> integrations.withDeadline(d).migrateIntegration(r)).getIntegration();
  }

  // --- Escape hatches -------------------------------------------------------------------------

  /**
   * The generated async stub on this client's channel, with the caller token set (no deadline,
   * no retries, raw {@code StatusRuntimeException}s).
   */
  public TokenServiceGrpc.TokenServiceStub tokenServiceStub() {
    return tokensAsync;
  }

  /** The generated blocking stub, with the caller token set (no deadline, no retries). */
  public IntegrationServiceGrpc.IntegrationServiceBlockingStub integrationServiceStub() {
    return integrations;
  }

  /**
   * Closes the token sources' refresh thread and, if this client created the channel, the
   * channel (waiting up to 5 s for calls in flight). A view made by {@link #withDeadline} closes
   * nothing.
   */
  @Override
  public void close() {
    if (!isView) {
      shared.close();
    }
  }

  // --- Internals ------------------------------------------------------------------------------

  ScheduledExecutorService scheduler() {
    return shared.scheduler();
  }

  /**
   * Runs {@code attempt} until it succeeds, fails with a code other than UNAVAILABLE, runs out of
   * attempts, or the next retry would end past the deadline (one deadline for all attempts). A
   * retry that the deadline ends throws the UNAVAILABLE that caused it, not DEADLINE_EXCEEDED.
   */
  <T> T invoke(boolean retryable, Function<Deadline, T> attempt) {
    RetryPolicy policy = shared.options.retryPolicy();
    Deadline dl = Deadline.after(deadline.toNanos(), TimeUnit.NANOSECONDS);
    int maxAttempts = retryable ? policy.maxAttempts() : 1;
    TokenbrokerException retried = null; // the UNAVAILABLE the current attempt retries
    for (int n = 1; ; n++) {
      try {
        return attempt.apply(dl);
      } catch (StatusRuntimeException e) {
        TokenbrokerException error = TokenbrokerException.from(e);
        // A retry the deadline ended (an overlong wait included: the attempt is never sent).
        if (retried != null && error.code() == Status.Code.DEADLINE_EXCEEDED && dl.isExpired()) {
          retried.addSuppressed(error);
          throw retried;
        }
        if (!error.isRetryable() || n >= maxAttempts) {
          throw error;
        }
        Duration wait = policy.backoff(n, ThreadLocalRandom.current()::nextDouble);
        if (error.retryDelay() != null && error.retryDelay().compareTo(wait) > 0) {
          wait = error.retryDelay();
        }
        if (dl.timeRemaining(TimeUnit.NANOSECONDS) <= wait.toNanos()) {
          throw error;
        }
        sleepBeforeRetry(wait, error);
        retried = error;
      }
    }
  }

  /** Sleeps {@code wait}; interrupted, throws CANCELLED with {@code error} suppressed. */
  private static void sleepBeforeRetry(Duration wait, TokenbrokerException error) {
    try {
      TimeUnit.NANOSECONDS.sleep(wait.toNanos());
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      TokenbrokerException cancelled =
          TokenbrokerException.local(
              Status.Code.CANCELLED, "interrupted while waiting to retry", ie);
      cancelled.addSuppressed(error);
      throw cancelled;
    }
  }

  TokenServiceGrpc.TokenServiceStub tokensAsync() {
    return tokensAsync;
  }

  RetryPolicy retryPolicy() {
    return shared.options.retryPolicy();
  }
}
