package dev.tokenbroker.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * Manages integrations and their credentials.
 * Responses wrap the resource in a `...Response` message (Buf's STANDARD
 * lint) rather than returning it bare (AIP-131); everything else follows the
 * AIPs (resource names, page tokens, update_mask, etag).
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class IntegrationServiceGrpc {

  private IntegrationServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "tokenbroker.v1.IntegrationService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.tokenbroker.v1.CreateIntegrationRequest,
      dev.tokenbroker.v1.CreateIntegrationResponse> getCreateIntegrationMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateIntegration",
      requestType = dev.tokenbroker.v1.CreateIntegrationRequest.class,
      responseType = dev.tokenbroker.v1.CreateIntegrationResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tokenbroker.v1.CreateIntegrationRequest,
      dev.tokenbroker.v1.CreateIntegrationResponse> getCreateIntegrationMethod() {
    io.grpc.MethodDescriptor<dev.tokenbroker.v1.CreateIntegrationRequest, dev.tokenbroker.v1.CreateIntegrationResponse> getCreateIntegrationMethod;
    if ((getCreateIntegrationMethod = IntegrationServiceGrpc.getCreateIntegrationMethod) == null) {
      synchronized (IntegrationServiceGrpc.class) {
        if ((getCreateIntegrationMethod = IntegrationServiceGrpc.getCreateIntegrationMethod) == null) {
          IntegrationServiceGrpc.getCreateIntegrationMethod = getCreateIntegrationMethod =
              io.grpc.MethodDescriptor.<dev.tokenbroker.v1.CreateIntegrationRequest, dev.tokenbroker.v1.CreateIntegrationResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateIntegration"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.CreateIntegrationRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.CreateIntegrationResponse.getDefaultInstance()))
              .setSchemaDescriptor(new IntegrationServiceMethodDescriptorSupplier("CreateIntegration"))
              .build();
        }
      }
    }
    return getCreateIntegrationMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tokenbroker.v1.GetIntegrationRequest,
      dev.tokenbroker.v1.GetIntegrationResponse> getGetIntegrationMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetIntegration",
      requestType = dev.tokenbroker.v1.GetIntegrationRequest.class,
      responseType = dev.tokenbroker.v1.GetIntegrationResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tokenbroker.v1.GetIntegrationRequest,
      dev.tokenbroker.v1.GetIntegrationResponse> getGetIntegrationMethod() {
    io.grpc.MethodDescriptor<dev.tokenbroker.v1.GetIntegrationRequest, dev.tokenbroker.v1.GetIntegrationResponse> getGetIntegrationMethod;
    if ((getGetIntegrationMethod = IntegrationServiceGrpc.getGetIntegrationMethod) == null) {
      synchronized (IntegrationServiceGrpc.class) {
        if ((getGetIntegrationMethod = IntegrationServiceGrpc.getGetIntegrationMethod) == null) {
          IntegrationServiceGrpc.getGetIntegrationMethod = getGetIntegrationMethod =
              io.grpc.MethodDescriptor.<dev.tokenbroker.v1.GetIntegrationRequest, dev.tokenbroker.v1.GetIntegrationResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetIntegration"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.GetIntegrationRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.GetIntegrationResponse.getDefaultInstance()))
              .setSchemaDescriptor(new IntegrationServiceMethodDescriptorSupplier("GetIntegration"))
              .build();
        }
      }
    }
    return getGetIntegrationMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tokenbroker.v1.ListIntegrationsRequest,
      dev.tokenbroker.v1.ListIntegrationsResponse> getListIntegrationsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListIntegrations",
      requestType = dev.tokenbroker.v1.ListIntegrationsRequest.class,
      responseType = dev.tokenbroker.v1.ListIntegrationsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tokenbroker.v1.ListIntegrationsRequest,
      dev.tokenbroker.v1.ListIntegrationsResponse> getListIntegrationsMethod() {
    io.grpc.MethodDescriptor<dev.tokenbroker.v1.ListIntegrationsRequest, dev.tokenbroker.v1.ListIntegrationsResponse> getListIntegrationsMethod;
    if ((getListIntegrationsMethod = IntegrationServiceGrpc.getListIntegrationsMethod) == null) {
      synchronized (IntegrationServiceGrpc.class) {
        if ((getListIntegrationsMethod = IntegrationServiceGrpc.getListIntegrationsMethod) == null) {
          IntegrationServiceGrpc.getListIntegrationsMethod = getListIntegrationsMethod =
              io.grpc.MethodDescriptor.<dev.tokenbroker.v1.ListIntegrationsRequest, dev.tokenbroker.v1.ListIntegrationsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListIntegrations"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.ListIntegrationsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.ListIntegrationsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new IntegrationServiceMethodDescriptorSupplier("ListIntegrations"))
              .build();
        }
      }
    }
    return getListIntegrationsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tokenbroker.v1.UpdateIntegrationRequest,
      dev.tokenbroker.v1.UpdateIntegrationResponse> getUpdateIntegrationMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UpdateIntegration",
      requestType = dev.tokenbroker.v1.UpdateIntegrationRequest.class,
      responseType = dev.tokenbroker.v1.UpdateIntegrationResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tokenbroker.v1.UpdateIntegrationRequest,
      dev.tokenbroker.v1.UpdateIntegrationResponse> getUpdateIntegrationMethod() {
    io.grpc.MethodDescriptor<dev.tokenbroker.v1.UpdateIntegrationRequest, dev.tokenbroker.v1.UpdateIntegrationResponse> getUpdateIntegrationMethod;
    if ((getUpdateIntegrationMethod = IntegrationServiceGrpc.getUpdateIntegrationMethod) == null) {
      synchronized (IntegrationServiceGrpc.class) {
        if ((getUpdateIntegrationMethod = IntegrationServiceGrpc.getUpdateIntegrationMethod) == null) {
          IntegrationServiceGrpc.getUpdateIntegrationMethod = getUpdateIntegrationMethod =
              io.grpc.MethodDescriptor.<dev.tokenbroker.v1.UpdateIntegrationRequest, dev.tokenbroker.v1.UpdateIntegrationResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UpdateIntegration"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.UpdateIntegrationRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.UpdateIntegrationResponse.getDefaultInstance()))
              .setSchemaDescriptor(new IntegrationServiceMethodDescriptorSupplier("UpdateIntegration"))
              .build();
        }
      }
    }
    return getUpdateIntegrationMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tokenbroker.v1.DeleteIntegrationRequest,
      dev.tokenbroker.v1.DeleteIntegrationResponse> getDeleteIntegrationMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteIntegration",
      requestType = dev.tokenbroker.v1.DeleteIntegrationRequest.class,
      responseType = dev.tokenbroker.v1.DeleteIntegrationResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tokenbroker.v1.DeleteIntegrationRequest,
      dev.tokenbroker.v1.DeleteIntegrationResponse> getDeleteIntegrationMethod() {
    io.grpc.MethodDescriptor<dev.tokenbroker.v1.DeleteIntegrationRequest, dev.tokenbroker.v1.DeleteIntegrationResponse> getDeleteIntegrationMethod;
    if ((getDeleteIntegrationMethod = IntegrationServiceGrpc.getDeleteIntegrationMethod) == null) {
      synchronized (IntegrationServiceGrpc.class) {
        if ((getDeleteIntegrationMethod = IntegrationServiceGrpc.getDeleteIntegrationMethod) == null) {
          IntegrationServiceGrpc.getDeleteIntegrationMethod = getDeleteIntegrationMethod =
              io.grpc.MethodDescriptor.<dev.tokenbroker.v1.DeleteIntegrationRequest, dev.tokenbroker.v1.DeleteIntegrationResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteIntegration"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.DeleteIntegrationRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.DeleteIntegrationResponse.getDefaultInstance()))
              .setSchemaDescriptor(new IntegrationServiceMethodDescriptorSupplier("DeleteIntegration"))
              .build();
        }
      }
    }
    return getDeleteIntegrationMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tokenbroker.v1.ImportIntegrationsRequest,
      dev.tokenbroker.v1.ImportIntegrationsResponse> getImportIntegrationsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ImportIntegrations",
      requestType = dev.tokenbroker.v1.ImportIntegrationsRequest.class,
      responseType = dev.tokenbroker.v1.ImportIntegrationsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tokenbroker.v1.ImportIntegrationsRequest,
      dev.tokenbroker.v1.ImportIntegrationsResponse> getImportIntegrationsMethod() {
    io.grpc.MethodDescriptor<dev.tokenbroker.v1.ImportIntegrationsRequest, dev.tokenbroker.v1.ImportIntegrationsResponse> getImportIntegrationsMethod;
    if ((getImportIntegrationsMethod = IntegrationServiceGrpc.getImportIntegrationsMethod) == null) {
      synchronized (IntegrationServiceGrpc.class) {
        if ((getImportIntegrationsMethod = IntegrationServiceGrpc.getImportIntegrationsMethod) == null) {
          IntegrationServiceGrpc.getImportIntegrationsMethod = getImportIntegrationsMethod =
              io.grpc.MethodDescriptor.<dev.tokenbroker.v1.ImportIntegrationsRequest, dev.tokenbroker.v1.ImportIntegrationsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ImportIntegrations"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.ImportIntegrationsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.ImportIntegrationsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new IntegrationServiceMethodDescriptorSupplier("ImportIntegrations"))
              .build();
        }
      }
    }
    return getImportIntegrationsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tokenbroker.v1.ListClientSecretsRequest,
      dev.tokenbroker.v1.ListClientSecretsResponse> getListClientSecretsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListClientSecrets",
      requestType = dev.tokenbroker.v1.ListClientSecretsRequest.class,
      responseType = dev.tokenbroker.v1.ListClientSecretsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tokenbroker.v1.ListClientSecretsRequest,
      dev.tokenbroker.v1.ListClientSecretsResponse> getListClientSecretsMethod() {
    io.grpc.MethodDescriptor<dev.tokenbroker.v1.ListClientSecretsRequest, dev.tokenbroker.v1.ListClientSecretsResponse> getListClientSecretsMethod;
    if ((getListClientSecretsMethod = IntegrationServiceGrpc.getListClientSecretsMethod) == null) {
      synchronized (IntegrationServiceGrpc.class) {
        if ((getListClientSecretsMethod = IntegrationServiceGrpc.getListClientSecretsMethod) == null) {
          IntegrationServiceGrpc.getListClientSecretsMethod = getListClientSecretsMethod =
              io.grpc.MethodDescriptor.<dev.tokenbroker.v1.ListClientSecretsRequest, dev.tokenbroker.v1.ListClientSecretsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListClientSecrets"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.ListClientSecretsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.ListClientSecretsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new IntegrationServiceMethodDescriptorSupplier("ListClientSecrets"))
              .build();
        }
      }
    }
    return getListClientSecretsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tokenbroker.v1.RotateClientSecretRequest,
      dev.tokenbroker.v1.RotateClientSecretResponse> getRotateClientSecretMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RotateClientSecret",
      requestType = dev.tokenbroker.v1.RotateClientSecretRequest.class,
      responseType = dev.tokenbroker.v1.RotateClientSecretResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tokenbroker.v1.RotateClientSecretRequest,
      dev.tokenbroker.v1.RotateClientSecretResponse> getRotateClientSecretMethod() {
    io.grpc.MethodDescriptor<dev.tokenbroker.v1.RotateClientSecretRequest, dev.tokenbroker.v1.RotateClientSecretResponse> getRotateClientSecretMethod;
    if ((getRotateClientSecretMethod = IntegrationServiceGrpc.getRotateClientSecretMethod) == null) {
      synchronized (IntegrationServiceGrpc.class) {
        if ((getRotateClientSecretMethod = IntegrationServiceGrpc.getRotateClientSecretMethod) == null) {
          IntegrationServiceGrpc.getRotateClientSecretMethod = getRotateClientSecretMethod =
              io.grpc.MethodDescriptor.<dev.tokenbroker.v1.RotateClientSecretRequest, dev.tokenbroker.v1.RotateClientSecretResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RotateClientSecret"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.RotateClientSecretRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.RotateClientSecretResponse.getDefaultInstance()))
              .setSchemaDescriptor(new IntegrationServiceMethodDescriptorSupplier("RotateClientSecret"))
              .build();
        }
      }
    }
    return getRotateClientSecretMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tokenbroker.v1.MigrateIntegrationRequest,
      dev.tokenbroker.v1.MigrateIntegrationResponse> getMigrateIntegrationMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "MigrateIntegration",
      requestType = dev.tokenbroker.v1.MigrateIntegrationRequest.class,
      responseType = dev.tokenbroker.v1.MigrateIntegrationResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tokenbroker.v1.MigrateIntegrationRequest,
      dev.tokenbroker.v1.MigrateIntegrationResponse> getMigrateIntegrationMethod() {
    io.grpc.MethodDescriptor<dev.tokenbroker.v1.MigrateIntegrationRequest, dev.tokenbroker.v1.MigrateIntegrationResponse> getMigrateIntegrationMethod;
    if ((getMigrateIntegrationMethod = IntegrationServiceGrpc.getMigrateIntegrationMethod) == null) {
      synchronized (IntegrationServiceGrpc.class) {
        if ((getMigrateIntegrationMethod = IntegrationServiceGrpc.getMigrateIntegrationMethod) == null) {
          IntegrationServiceGrpc.getMigrateIntegrationMethod = getMigrateIntegrationMethod =
              io.grpc.MethodDescriptor.<dev.tokenbroker.v1.MigrateIntegrationRequest, dev.tokenbroker.v1.MigrateIntegrationResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "MigrateIntegration"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.MigrateIntegrationRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tokenbroker.v1.MigrateIntegrationResponse.getDefaultInstance()))
              .setSchemaDescriptor(new IntegrationServiceMethodDescriptorSupplier("MigrateIntegration"))
              .build();
        }
      }
    }
    return getMigrateIntegrationMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static IntegrationServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<IntegrationServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<IntegrationServiceStub>() {
        @java.lang.Override
        public IntegrationServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new IntegrationServiceStub(channel, callOptions);
        }
      };
    return IntegrationServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static IntegrationServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<IntegrationServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<IntegrationServiceBlockingV2Stub>() {
        @java.lang.Override
        public IntegrationServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new IntegrationServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return IntegrationServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static IntegrationServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<IntegrationServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<IntegrationServiceBlockingStub>() {
        @java.lang.Override
        public IntegrationServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new IntegrationServiceBlockingStub(channel, callOptions);
        }
      };
    return IntegrationServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static IntegrationServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<IntegrationServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<IntegrationServiceFutureStub>() {
        @java.lang.Override
        public IntegrationServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new IntegrationServiceFutureStub(channel, callOptions);
        }
      };
    return IntegrationServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * Manages integrations and their credentials.
   * Responses wrap the resource in a `...Response` message (Buf's STANDARD
   * lint) rather than returning it bare (AIP-131); everything else follows the
   * AIPs (resource names, page tokens, update_mask, etag).
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Registers an integration with its credentials.
     * Errors: INVALID_ARGUMENT (a field, named in the message), ALREADY_EXISTS.
     * </pre>
     */
    default void createIntegration(dev.tokenbroker.v1.CreateIntegrationRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.CreateIntegrationResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateIntegrationMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one integration (without secrets).
     * Errors: INVALID_ARGUMENT (bad name), NOT_FOUND.
     * </pre>
     */
    default void getIntegration(dev.tokenbroker.v1.GetIntegrationRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.GetIntegrationResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetIntegrationMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists integrations in id order.
     * Errors: INVALID_ARGUMENT (negative page size, bad page token).
     * </pre>
     */
    default void listIntegrations(dev.tokenbroker.v1.ListIntegrationsRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.ListIntegrationsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListIntegrationsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Changes the fields named in `update_mask`. Cached tokens are dropped when
     * anything that affects them changes.
     * Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag mismatch).
     * </pre>
     */
    default void updateIntegration(dev.tokenbroker.v1.UpdateIntegrationRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.UpdateIntegrationResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUpdateIntegrationMethod(), responseObserver);
    }

    /**
     * <pre>
     * Deletes an integration, its credentials and its cached tokens.
     * Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag mismatch).
     * </pre>
     */
    default void deleteIntegration(dev.tokenbroker.v1.DeleteIntegrationRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.DeleteIntegrationResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteIntegrationMethod(), responseObserver);
    }

    /**
     * <pre>
     * Creates (or, with `allow_update`, replaces) one integration per
     * credential of an Adobe Developer Console "Download JSON" file or an AEM
     * as a Cloud Service service credential, in one transaction: all of them,
     * or none.
     * Errors: INVALID_ARGUMENT (the file: the message names the JSON path of
     * the problem; or no credential to import), ALREADY_EXISTS (an id exists
     * and `allow_update` is false), NOT_FOUND (`credential_name` matches no
     * credential), FAILED_PRECONDITION (`allow_update` of an integration of
     * another auth method), ABORTED (changed concurrently).
     * </pre>
     */
    default void importIntegrations(dev.tokenbroker.v1.ImportIntegrationsRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.ImportIntegrationsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getImportIntegrationsMethod(), responseObserver);
    }

    /**
     * <pre>
     * The credential's client secrets at the Adobe Developer Console (never
     * their values), each matched with the ones tokenbroker stores. Calls the
     * Console with a token minted by the credential itself (its project needs
     * the I/O Management API). At most 2 secrets: no paging.
     * Errors: INVALID_ARGUMENT, NOT_FOUND (integration, or the credential at
     * the Console), FAILED_PRECONDITION (not OAuth S2S, no
     * console_credential, IMS or the Console refused: the message says what
     * to do), UNAVAILABLE (IMS or the Console unreachable).
     * </pre>
     */
    default void listClientSecrets(dev.tokenbroker.v1.ListClientSecretsRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.ListClientSecretsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListClientSecretsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Rotates the credential's client secret: adds one at the Developer
     * Console, stores it (encrypted) before anything else, mints a token with
     * it, makes it the secret in use, and deletes the old one at the Console
     * once the Console reports it unused for the server's
     * --secret-rotation-grace (every replica has switched). Each step is
     * stored, so a call after a crash resumes where the last one stopped.
     * Without `immediate` the call returns STATE_WAITING once the new secret
     * is in use; a later call finishes. With `immediate` (a leaked secret) the
     * old secret is deleted as soon as the new one works, and the token minted
     * with the new one is handed to every caller and watcher.
     * Errors: as ListClientSecrets; FAILED_PRECONDITION also for a credential
     * holding 2 secrets, a JWT -&gt; S2S migration in progress or missing API
     * permissions (the message says what to do); UNAVAILABLE (the new secret
     * not accepted by IMS yet: call again); ABORTED (a concurrent rotation).
     * </pre>
     */
    default void rotateClientSecret(dev.tokenbroker.v1.RotateClientSecretRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.RotateClientSecretResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRotateClientSecretMethod(), responseObserver);
    }

    /**
     * <pre>
     * Converts a JWT integration to OAuth Server-to-Server, as Adobe does with
     * the remaining JWT credentials: same client id, organization, technical
     * account and Console ids; `scopes` replace the metascopes; the client
     * secret is the one given, else the JWT credential's stored one(s). A token
     * is minted with the S2S flow at IMS before anything is written: refused
     * or unreachable, the integration stays as it was (still JWT, same etag).
     * Then the integration is stored with the etag read, the private key
     * dropped, and the new token handed to the broker. On SQLite the key's
     * ciphertext is also zeroed in the database file and its WAL; PostgreSQL
     * keeps old row versions until VACUUM (README "JWT -&gt; OAuth
     * Server-to-Server"). Needs the admin role.
     * Errors: INVALID_ARGUMENT (a field, named), NOT_FOUND, FAILED_PRECONDITION
     * (not a JWT integration, or IMS refused the S2S credential: the message
     * says what IMS answered and what to do), UNAVAILABLE (IMS unreachable),
     * ABORTED (etag mismatch, or changed concurrently).
     * </pre>
     */
    default void migrateIntegration(dev.tokenbroker.v1.MigrateIntegrationRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.MigrateIntegrationResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getMigrateIntegrationMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service IntegrationService.
   * <pre>
   * Manages integrations and their credentials.
   * Responses wrap the resource in a `...Response` message (Buf's STANDARD
   * lint) rather than returning it bare (AIP-131); everything else follows the
   * AIPs (resource names, page tokens, update_mask, etag).
   * </pre>
   */
  public static abstract class IntegrationServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return IntegrationServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service IntegrationService.
   * <pre>
   * Manages integrations and their credentials.
   * Responses wrap the resource in a `...Response` message (Buf's STANDARD
   * lint) rather than returning it bare (AIP-131); everything else follows the
   * AIPs (resource names, page tokens, update_mask, etag).
   * </pre>
   */
  public static final class IntegrationServiceStub
      extends io.grpc.stub.AbstractAsyncStub<IntegrationServiceStub> {
    private IntegrationServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected IntegrationServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new IntegrationServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Registers an integration with its credentials.
     * Errors: INVALID_ARGUMENT (a field, named in the message), ALREADY_EXISTS.
     * </pre>
     */
    public void createIntegration(dev.tokenbroker.v1.CreateIntegrationRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.CreateIntegrationResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateIntegrationMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one integration (without secrets).
     * Errors: INVALID_ARGUMENT (bad name), NOT_FOUND.
     * </pre>
     */
    public void getIntegration(dev.tokenbroker.v1.GetIntegrationRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.GetIntegrationResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetIntegrationMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists integrations in id order.
     * Errors: INVALID_ARGUMENT (negative page size, bad page token).
     * </pre>
     */
    public void listIntegrations(dev.tokenbroker.v1.ListIntegrationsRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.ListIntegrationsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListIntegrationsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Changes the fields named in `update_mask`. Cached tokens are dropped when
     * anything that affects them changes.
     * Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag mismatch).
     * </pre>
     */
    public void updateIntegration(dev.tokenbroker.v1.UpdateIntegrationRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.UpdateIntegrationResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUpdateIntegrationMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Deletes an integration, its credentials and its cached tokens.
     * Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag mismatch).
     * </pre>
     */
    public void deleteIntegration(dev.tokenbroker.v1.DeleteIntegrationRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.DeleteIntegrationResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteIntegrationMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Creates (or, with `allow_update`, replaces) one integration per
     * credential of an Adobe Developer Console "Download JSON" file or an AEM
     * as a Cloud Service service credential, in one transaction: all of them,
     * or none.
     * Errors: INVALID_ARGUMENT (the file: the message names the JSON path of
     * the problem; or no credential to import), ALREADY_EXISTS (an id exists
     * and `allow_update` is false), NOT_FOUND (`credential_name` matches no
     * credential), FAILED_PRECONDITION (`allow_update` of an integration of
     * another auth method), ABORTED (changed concurrently).
     * </pre>
     */
    public void importIntegrations(dev.tokenbroker.v1.ImportIntegrationsRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.ImportIntegrationsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getImportIntegrationsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * The credential's client secrets at the Adobe Developer Console (never
     * their values), each matched with the ones tokenbroker stores. Calls the
     * Console with a token minted by the credential itself (its project needs
     * the I/O Management API). At most 2 secrets: no paging.
     * Errors: INVALID_ARGUMENT, NOT_FOUND (integration, or the credential at
     * the Console), FAILED_PRECONDITION (not OAuth S2S, no
     * console_credential, IMS or the Console refused: the message says what
     * to do), UNAVAILABLE (IMS or the Console unreachable).
     * </pre>
     */
    public void listClientSecrets(dev.tokenbroker.v1.ListClientSecretsRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.ListClientSecretsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListClientSecretsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Rotates the credential's client secret: adds one at the Developer
     * Console, stores it (encrypted) before anything else, mints a token with
     * it, makes it the secret in use, and deletes the old one at the Console
     * once the Console reports it unused for the server's
     * --secret-rotation-grace (every replica has switched). Each step is
     * stored, so a call after a crash resumes where the last one stopped.
     * Without `immediate` the call returns STATE_WAITING once the new secret
     * is in use; a later call finishes. With `immediate` (a leaked secret) the
     * old secret is deleted as soon as the new one works, and the token minted
     * with the new one is handed to every caller and watcher.
     * Errors: as ListClientSecrets; FAILED_PRECONDITION also for a credential
     * holding 2 secrets, a JWT -&gt; S2S migration in progress or missing API
     * permissions (the message says what to do); UNAVAILABLE (the new secret
     * not accepted by IMS yet: call again); ABORTED (a concurrent rotation).
     * </pre>
     */
    public void rotateClientSecret(dev.tokenbroker.v1.RotateClientSecretRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.RotateClientSecretResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRotateClientSecretMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Converts a JWT integration to OAuth Server-to-Server, as Adobe does with
     * the remaining JWT credentials: same client id, organization, technical
     * account and Console ids; `scopes` replace the metascopes; the client
     * secret is the one given, else the JWT credential's stored one(s). A token
     * is minted with the S2S flow at IMS before anything is written: refused
     * or unreachable, the integration stays as it was (still JWT, same etag).
     * Then the integration is stored with the etag read, the private key
     * dropped, and the new token handed to the broker. On SQLite the key's
     * ciphertext is also zeroed in the database file and its WAL; PostgreSQL
     * keeps old row versions until VACUUM (README "JWT -&gt; OAuth
     * Server-to-Server"). Needs the admin role.
     * Errors: INVALID_ARGUMENT (a field, named), NOT_FOUND, FAILED_PRECONDITION
     * (not a JWT integration, or IMS refused the S2S credential: the message
     * says what IMS answered and what to do), UNAVAILABLE (IMS unreachable),
     * ABORTED (etag mismatch, or changed concurrently).
     * </pre>
     */
    public void migrateIntegration(dev.tokenbroker.v1.MigrateIntegrationRequest request,
        io.grpc.stub.StreamObserver<dev.tokenbroker.v1.MigrateIntegrationResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getMigrateIntegrationMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service IntegrationService.
   * <pre>
   * Manages integrations and their credentials.
   * Responses wrap the resource in a `...Response` message (Buf's STANDARD
   * lint) rather than returning it bare (AIP-131); everything else follows the
   * AIPs (resource names, page tokens, update_mask, etag).
   * </pre>
   */
  public static final class IntegrationServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<IntegrationServiceBlockingV2Stub> {
    private IntegrationServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected IntegrationServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new IntegrationServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Registers an integration with its credentials.
     * Errors: INVALID_ARGUMENT (a field, named in the message), ALREADY_EXISTS.
     * </pre>
     */
    public dev.tokenbroker.v1.CreateIntegrationResponse createIntegration(dev.tokenbroker.v1.CreateIntegrationRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateIntegrationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one integration (without secrets).
     * Errors: INVALID_ARGUMENT (bad name), NOT_FOUND.
     * </pre>
     */
    public dev.tokenbroker.v1.GetIntegrationResponse getIntegration(dev.tokenbroker.v1.GetIntegrationRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetIntegrationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists integrations in id order.
     * Errors: INVALID_ARGUMENT (negative page size, bad page token).
     * </pre>
     */
    public dev.tokenbroker.v1.ListIntegrationsResponse listIntegrations(dev.tokenbroker.v1.ListIntegrationsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListIntegrationsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes the fields named in `update_mask`. Cached tokens are dropped when
     * anything that affects them changes.
     * Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag mismatch).
     * </pre>
     */
    public dev.tokenbroker.v1.UpdateIntegrationResponse updateIntegration(dev.tokenbroker.v1.UpdateIntegrationRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getUpdateIntegrationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes an integration, its credentials and its cached tokens.
     * Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag mismatch).
     * </pre>
     */
    public dev.tokenbroker.v1.DeleteIntegrationResponse deleteIntegration(dev.tokenbroker.v1.DeleteIntegrationRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteIntegrationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Creates (or, with `allow_update`, replaces) one integration per
     * credential of an Adobe Developer Console "Download JSON" file or an AEM
     * as a Cloud Service service credential, in one transaction: all of them,
     * or none.
     * Errors: INVALID_ARGUMENT (the file: the message names the JSON path of
     * the problem; or no credential to import), ALREADY_EXISTS (an id exists
     * and `allow_update` is false), NOT_FOUND (`credential_name` matches no
     * credential), FAILED_PRECONDITION (`allow_update` of an integration of
     * another auth method), ABORTED (changed concurrently).
     * </pre>
     */
    public dev.tokenbroker.v1.ImportIntegrationsResponse importIntegrations(dev.tokenbroker.v1.ImportIntegrationsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getImportIntegrationsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * The credential's client secrets at the Adobe Developer Console (never
     * their values), each matched with the ones tokenbroker stores. Calls the
     * Console with a token minted by the credential itself (its project needs
     * the I/O Management API). At most 2 secrets: no paging.
     * Errors: INVALID_ARGUMENT, NOT_FOUND (integration, or the credential at
     * the Console), FAILED_PRECONDITION (not OAuth S2S, no
     * console_credential, IMS or the Console refused: the message says what
     * to do), UNAVAILABLE (IMS or the Console unreachable).
     * </pre>
     */
    public dev.tokenbroker.v1.ListClientSecretsResponse listClientSecrets(dev.tokenbroker.v1.ListClientSecretsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListClientSecretsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Rotates the credential's client secret: adds one at the Developer
     * Console, stores it (encrypted) before anything else, mints a token with
     * it, makes it the secret in use, and deletes the old one at the Console
     * once the Console reports it unused for the server's
     * --secret-rotation-grace (every replica has switched). Each step is
     * stored, so a call after a crash resumes where the last one stopped.
     * Without `immediate` the call returns STATE_WAITING once the new secret
     * is in use; a later call finishes. With `immediate` (a leaked secret) the
     * old secret is deleted as soon as the new one works, and the token minted
     * with the new one is handed to every caller and watcher.
     * Errors: as ListClientSecrets; FAILED_PRECONDITION also for a credential
     * holding 2 secrets, a JWT -&gt; S2S migration in progress or missing API
     * permissions (the message says what to do); UNAVAILABLE (the new secret
     * not accepted by IMS yet: call again); ABORTED (a concurrent rotation).
     * </pre>
     */
    public dev.tokenbroker.v1.RotateClientSecretResponse rotateClientSecret(dev.tokenbroker.v1.RotateClientSecretRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRotateClientSecretMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Converts a JWT integration to OAuth Server-to-Server, as Adobe does with
     * the remaining JWT credentials: same client id, organization, technical
     * account and Console ids; `scopes` replace the metascopes; the client
     * secret is the one given, else the JWT credential's stored one(s). A token
     * is minted with the S2S flow at IMS before anything is written: refused
     * or unreachable, the integration stays as it was (still JWT, same etag).
     * Then the integration is stored with the etag read, the private key
     * dropped, and the new token handed to the broker. On SQLite the key's
     * ciphertext is also zeroed in the database file and its WAL; PostgreSQL
     * keeps old row versions until VACUUM (README "JWT -&gt; OAuth
     * Server-to-Server"). Needs the admin role.
     * Errors: INVALID_ARGUMENT (a field, named), NOT_FOUND, FAILED_PRECONDITION
     * (not a JWT integration, or IMS refused the S2S credential: the message
     * says what IMS answered and what to do), UNAVAILABLE (IMS unreachable),
     * ABORTED (etag mismatch, or changed concurrently).
     * </pre>
     */
    public dev.tokenbroker.v1.MigrateIntegrationResponse migrateIntegration(dev.tokenbroker.v1.MigrateIntegrationRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getMigrateIntegrationMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service IntegrationService.
   * <pre>
   * Manages integrations and their credentials.
   * Responses wrap the resource in a `...Response` message (Buf's STANDARD
   * lint) rather than returning it bare (AIP-131); everything else follows the
   * AIPs (resource names, page tokens, update_mask, etag).
   * </pre>
   */
  public static final class IntegrationServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<IntegrationServiceBlockingStub> {
    private IntegrationServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected IntegrationServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new IntegrationServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Registers an integration with its credentials.
     * Errors: INVALID_ARGUMENT (a field, named in the message), ALREADY_EXISTS.
     * </pre>
     */
    public dev.tokenbroker.v1.CreateIntegrationResponse createIntegration(dev.tokenbroker.v1.CreateIntegrationRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateIntegrationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one integration (without secrets).
     * Errors: INVALID_ARGUMENT (bad name), NOT_FOUND.
     * </pre>
     */
    public dev.tokenbroker.v1.GetIntegrationResponse getIntegration(dev.tokenbroker.v1.GetIntegrationRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetIntegrationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists integrations in id order.
     * Errors: INVALID_ARGUMENT (negative page size, bad page token).
     * </pre>
     */
    public dev.tokenbroker.v1.ListIntegrationsResponse listIntegrations(dev.tokenbroker.v1.ListIntegrationsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListIntegrationsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes the fields named in `update_mask`. Cached tokens are dropped when
     * anything that affects them changes.
     * Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag mismatch).
     * </pre>
     */
    public dev.tokenbroker.v1.UpdateIntegrationResponse updateIntegration(dev.tokenbroker.v1.UpdateIntegrationRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUpdateIntegrationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes an integration, its credentials and its cached tokens.
     * Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag mismatch).
     * </pre>
     */
    public dev.tokenbroker.v1.DeleteIntegrationResponse deleteIntegration(dev.tokenbroker.v1.DeleteIntegrationRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteIntegrationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Creates (or, with `allow_update`, replaces) one integration per
     * credential of an Adobe Developer Console "Download JSON" file or an AEM
     * as a Cloud Service service credential, in one transaction: all of them,
     * or none.
     * Errors: INVALID_ARGUMENT (the file: the message names the JSON path of
     * the problem; or no credential to import), ALREADY_EXISTS (an id exists
     * and `allow_update` is false), NOT_FOUND (`credential_name` matches no
     * credential), FAILED_PRECONDITION (`allow_update` of an integration of
     * another auth method), ABORTED (changed concurrently).
     * </pre>
     */
    public dev.tokenbroker.v1.ImportIntegrationsResponse importIntegrations(dev.tokenbroker.v1.ImportIntegrationsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getImportIntegrationsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * The credential's client secrets at the Adobe Developer Console (never
     * their values), each matched with the ones tokenbroker stores. Calls the
     * Console with a token minted by the credential itself (its project needs
     * the I/O Management API). At most 2 secrets: no paging.
     * Errors: INVALID_ARGUMENT, NOT_FOUND (integration, or the credential at
     * the Console), FAILED_PRECONDITION (not OAuth S2S, no
     * console_credential, IMS or the Console refused: the message says what
     * to do), UNAVAILABLE (IMS or the Console unreachable).
     * </pre>
     */
    public dev.tokenbroker.v1.ListClientSecretsResponse listClientSecrets(dev.tokenbroker.v1.ListClientSecretsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListClientSecretsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Rotates the credential's client secret: adds one at the Developer
     * Console, stores it (encrypted) before anything else, mints a token with
     * it, makes it the secret in use, and deletes the old one at the Console
     * once the Console reports it unused for the server's
     * --secret-rotation-grace (every replica has switched). Each step is
     * stored, so a call after a crash resumes where the last one stopped.
     * Without `immediate` the call returns STATE_WAITING once the new secret
     * is in use; a later call finishes. With `immediate` (a leaked secret) the
     * old secret is deleted as soon as the new one works, and the token minted
     * with the new one is handed to every caller and watcher.
     * Errors: as ListClientSecrets; FAILED_PRECONDITION also for a credential
     * holding 2 secrets, a JWT -&gt; S2S migration in progress or missing API
     * permissions (the message says what to do); UNAVAILABLE (the new secret
     * not accepted by IMS yet: call again); ABORTED (a concurrent rotation).
     * </pre>
     */
    public dev.tokenbroker.v1.RotateClientSecretResponse rotateClientSecret(dev.tokenbroker.v1.RotateClientSecretRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRotateClientSecretMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Converts a JWT integration to OAuth Server-to-Server, as Adobe does with
     * the remaining JWT credentials: same client id, organization, technical
     * account and Console ids; `scopes` replace the metascopes; the client
     * secret is the one given, else the JWT credential's stored one(s). A token
     * is minted with the S2S flow at IMS before anything is written: refused
     * or unreachable, the integration stays as it was (still JWT, same etag).
     * Then the integration is stored with the etag read, the private key
     * dropped, and the new token handed to the broker. On SQLite the key's
     * ciphertext is also zeroed in the database file and its WAL; PostgreSQL
     * keeps old row versions until VACUUM (README "JWT -&gt; OAuth
     * Server-to-Server"). Needs the admin role.
     * Errors: INVALID_ARGUMENT (a field, named), NOT_FOUND, FAILED_PRECONDITION
     * (not a JWT integration, or IMS refused the S2S credential: the message
     * says what IMS answered and what to do), UNAVAILABLE (IMS unreachable),
     * ABORTED (etag mismatch, or changed concurrently).
     * </pre>
     */
    public dev.tokenbroker.v1.MigrateIntegrationResponse migrateIntegration(dev.tokenbroker.v1.MigrateIntegrationRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getMigrateIntegrationMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service IntegrationService.
   * <pre>
   * Manages integrations and their credentials.
   * Responses wrap the resource in a `...Response` message (Buf's STANDARD
   * lint) rather than returning it bare (AIP-131); everything else follows the
   * AIPs (resource names, page tokens, update_mask, etag).
   * </pre>
   */
  public static final class IntegrationServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<IntegrationServiceFutureStub> {
    private IntegrationServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected IntegrationServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new IntegrationServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Registers an integration with its credentials.
     * Errors: INVALID_ARGUMENT (a field, named in the message), ALREADY_EXISTS.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tokenbroker.v1.CreateIntegrationResponse> createIntegration(
        dev.tokenbroker.v1.CreateIntegrationRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateIntegrationMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one integration (without secrets).
     * Errors: INVALID_ARGUMENT (bad name), NOT_FOUND.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tokenbroker.v1.GetIntegrationResponse> getIntegration(
        dev.tokenbroker.v1.GetIntegrationRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetIntegrationMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists integrations in id order.
     * Errors: INVALID_ARGUMENT (negative page size, bad page token).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tokenbroker.v1.ListIntegrationsResponse> listIntegrations(
        dev.tokenbroker.v1.ListIntegrationsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListIntegrationsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Changes the fields named in `update_mask`. Cached tokens are dropped when
     * anything that affects them changes.
     * Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag mismatch).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tokenbroker.v1.UpdateIntegrationResponse> updateIntegration(
        dev.tokenbroker.v1.UpdateIntegrationRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUpdateIntegrationMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Deletes an integration, its credentials and its cached tokens.
     * Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag mismatch).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tokenbroker.v1.DeleteIntegrationResponse> deleteIntegration(
        dev.tokenbroker.v1.DeleteIntegrationRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteIntegrationMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Creates (or, with `allow_update`, replaces) one integration per
     * credential of an Adobe Developer Console "Download JSON" file or an AEM
     * as a Cloud Service service credential, in one transaction: all of them,
     * or none.
     * Errors: INVALID_ARGUMENT (the file: the message names the JSON path of
     * the problem; or no credential to import), ALREADY_EXISTS (an id exists
     * and `allow_update` is false), NOT_FOUND (`credential_name` matches no
     * credential), FAILED_PRECONDITION (`allow_update` of an integration of
     * another auth method), ABORTED (changed concurrently).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tokenbroker.v1.ImportIntegrationsResponse> importIntegrations(
        dev.tokenbroker.v1.ImportIntegrationsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getImportIntegrationsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * The credential's client secrets at the Adobe Developer Console (never
     * their values), each matched with the ones tokenbroker stores. Calls the
     * Console with a token minted by the credential itself (its project needs
     * the I/O Management API). At most 2 secrets: no paging.
     * Errors: INVALID_ARGUMENT, NOT_FOUND (integration, or the credential at
     * the Console), FAILED_PRECONDITION (not OAuth S2S, no
     * console_credential, IMS or the Console refused: the message says what
     * to do), UNAVAILABLE (IMS or the Console unreachable).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tokenbroker.v1.ListClientSecretsResponse> listClientSecrets(
        dev.tokenbroker.v1.ListClientSecretsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListClientSecretsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Rotates the credential's client secret: adds one at the Developer
     * Console, stores it (encrypted) before anything else, mints a token with
     * it, makes it the secret in use, and deletes the old one at the Console
     * once the Console reports it unused for the server's
     * --secret-rotation-grace (every replica has switched). Each step is
     * stored, so a call after a crash resumes where the last one stopped.
     * Without `immediate` the call returns STATE_WAITING once the new secret
     * is in use; a later call finishes. With `immediate` (a leaked secret) the
     * old secret is deleted as soon as the new one works, and the token minted
     * with the new one is handed to every caller and watcher.
     * Errors: as ListClientSecrets; FAILED_PRECONDITION also for a credential
     * holding 2 secrets, a JWT -&gt; S2S migration in progress or missing API
     * permissions (the message says what to do); UNAVAILABLE (the new secret
     * not accepted by IMS yet: call again); ABORTED (a concurrent rotation).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tokenbroker.v1.RotateClientSecretResponse> rotateClientSecret(
        dev.tokenbroker.v1.RotateClientSecretRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRotateClientSecretMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Converts a JWT integration to OAuth Server-to-Server, as Adobe does with
     * the remaining JWT credentials: same client id, organization, technical
     * account and Console ids; `scopes` replace the metascopes; the client
     * secret is the one given, else the JWT credential's stored one(s). A token
     * is minted with the S2S flow at IMS before anything is written: refused
     * or unreachable, the integration stays as it was (still JWT, same etag).
     * Then the integration is stored with the etag read, the private key
     * dropped, and the new token handed to the broker. On SQLite the key's
     * ciphertext is also zeroed in the database file and its WAL; PostgreSQL
     * keeps old row versions until VACUUM (README "JWT -&gt; OAuth
     * Server-to-Server"). Needs the admin role.
     * Errors: INVALID_ARGUMENT (a field, named), NOT_FOUND, FAILED_PRECONDITION
     * (not a JWT integration, or IMS refused the S2S credential: the message
     * says what IMS answered and what to do), UNAVAILABLE (IMS unreachable),
     * ABORTED (etag mismatch, or changed concurrently).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tokenbroker.v1.MigrateIntegrationResponse> migrateIntegration(
        dev.tokenbroker.v1.MigrateIntegrationRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getMigrateIntegrationMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_INTEGRATION = 0;
  private static final int METHODID_GET_INTEGRATION = 1;
  private static final int METHODID_LIST_INTEGRATIONS = 2;
  private static final int METHODID_UPDATE_INTEGRATION = 3;
  private static final int METHODID_DELETE_INTEGRATION = 4;
  private static final int METHODID_IMPORT_INTEGRATIONS = 5;
  private static final int METHODID_LIST_CLIENT_SECRETS = 6;
  private static final int METHODID_ROTATE_CLIENT_SECRET = 7;
  private static final int METHODID_MIGRATE_INTEGRATION = 8;

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
        case METHODID_CREATE_INTEGRATION:
          serviceImpl.createIntegration((dev.tokenbroker.v1.CreateIntegrationRequest) request,
              (io.grpc.stub.StreamObserver<dev.tokenbroker.v1.CreateIntegrationResponse>) responseObserver);
          break;
        case METHODID_GET_INTEGRATION:
          serviceImpl.getIntegration((dev.tokenbroker.v1.GetIntegrationRequest) request,
              (io.grpc.stub.StreamObserver<dev.tokenbroker.v1.GetIntegrationResponse>) responseObserver);
          break;
        case METHODID_LIST_INTEGRATIONS:
          serviceImpl.listIntegrations((dev.tokenbroker.v1.ListIntegrationsRequest) request,
              (io.grpc.stub.StreamObserver<dev.tokenbroker.v1.ListIntegrationsResponse>) responseObserver);
          break;
        case METHODID_UPDATE_INTEGRATION:
          serviceImpl.updateIntegration((dev.tokenbroker.v1.UpdateIntegrationRequest) request,
              (io.grpc.stub.StreamObserver<dev.tokenbroker.v1.UpdateIntegrationResponse>) responseObserver);
          break;
        case METHODID_DELETE_INTEGRATION:
          serviceImpl.deleteIntegration((dev.tokenbroker.v1.DeleteIntegrationRequest) request,
              (io.grpc.stub.StreamObserver<dev.tokenbroker.v1.DeleteIntegrationResponse>) responseObserver);
          break;
        case METHODID_IMPORT_INTEGRATIONS:
          serviceImpl.importIntegrations((dev.tokenbroker.v1.ImportIntegrationsRequest) request,
              (io.grpc.stub.StreamObserver<dev.tokenbroker.v1.ImportIntegrationsResponse>) responseObserver);
          break;
        case METHODID_LIST_CLIENT_SECRETS:
          serviceImpl.listClientSecrets((dev.tokenbroker.v1.ListClientSecretsRequest) request,
              (io.grpc.stub.StreamObserver<dev.tokenbroker.v1.ListClientSecretsResponse>) responseObserver);
          break;
        case METHODID_ROTATE_CLIENT_SECRET:
          serviceImpl.rotateClientSecret((dev.tokenbroker.v1.RotateClientSecretRequest) request,
              (io.grpc.stub.StreamObserver<dev.tokenbroker.v1.RotateClientSecretResponse>) responseObserver);
          break;
        case METHODID_MIGRATE_INTEGRATION:
          serviceImpl.migrateIntegration((dev.tokenbroker.v1.MigrateIntegrationRequest) request,
              (io.grpc.stub.StreamObserver<dev.tokenbroker.v1.MigrateIntegrationResponse>) responseObserver);
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
          getCreateIntegrationMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tokenbroker.v1.CreateIntegrationRequest,
              dev.tokenbroker.v1.CreateIntegrationResponse>(
                service, METHODID_CREATE_INTEGRATION)))
        .addMethod(
          getGetIntegrationMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tokenbroker.v1.GetIntegrationRequest,
              dev.tokenbroker.v1.GetIntegrationResponse>(
                service, METHODID_GET_INTEGRATION)))
        .addMethod(
          getListIntegrationsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tokenbroker.v1.ListIntegrationsRequest,
              dev.tokenbroker.v1.ListIntegrationsResponse>(
                service, METHODID_LIST_INTEGRATIONS)))
        .addMethod(
          getUpdateIntegrationMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tokenbroker.v1.UpdateIntegrationRequest,
              dev.tokenbroker.v1.UpdateIntegrationResponse>(
                service, METHODID_UPDATE_INTEGRATION)))
        .addMethod(
          getDeleteIntegrationMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tokenbroker.v1.DeleteIntegrationRequest,
              dev.tokenbroker.v1.DeleteIntegrationResponse>(
                service, METHODID_DELETE_INTEGRATION)))
        .addMethod(
          getImportIntegrationsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tokenbroker.v1.ImportIntegrationsRequest,
              dev.tokenbroker.v1.ImportIntegrationsResponse>(
                service, METHODID_IMPORT_INTEGRATIONS)))
        .addMethod(
          getListClientSecretsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tokenbroker.v1.ListClientSecretsRequest,
              dev.tokenbroker.v1.ListClientSecretsResponse>(
                service, METHODID_LIST_CLIENT_SECRETS)))
        .addMethod(
          getRotateClientSecretMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tokenbroker.v1.RotateClientSecretRequest,
              dev.tokenbroker.v1.RotateClientSecretResponse>(
                service, METHODID_ROTATE_CLIENT_SECRET)))
        .addMethod(
          getMigrateIntegrationMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.tokenbroker.v1.MigrateIntegrationRequest,
              dev.tokenbroker.v1.MigrateIntegrationResponse>(
                service, METHODID_MIGRATE_INTEGRATION)))
        .build();
  }

  private static abstract class IntegrationServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    IntegrationServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.tokenbroker.v1.IntegrationServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("IntegrationService");
    }
  }

  private static final class IntegrationServiceFileDescriptorSupplier
      extends IntegrationServiceBaseDescriptorSupplier {
    IntegrationServiceFileDescriptorSupplier() {}
  }

  private static final class IntegrationServiceMethodDescriptorSupplier
      extends IntegrationServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    IntegrationServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (IntegrationServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new IntegrationServiceFileDescriptorSupplier())
              .addMethod(getCreateIntegrationMethod())
              .addMethod(getGetIntegrationMethod())
              .addMethod(getListIntegrationsMethod())
              .addMethod(getUpdateIntegrationMethod())
              .addMethod(getDeleteIntegrationMethod())
              .addMethod(getImportIntegrationsMethod())
              .addMethod(getListClientSecretsMethod())
              .addMethod(getRotateClientSecretMethod())
              .addMethod(getMigrateIntegrationMethod())
              .build();
        }
      }
    }
    return result;
  }
}
