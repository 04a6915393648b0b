package dev.tokenbroker.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TokenbrokerExceptionTest {
  @Test
  void from_givesEachBranchedOnCodeItsSubclass_andTheRestTheBaseClass() {
    Map<Status.Code, Class<?>> typed =
        Map.of(
            Status.Code.NOT_FOUND, NotFoundException.class,
            Status.Code.PERMISSION_DENIED, PermissionDeniedException.class,
            Status.Code.UNAUTHENTICATED, UnauthenticatedException.class,
            Status.Code.FAILED_PRECONDITION, FailedPreconditionException.class,
            Status.Code.UNAVAILABLE, UnavailableException.class,
            Status.Code.RESOURCE_EXHAUSTED, ResourceExhaustedException.class,
            Status.Code.INVALID_ARGUMENT, InvalidArgumentException.class);
    for (Status.Code code : Status.Code.values()) {
      TokenbrokerException e =
          TokenbrokerException.from(code.toStatus().withDescription("d").asRuntimeException());
      assertEquals(typed.getOrDefault(code, TokenbrokerException.class), e.getClass(), code.name());
      assertEquals(code, e.code());
      assertEquals(code.name() + ": d", e.getMessage());
    }
    assertEquals(
        UnauthenticatedException.class,
        TokenbrokerException.local(Status.Code.UNAUTHENTICATED, "x", null).getClass());
  }

  @Test
  void from_decodesErrorInfoRetryInfoAndBadRequest() {
    com.google.rpc.Status s =
        com.google.rpc.Status.newBuilder()
            .setCode(Status.Code.FAILED_PRECONDITION.value())
            .setMessage("IMS rejected integration 'x'")
            .addDetails(
                Any.pack(
                    ErrorInfo.newBuilder()
                        .setDomain("tokenbroker.dev")
                        .setReason("IMS_REJECTED")
                        .putMetadata("ims_error", "invalid_client")
                        .putMetadata("x_debug_id", "abc123")
                        .putMetadata("http_status", "401")
                        .build()))
            .addDetails(
                Any.pack(
                    RetryInfo.newBuilder()
                        .setRetryDelay(com.google.protobuf.Duration.newBuilder().setSeconds(2))
                        .build()))
            .addDetails(
                Any.pack(
                    BadRequest.newBuilder()
                        .addFieldViolations(
                            BadRequest.FieldViolation.newBuilder()
                                .setField("name")
                                .setDescription("bad"))
                        .build()))
            .build();
    TokenbrokerException e = TokenbrokerException.from(StatusProto.toStatusRuntimeException(s));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.code());
    assertEquals("IMS_REJECTED", e.reason());
    assertEquals("tokenbroker.dev", e.domain());
    assertEquals("invalid_client", e.imsError());
    assertEquals("abc123", e.xDebugId());
    assertEquals(401, e.httpStatus());
    assertEquals(Duration.ofSeconds(2), e.retryDelay());
    assertEquals("name", e.field());
    assertTrue(e.getMessage().startsWith("FAILED_PRECONDITION: IMS rejected"), e.getMessage());
    assertTrue(e.getMessage().contains("x_debug_id=abc123"), e.getMessage());
  }

  @Test
  void from_plainStatus_hasNoDetails() {
    TokenbrokerException e =
        TokenbrokerException.from(Status.UNAVAILABLE.withDescription("down").asRuntimeException());
    assertEquals(Status.Code.UNAVAILABLE, e.code());
    assertNull(e.reason());
    assertNull(e.imsError());
    assertNull(e.retryDelay());
    assertTrue(e.isRetryable());
    assertEquals("UNAVAILABLE: down", e.getMessage());
  }

  @Test
  void from_returnsTokenbrokerExceptionAsIs_andMapsOthersToUnknown() {
    TokenbrokerException e = TokenbrokerException.from(Status.NOT_FOUND.asRuntimeException());
    assertSame(e, TokenbrokerException.from(e));
    assertEquals(Status.Code.UNKNOWN, TokenbrokerException.from(new RuntimeException()).code());
  }
}
