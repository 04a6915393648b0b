package dev.tokenbroker.client;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import dev.tokenbroker.v1.AccessToken;
import dev.tokenbroker.v1.AuthMethod;
import dev.tokenbroker.v1.ConsoleClientSecret;
import dev.tokenbroker.v1.GetAccessTokenRequest;
import dev.tokenbroker.v1.GetAccessTokenResponse;
import dev.tokenbroker.v1.GetRequestHeadersRequest;
import dev.tokenbroker.v1.GetRequestHeadersResponse;
import dev.tokenbroker.v1.Header;
import dev.tokenbroker.v1.ImportIntegrationsRequest;
import dev.tokenbroker.v1.ImportIntegrationsResponse;
import dev.tokenbroker.v1.Integration;
import dev.tokenbroker.v1.IntegrationServiceGrpc;
import dev.tokenbroker.v1.ListClientSecretsRequest;
import dev.tokenbroker.v1.ListClientSecretsResponse;
import dev.tokenbroker.v1.MigrateIntegrationRequest;
import dev.tokenbroker.v1.MigrateIntegrationResponse;
import dev.tokenbroker.v1.RefreshAccessTokenRequest;
import dev.tokenbroker.v1.RefreshAccessTokenResponse;
import dev.tokenbroker.v1.RotateClientSecretRequest;
import dev.tokenbroker.v1.RotateClientSecretResponse;
import dev.tokenbroker.v1.TokenServiceGrpc;
import dev.tokenbroker.v1.WatchAccessTokensRequest;
import dev.tokenbroker.v1.WatchAccessTokensResponse;
import io.grpc.Contexts;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An in-process fake TokenService and IntegrationService on a loopback port (optionally TLS),
 * for behaviour the real broker cannot be made to show on demand: N UNAVAILABLE answers then
 * success, RetryInfo, no answer at all, a broken watch stream, a given error, and what a caller
 * sent (metadata, requests, deadlines). Test-only; no real tokens.
 */
final class FakeBroker implements AutoCloseable {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  /** UNAVAILABLE answers still to give before answering normally. */
  final AtomicInteger failuresLeft = new AtomicInteger();
  /** RetryInfo delay attached to those failures, or null. */
  volatile Duration retryDelay;
  /** Whether WatchAccessTokens fails at once (UNAVAILABLE) instead of streaming. */
  volatile boolean watchBroken;
  /**
   * Whether GetAccessToken, past the {@link #failuresLeft} outages, never answers (the caller's
   * deadline ends the call).
   */
  volatile boolean getSilent;
  /** Lifetime of the tokens handed out. */
  volatile Duration lifetime = Duration.ofHours(1);

  final AtomicInteger getCalls = new AtomicInteger();
  final AtomicInteger refreshCalls = new AtomicInteger();
  final AtomicInteger headerCalls = new AtomicInteger();
  final AtomicInteger watchCalls = new AtomicInteger();
  final List<String> authorizations = new CopyOnWriteArrayList<>();
  final List<Duration> minValidities = new CopyOnWriteArrayList<>();
  final AtomicReference<StreamObserver<WatchAccessTokensResponse>> watcher =
      new AtomicReference<>();
  /** The IntegrationService requests received (one per attempt), in order. */
  final List<Message> integrationRequests = new CopyOnWriteArrayList<>();
  /** The time each IntegrationService request had left to its deadline on arrival, in order. */
  final List<Duration> integrationDeadlines = new CopyOnWriteArrayList<>();
  /**
   * When set, every IntegrationService call (past the {@link #failuresLeft} outages) fails with
   * it.
   */
  volatile StatusRuntimeException integrationError;
  private final AtomicInteger serial = new AtomicInteger();

  private final Server server;

  private FakeBroker(ServerCredentials creds) throws IOException {
    ServerInterceptor captureAuth =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            String a = headers.get(AUTHORIZATION);
            authorizations.add(a == null ? "<none>" : a);
            return Contexts.interceptCall(io.grpc.Context.current(), call, headers, next);
          }
        };
    NettyServerBuilder b =
        creds == null
            ? NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            : NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), creds);
    server =
        b.addService(ServerInterceptors.intercept(new Service(), captureAuth))
            .addService(ServerInterceptors.intercept(new Integrations(), captureAuth))
            .build()
            .start();
  }

  static FakeBroker start() throws IOException {
    return new FakeBroker(null);
  }

  static FakeBroker startTls(ServerCredentials creds) throws IOException {
    return new FakeBroker(creds);
  }

  String target() {
    return "127.0.0.1:" + server.getPort();
  }

  /** A new token, issued now, living {@link #lifetime}. */
  AccessToken newToken(String name) {
    Instant now = Instant.now();
    Instant exp = now.plus(lifetime);
    return AccessToken.newBuilder()
        .setAccessToken("fake-token-" + serial.incrementAndGet())
        .setTokenType("bearer")
        .setIssueTime(ts(now))
        .setExpireTime(ts(exp))
        .setIntegration(name)
        .build();
  }

  /** Pushes a token to the open watch stream. */
  void push(AccessToken t) {
    watcher.get().onNext(WatchAccessTokensResponse.newBuilder().setToken(t).build());
  }

  private static Timestamp ts(Instant i) {
    return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
  }

  private StatusRuntimeException unavailable() {
    com.google.rpc.Status.Builder s =
        com.google.rpc.Status.newBuilder()
            .setCode(Status.Code.UNAVAILABLE.value())
            .setMessage("fake outage")
            .addDetails(
                Any.pack(
                    ErrorInfo.newBuilder()
                        .setDomain("tokenbroker.dev")
                        .setReason("IMS_UNAVAILABLE")
                        .build()));
    Duration d = retryDelay;
    if (d != null) {
      s.addDetails(Any.pack(RetryInfo.newBuilder().setRetryDelay(Protos.toProto(d)).build()));
    }
    return StatusProto.toStatusRuntimeException(s.build());
  }

  private boolean failNow(StreamObserver<?> out) {
    if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      out.onError(unavailable());
      return true;
    }
    return false;
  }

  private final class Service extends TokenServiceGrpc.TokenServiceImplBase {
    @Override
    public void getAccessToken(
        GetAccessTokenRequest req, StreamObserver<GetAccessTokenResponse> out) {
      getCalls.incrementAndGet();
      if (req.hasMinRemainingValidity()) {
        minValidities.add(Protos.toDuration(req.getMinRemainingValidity()));
      }
      if (failNow(out) || getSilent) {
        return;
      }
      out.onNext(GetAccessTokenResponse.newBuilder().setToken(newToken(req.getName())).build());
      out.onCompleted();
    }

    @Override
    public void refreshAccessToken(
        RefreshAccessTokenRequest req, StreamObserver<RefreshAccessTokenResponse> out) {
      refreshCalls.incrementAndGet();
      out.onNext(
          RefreshAccessTokenResponse.newBuilder().setToken(newToken(req.getName())).build());
      out.onCompleted();
    }

    @Override
    public void getRequestHeaders(
        GetRequestHeadersRequest req, StreamObserver<GetRequestHeadersResponse> out) {
      headerCalls.incrementAndGet();
      if (failNow(out)) {
        return;
      }
      AccessToken t = newToken(req.getName());
      out.onNext(
          GetRequestHeadersResponse.newBuilder()
              .addHeaders(
                  Header.newBuilder()
                      .setName("Authorization")
                      .setValue("Bearer " + t.getAccessToken()))
              .addHeaders(Header.newBuilder().setName("x-api-key").setValue("fake-client"))
              .setExpireTime(t.getExpireTime())
              .build());
      out.onCompleted();
    }

    @Override
    public void watchAccessTokens(
        WatchAccessTokensRequest req, StreamObserver<WatchAccessTokensResponse> out) {
      watchCalls.incrementAndGet();
      if (watchBroken) {
        out.onError(Status.UNAVAILABLE.withDescription("watch broken").asRuntimeException());
        return;
      }
      watcher.set(out);
      out.onNext(WatchAccessTokensResponse.newBuilder().setToken(newToken(req.getName())).build());
    }
  }

  /**
   * The fake IntegrationService: records each request and the time left to its deadline, then
   * fails (an outage of {@link #failuresLeft}, else {@link #integrationError}) or answers with a
   * response derived from the request.
   */
  private final class Integrations extends IntegrationServiceGrpc.IntegrationServiceImplBase {
    private boolean received(Message req, StreamObserver<?> out) {
      integrationRequests.add(req);
      Deadline d = io.grpc.Context.current().getDeadline();
      integrationDeadlines.add(
          d == null ? null : Duration.ofNanos(d.timeRemaining(TimeUnit.NANOSECONDS)));
      if (failNow(out)) {
        return false;
      }
      StatusRuntimeException e = integrationError;
      if (e != null) {
        out.onError(e);
        return false;
      }
      return true;
    }

    @Override
    public void importIntegrations(
        ImportIntegrationsRequest req, StreamObserver<ImportIntegrationsResponse> out) {
      if (!received(req, out)) {
        return;
      }
      out.onNext(
          ImportIntegrationsResponse.newBuilder()
              .addImported(
                  ImportIntegrationsResponse.Imported.newBuilder()
                      .setIntegration(
                          Integration.newBuilder()
                              .setName("integrations/" + req.getIntegrationId()))
                      .setAction(ImportIntegrationsResponse.Imported.Action.ACTION_CREATED)
                      .setJsonPath("project.workspace.details.credentials[0]"))
              .build());
      out.onCompleted();
    }

    @Override
    public void listClientSecrets(
        ListClientSecretsRequest req, StreamObserver<ListClientSecretsResponse> out) {
      if (!received(req, out)) {
        return;
      }
      out.onNext(
          ListClientSecretsResponse.newBuilder()
              .addClientSecrets(
                  ConsoleClientSecret.newBuilder()
                      .setUuid("uuid-1")
                      .setHeld(true)
                      .setInUse(true)
                      .setFingerprint("sha256:0123456789abcdef"))
              .build());
      out.onCompleted();
    }

    @Override
    public void rotateClientSecret(
        RotateClientSecretRequest req, StreamObserver<RotateClientSecretResponse> out) {
      if (!received(req, out)) {
        return;
      }
      out.onNext(
          RotateClientSecretResponse.newBuilder()
              .setState(RotateClientSecretResponse.State.STATE_DONE)
              .setConsoleUuid("uuid-2")
              .addDeletedConsoleUuids("uuid-1")
              .build());
      out.onCompleted();
    }

    @Override
    public void migrateIntegration(
        MigrateIntegrationRequest req, StreamObserver<MigrateIntegrationResponse> out) {
      if (!received(req, out)) {
        return;
      }
      out.onNext(
          MigrateIntegrationResponse.newBuilder()
              .setIntegration(
                  Integration.newBuilder()
                      .setName(req.getName())
                      .setAuthMethod(AuthMethod.AUTH_METHOD_OAUTH_SERVER_TO_SERVER)
                      .addAllScopes(req.getScopesList()))
              .build());
      out.onCompleted();
    }
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
