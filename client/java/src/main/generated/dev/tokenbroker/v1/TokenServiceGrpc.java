package dev.tokenbroker.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * Hands out Adobe IMS access tokens of registered integrations.
 * Tokens come from the broker's cache, refreshed in the background ahead of
 * expiry; a caller waits for IMS only when no cached token satisfies it.
 * Failed calls carry a `google.rpc.ErrorInfo` (domain `tokenbroker.dev`)
 * in the status details; IMS failures add metadata `ims_error` and
 * `x_debug_id`.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class TokenServiceGrpc {

  private TokenServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "tokenbroker.v1.TokenService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.tokenbroker.v1.GetAccessTokenRequest,
      dev.tokenbroker.v1.GetAccessTokenResponse> getGetAccessTokenMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetAccessToken",
      requestType = dev.tokenbroker.v1.GetAccessTokenRequest.class,
      responseType = dev.tokenbroker.v1.GetAccessTokenResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tokenbroker.v1.GetAccessTokenRequest,
      dev.tokenbroker.v1.GetAccessTokenResponse> getGetAccessTokenMethod() {
    io.grpc.MethodDescriptor<dev.tokenbroker.v1.GetAccessTokenRequest, dev.tokenbroker.v1.GetAccessTokenResponse> getGetAccessTokenMethod;
    if ((getGetAccessTokenMethod = TokenServiceGrpc.getGetAccessTokenMethod) == null) {
      synchronized (TokenServiceGrpc.class) {
        if ((getGetAccessTokenMethod = TokenServiceGrpc.getGetAccessTokenMethod) == null) {
          TokenServiceGrpc.getGetAccessTokenMethod = getGetAccessTokenMethod =
              io.grpc.MethodDescriptor.<dev.tokenbroker.v1.GetAccessTokenRequest, dev.tokenbroker.v1.GetAccessTokenResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetAccessToken"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.GetAccessTokenRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.GetAccessTokenResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TokenServiceMethodDescriptorSupplier("GetAccessToken"))
              .build();
        }
      }
    }
    return getGetAccessTokenMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tokenbroker.v1.GetRequestHeadersRequest,
      dev.tokenbroker.v1.GetRequestHeadersResponse> getGetRequestHeadersMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetRequestHeaders",
      requestType = dev.tokenbroker.v1.GetRequestHeadersRequest.class,
      responseType = dev.tokenbroker.v1.GetRequestHeadersResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tokenbroker.v1.GetRequestHeadersRequest,
      dev.tokenbroker.v1.GetRequestHeadersResponse> getGetRequestHeadersMethod() {
    io.grpc.MethodDescriptor<dev.tokenbroker.v1.GetRequestHeadersRequest, dev.tokenbroker.v1.GetRequestHeadersResponse> getGetRequestHeadersMethod;
    if ((getGetRequestHeadersMethod = TokenServiceGrpc.getGetRequestHeadersMethod) == null) {
      synchronized (TokenServiceGrpc.class) {
        if ((getGetRequestHeadersMethod = TokenServiceGrpc.getGetRequestHeadersMethod) == null) {
          TokenServiceGrpc.getGetRequestHeadersMethod = getGetRequestHeadersMethod =
              io.grpc.MethodDescriptor.<dev.tokenbroker.v1.GetRequestHeadersRequest, dev.tokenbroker.v1.GetRequestHeadersResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetRequestHeaders"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.GetRequestHeadersRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.GetRequestHeadersResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TokenServiceMethodDescriptorSupplier("GetRequestHeaders"))
              .build();
        }
      }
    }
    return getGetRequestHeadersMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tokenbroker.v1.RefreshAccessTokenRequest,
      dev.tokenbroker.v1.RefreshAccessTokenResponse> getRefreshAccessTokenMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RefreshAccessToken",
      requestType = dev.tokenbroker.v1.RefreshAccessTokenRequest.class,
      responseType = dev.tokenbroker.v1.RefreshAccessTokenResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tokenbroker.v1.RefreshAccessTokenRequest,
      dev.tokenbroker.v1.RefreshAccessTokenResponse> getRefreshAccessTokenMethod() {
    io.grpc.MethodDescriptor<dev.tokenbroker.v1.RefreshAccessTokenRequest, dev.tokenbroker.v1.RefreshAccessTokenResponse> getRefreshAccessTokenMethod;
    if ((getRefreshAccessTokenMethod = TokenServiceGrpc.getRefreshAccessTokenMethod) == null) {
      synchronized (TokenServiceGrpc.class) {
        if ((getRefreshAccessTokenMethod = TokenServiceGrpc.getRefreshAccessTokenMethod) == null) {
          TokenServiceGrpc.getRefreshAccessTokenMethod = getRefreshAccessTokenMethod =
              io.grpc.MethodDescriptor.<dev.tokenbroker.v1.RefreshAccessTokenRequest, dev.tokenbroker.v1.RefreshAccessTokenResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RefreshAccessToken"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.RefreshAccessTokenRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.RefreshAccessTokenResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TokenServiceMethodDescriptorSupplier("RefreshAccessToken"))
              .build();
        }
      }
    }
    return getRefreshAccessTokenMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tokenbroker.v1.WatchAccessTokensRequest,
      dev.tokenbroker.v1.WatchAccessTokensResponse> getWatchAccessTokensMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "WatchAccessTokens",
      requestType = dev.tokenbroker.v1.WatchAccessTokensRequest.class,
      responseType = dev.tokenbroker.v1.WatchAccessTokensResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<dev.tokenbroker.v1.WatchAccessTokensRequest,
      dev.tokenbroker.v1.WatchAccessTokensResponse> getWatchAccessTokensMethod() {
    io.grpc.MethodDescriptor<dev.tokenbroker.v1.WatchAccessTokensRequest, dev.tokenbroker.v1.WatchAccessTokensResponse> getWatchAccessTokensMethod;
    if ((getWatchAccessTokensMethod = TokenServiceGrpc.getWatchAccessTokensMethod) == null) {
      synchronized (TokenServiceGrpc.class) {
        if ((getWatchAccessTokensMethod = TokenServiceGrpc.getWatchAccessTokensMethod) == null) {
          TokenServiceGrpc.getWatchAccessTokensMethod = getWatchAccessTokensMethod =
              io.grpc.MethodDescriptor.<dev.tokenbroker.v1.WatchAccessTokensRequest, dev.tokenbroker.v1.WatchAccessTokensResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "WatchAccessTokens"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.WatchAccessTokensRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.WatchAccessTokensResponse.getDefaultInstance()))
              .setSchemaDescriptor(new TokenServiceMethodDescriptorSupplier("WatchAccessTokens"))
              .build();
        }
      }
    }
    return getWatchAccessTokensMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static TokenServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<TokenServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<TokenServiceStub>() {
        @java.lang.Override
        public TokenServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new TokenServiceStub(channel, callOptions);
        }
      };
    return TokenServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static TokenServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<TokenServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<TokenServiceBlockingV2Stub>() {
        @java.lang.Override
        public TokenServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new TokenServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return TokenServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static TokenServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<TokenServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<TokenServiceBlockingStub>() {
        @java.lang.Override
        public TokenServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new TokenServiceBlockingStub(channel, callOptions);
        }
      };
    return TokenServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static TokenServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<TokenServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<TokenServiceFutureStub>() {
        @java.lang.Override
        public TokenServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new TokenServiceFutureStub(channel, callOptions);
        }
      };
    return TokenServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * Hands out Adobe IMS access tokens of registered integrations.
   * Tokens come from the broker's cache, refreshed in the background ahead of
   * expiry; a caller waits for IMS only when no cached token satisfies it.
   * Failed calls carry a `google.rpc.ErrorInfo` (domain `tokenbroker.dev`)
   * in the status details; IMS failures add metadata `ims_error` and
   * `x_debug_id`.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Returns a valid access token of the integration.
     * Errors: INVALID_ARGUMENT (bad name or min_remaining_validity), NOT_FOUND,
     * FAILED_PRECONDITION (integration disabled, or IMS rejected its
     * credentials), UNAVAILABLE (IMS unreachable and no cached token good
     * enough), DEADLINE_EXCEEDED.
     * </pre>
     */
    default void getAccessToken(dev.tokenbroker.v1.GetAccessTokenRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.GetAccessTokenResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetAccessTokenMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns the ready-made HTTP headers for Adobe APIs: `Authorization`,
     * `x-api-key`, and `x-gw-ims-org-id` / `x-sandbox-name` where configured.
     * Errors: as GetAccessToken.
     * </pre>
     */
    default void getRequestHeaders(dev.tokenbroker.v1.GetRequestHeadersRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.GetRequestHeadersResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetRequestHeadersMethod(), responseObserver);
    }

    /**
     * <pre>
     * Mints a new token now, whatever the cache holds, and returns it.
     * Concurrent refreshes of one integration share one exchange.
     * Errors: as GetAccessToken.
     * </pre>
     */
    default void refreshAccessToken(dev.tokenbroker.v1.RefreshAccessTokenRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.RefreshAccessTokenResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRefreshAccessTokenMethod(), responseObserver);
    }

    /**
     * <pre>
     * Streams the integration's current token, then every new one as it is
     * minted, until the client cancels or the integration is deleted (the
     * stream then ends with NOT_FOUND).
     * Errors: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, UNAVAILABLE.
     * </pre>
     */
    default void watchAccessTokens(dev.tokenbroker.v1.WatchAccessTokensRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.WatchAccessTokensResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getWatchAccessTokensMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service TokenService.
   * <pre>
   * Hands out Adobe IMS access tokens of registered integrations.
   * Tokens come from the broker's cache, refreshed in the background ahead of
   * expiry; a caller waits for IMS only when no cached token satisfies it.
   * Failed calls carry a `google.rpc.ErrorInfo` (domain `tokenbroker.dev`)
   * in the status details; IMS failures add metadata `ims_error` and
   * `x_debug_id`.
   * </pre>
   */
  public static abstract class TokenServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return TokenServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service TokenService.
   * <pre>
   * Hands out Adobe IMS access tokens of registered integrations.
   * Tokens come from the broker's cache, refreshed in the background ahead of
   * expiry; a caller waits for IMS only when no cached token satisfies it.
   * Failed calls carry a `google.rpc.ErrorInfo` (domain `tokenbroker.dev`)
   * in the status details; IMS failures add metadata `ims_error` and
   * `x_debug_id`.
   * </pre>
   */
  public static final class TokenServiceStub
      extends io.grpc.stub.AbstractAsyncStub<TokenServiceStub> {
    private TokenServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected TokenServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new TokenServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Returns a valid access token of the integration.
     * Errors: INVALID_ARGUMENT (bad name or min_remaining_validity), NOT_FOUND,
     * FAILED_PRECONDITION (integration disabled, or IMS rejected its
     * credentials), UNAVAILABLE (IMS unreachable and no cached token good
     * enough), DEADLINE_EXCEEDED.
     * </pre>
     */
    public void getAccessToken(dev.tokenbroker.v1.GetAccessTokenRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.GetAccessTokenResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetAccessTokenMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns the ready-made HTTP headers for Adobe APIs: `Authorization`,
     * `x-api-key`, and `x-gw-ims-org-id` / `x-sandbox-name` where configured.
     * Errors: as GetAccessToken.
     * </pre>
     */
    public void getRequestHeaders(dev.tokenbroker.v1.GetRequestHeadersRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.GetRequestHeadersResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetRequestHeadersMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Mints a new token now, whatever the cache holds, and returns it.
     * Concurrent refreshes of one integration share one exchange.
     * Errors: as GetAccessToken.
     * </pre>
     */
    public void refreshAccessToken(dev.tokenbroker.v1.RefreshAccessTokenRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.RefreshAccessTokenResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRefreshAccessTokenMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Streams the integration's current token, then every new one as it is
     * minted, until the client cancels or the integration is deleted (the
     * stream then ends with NOT_FOUND).
     * Errors: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, UNAVAILABLE.
     * </pre>
     */
    public void watchAccessTokens(dev.tokenbroker.v1.WatchAccessTokensRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.WatchAccessTokensResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getWatchAccessTokensMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service TokenService.
   * <pre>
   * Hands out Adobe IMS access tokens of registered integrations.
   * Tokens come from the broker's cache, refreshed in the background ahead of
   * expiry; a caller waits for IMS only when no cached token satisfies it.
   * Failed calls carry a `google.rpc.ErrorInfo` (domain `tokenbroker.dev`)
   * in the status details; IMS failures add metadata `ims_error` and
   * `x_debug_id`.
   * </pre>
   */
  public static final class TokenServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<TokenServiceBlockingV2Stub> {
    private TokenServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected TokenServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new TokenServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Returns a valid access token of the integration.
     * Errors: INVALID_ARGUMENT (bad name or min_remaining_validity), NOT_FOUND,
     * FAILED_PRECONDITION (integration disabled, or IMS rejected its
     * credentials), UNAVAILABLE (IMS unreachable and no cached token good
     * enough), DEADLINE_EXCEEDED.
     * </pre>
     */
    public dev.tokenbroker.v1.GetAccessTokenResponse getAccessToken(dev.tokenbroker.v1.GetAccessTokenRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetAccessTokenMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns the ready-made HTTP headers for Adobe APIs: `Authorization`,
     * `x-api-key`, and `x-gw-ims-org-id` / `x-sandbox-name` where configured.
     * Errors: as GetAccessToken.
     * </pre>
     */
    public dev.tokenbroker.v1.GetRequestHeadersResponse getRequestHeaders(dev.tokenbroker.v1.GetRequestHeadersRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetRequestHeadersMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Mints a new token now, whatever the cache holds, and returns it.
     * Concurrent refreshes of one integration share one exchange.
     * Errors: as GetAccessToken.
     * </pre>
     */
    public dev.tokenbroker.v1.RefreshAccessTokenResponse refreshAccessToken(dev.tokenbroker.v1.RefreshAccessTokenRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRefreshAccessTokenMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Streams the integration's current token, then every new one as it is
     * minted, until the client cancels or the integration is deleted (the
     * stream then ends with NOT_FOUND).
     * Errors: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, UNAVAILABLE.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<?, dev.tokenbroker.v1.WatchAccessTokensResponse>
        watchAccessTokens(dev.tokenbroker.v1.WatchAccessTokensRequest request) {
      return io.grpc.stub.ClientCalls.blockingV2ServerStreamingCall(
          getChannel(), getWatchAccessTokensMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service TokenService.
   * <pre>
   * Hands out Adobe IMS access tokens of registered integrations.
   * Tokens come from the broker's cache, refreshed in the background ahead of
   * expiry; a caller waits for IMS only when no cached token satisfies it.
   * Failed calls carry a `google.rpc.ErrorInfo` (domain `tokenbroker.dev`)
   * in the status details; IMS failures add metadata `ims_error` and
   * `x_debug_id`.
   * </pre>
   */
  public static final class TokenServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<TokenServiceBlockingStub> {
    private TokenServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected TokenServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new TokenServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Returns a valid access token of the integration.
     * Errors: INVALID_ARGUMENT (bad name or min_remaining_validity), NOT_FOUND,
     * FAILED_PRECONDITION (integration disabled, or IMS rejected its
     * credentials), UNAVAILABLE (IMS unreachable and no cached token good
     * enough), DEADLINE_EXCEEDED.
     * </pre>
     */
    public dev.tokenbroker.v1.GetAccessTokenResponse getAccessToken(dev.tokenbroker.v1.GetAccessTokenRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetAccessTokenMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns the ready-made HTTP headers for Adobe APIs: `Authorization`,
     * `x-api-key`, and `x-gw-ims-org-id` / `x-sandbox-name` where configured.
     * Errors: as GetAccessToken.
     * </pre>
     */
    public dev.tokenbroker.v1.GetRequestHeadersResponse getRequestHeaders(dev.tokenbroker.v1.GetRequestHeadersRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetRequestHeadersMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Mints a new token now, whatever the cache holds, and returns it.
     * Concurrent refreshes of one integration share one exchange.
     * Errors: as GetAccessToken.
     * </pre>
     */
    public dev.tokenbroker.v1.RefreshAccessTokenResponse refreshAccessToken(dev.tokenbroker.v1.RefreshAccessTokenRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRefreshAccessTokenMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Streams the integration's current token, then every new one as it is
     * minted, until the client cancels or the integration is deleted (the
     * stream then ends with NOT_FOUND).
     * Errors: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, UNAVAILABLE.
     * </pre>
     */
    public java.util.Iterator<dev.tokenbroker.v1.WatchAccessTokensResponse> watchAccessTokens(
        dev.tokenbroker.v1.WatchAccessTokensRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getWatchAccessTokensMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service TokenService.
   * <pre>
   * Hands out Adobe IMS access tokens of registered integrations.
   * Tokens come from the broker's cache, refreshed in the background ahead of
   * expiry; a caller waits for IMS only when no cached token satisfies it.
   * Failed calls carry a `google.rpc.ErrorInfo` (domain `tokenbroker.dev`)
   * in the status details; IMS failures add metadata `ims_error` and
   * `x_debug_id`.
   * </pre>
   */
  public static final class TokenServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<TokenServiceFutureStub> {
    private TokenServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected TokenServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new TokenServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Returns a valid access token of the integration.
     * Errors: INVALID_ARGUMENT (bad name or min_remaining_validity), NOT_FOUND,
     * FAILED_PRECONDITION (integration disabled, or IMS rejected its
     * credentials), UNAVAILABLE (IMS unreachable and no cached token good
     * enough), DEADLINE_EXCEEDED.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tokenbroker.v1.GetAccessTokenResponse> getAccessToken(
        dev.tokenbroker.v1.GetAccessTokenRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetAccessTokenMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns the ready-made HTTP headers for Adobe APIs: `Authorization`,
     * `x-api-key`, and `x-gw-ims-org-id` / `x-sandbox-name` where configured.
     * Errors: as GetAccessToken.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tokenbroker.v1.GetRequestHeadersResponse> getRequestHeaders(
        dev.tokenbroker.v1.GetRequestHeadersRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetRequestHeadersMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Mints a new token now, whatever the cache holds, and returns it.
     * Concurrent refreshes of one integration share one exchange.
     * Errors: as GetAccessToken.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tokenbroker.v1.RefreshAccessTokenResponse> refreshAccessToken(
        dev.tokenbroker.v1.RefreshAccessTokenRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRefreshAccessTokenMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_GET_ACCESS_TOKEN = 0;
  private static final int METHODID_GET_REQUEST_HEADERS = 1;
  private static final int METHODID_REFRESH_ACCESS_TOKEN = 2;
  private static final int METHODID_WATCH_ACCESS_TOKENS = 3;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_GET_ACCESS_TOKEN:
          serviceImpl.getAccessToken((dev.tokenbroker.v1.GetAccessTokenRequest) request,
              (io.grpc.stub.StreamObserver<dev.tokenbroker.v1.GetAccessTokenResponse>) responseObserver);
          break;
        case METHODID_GET_REQUEST_HEADERS:
          serviceImpl.getRequestHeaders((dev.tokenbroker.v1.GetRequestHeadersRequest) request,
              (io.grpc.stub.StreamObserver<dev.tokenbroker.v1.GetRequestHeadersResponse>) responseObserver);
          break;
        case METHODID_REFRESH_ACCESS_TOKEN:
          serviceImpl.refreshAccessToken((dev.tokenbroker.v1.RefreshAccessTokenRequest) request,
              (io.grpc.stub.StreamObserver<dev.tokenbroker.v1.RefreshAccessTokenResponse>) responseObserver);
          break;
        case METHODID_WATCH_ACCESS_TOKENS:
          serviceImpl.watchAccessTokens((dev.tokenbroker.v1.WatchAccessTokensRequest) request,
              (io.grpc.stub.StreamObserver<dev.tokenbroker.v1.WatchAccessTokensResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getGetAccessTokenMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tokenbroker.v1.GetAccessTokenRequest,
              dev.tokenbroker.v1.GetAccessTokenResponse>(
                service, METHODID_GET_ACCESS_TOKEN)))
        .addMethod(
          getGetRequestHeadersMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tokenbroker.v1.GetRequestHeadersRequest,
              dev.tokenbroker.v1.GetRequestHeadersResponse>(
                service, METHODID_GET_REQUEST_HEADERS)))
        .addMethod(
          getRefreshAccessTokenMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tokenbroker.v1.RefreshAccessTokenRequest,
              dev.tokenbroker.v1.RefreshAccessTokenResponse>(
                service, METHODID_REFRESH_ACCESS_TOKEN)))
        .addMethod(
          getWatchAccessTokensMethod(),
          io.grpc.stub.ServerCalls.asyncServerStreamingCall(
            new MethodHandlers<
              dev.tokenbroker.v1.WatchAccessTokensRequest,
              dev.tokenbroker.v1.WatchAccessTokensResponse>(
                service, METHODID_WATCH_ACCESS_TOKENS)))
        .build();
  }

  private static abstract class TokenServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    TokenServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.tokenbroker.v1.TokenServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("TokenService");
    }
  }

  private static final class TokenServiceFileDescriptorSupplier
      extends TokenServiceBaseDescriptorSupplier {
    TokenServiceFileDescriptorSupplier() {}
  }

  private static final class TokenServiceMethodDescriptorSupplier
      extends TokenServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    TokenServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (TokenServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new TokenServiceFileDescriptorSupplier())
              .addMethod(getGetAccessTokenMethod())
              .addMethod(getGetRequestHeadersMethod())
              .addMethod(getRefreshAccessTokenMethod())
              .addMethod(getWatchAccessTokensMethod())
              .build();
        }
      }
    }
    return result;
  }
}
