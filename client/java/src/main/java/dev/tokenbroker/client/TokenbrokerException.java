package dev.tokenbroker.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A failed tokenbroker call, with the server's rich error details decoded.
 *
 * <p>Every method of {@link TokenbrokerClient} and {@link TokenSource} throws this (unchecked)
 * exception and nothing else from the RPC layer. The gRPC status is {@link #code()}; the {@code
 * google.rpc.ErrorInfo} the server attaches gives {@link #reason()} (e.g. {@code IMS_REJECTED},
 * {@code INTEGRATION_NOT_FOUND}, {@code IMS_UNAVAILABLE}, {@code INVALID_FIELD}) and metadata, of
 * which {@link #imsError()}, {@link #xDebugId()}, {@link #httpStatus()} and {@link #field()} are
 * the usual ones. Getters of optional details return null when the server sent none.
 *
 * <p>What to do, by code: {@code NOT_FOUND} — the integration does not exist (a configuration
 * error); {@code FAILED_PRECONDITION} — IMS rejected the integration's credentials or it is
 * disabled: quote {@link #xDebugId()} to Adobe support; {@code UNAVAILABLE} — IMS or the broker
 * is unreachable and no valid token is cached (already retried by the client); {@code
 * INVALID_ARGUMENT} — a bad request, {@link #field()} names the field.
 *
 * <p>The codes a caller usually branches on have their own subclass, so that {@code catch
 * (NotFoundException e)} reads as what it means: {@link NotFoundException}, {@link
 * PermissionDeniedException}, {@link UnauthenticatedException}, {@link
 * FailedPreconditionException}, {@link UnavailableException}, {@link ResourceExhaustedException}
 * and {@link InvalidArgumentException}. Every other code is a plain TokenbrokerException.
 */
public class TokenbrokerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The ErrorInfo domain of errors raised by tokenbroker itself. */
  public static final String DOMAIN = "tokenbroker.dev";

  private final Status.Code code;
  private final String reason;
  private final String domain;
  private final Map<String, String> metadata;
  private final Duration retryDelay;
  private final List<BadRequest.FieldViolation> fieldViolations;

  TokenbrokerException(
      Status.Code code,
      String message,
      Throwable cause,
      String reason,
      String domain,
      Map<String, String> metadata,
      Duration retryDelay,
      List<BadRequest.FieldViolation> fieldViolations) {
    super(message, cause);
    this.code = code;
    this.reason = reason;
    this.domain = domain;
    this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    this.retryDelay = retryDelay;
    this.fieldViolations = List.copyOf(fieldViolations);
  }

  /** For the per-code subclasses: a copy of {@code parts}, stack trace included. */
  TokenbrokerException(TokenbrokerException parts) {
    super(parts.getMessage(), parts.getCause());
    this.code = parts.code;
    this.reason = parts.reason;
    this.domain = parts.domain;
    this.metadata = parts.metadata;
    this.retryDelay = parts.retryDelay;
    this.fieldViolations = parts.fieldViolations;
    setStackTrace(parts.getStackTrace());
  }

  /** {@code e} as the subclass of its code, or itself when the code has none. */
  private static TokenbrokerException typed(TokenbrokerException e) {
    return switch (e.code) {
      case NOT_FOUND -> new NotFoundException(e);
      case PERMISSION_DENIED -> new PermissionDeniedException(e);
      case UNAUTHENTICATED -> new UnauthenticatedException(e);
      case FAILED_PRECONDITION -> new FailedPreconditionException(e);
      case UNAVAILABLE -> new UnavailableException(e);
      case RESOURCE_EXHAUSTED -> new ResourceExhaustedException(e);
      case INVALID_ARGUMENT -> new InvalidArgumentException(e);
      default -> e;
    };
  }

  /**
   * Converts any throwable of a gRPC call. A {@link StatusRuntimeException} or {@link
   * StatusException} has its {@code grpc-status-details-bin} trailer decoded; a TokenbrokerException
   * is returned as it is; anything else becomes {@code UNKNOWN}.
   */
  public static TokenbrokerException from(Throwable t) {
    if (t instanceof TokenbrokerException e) {
      return e;
    }
    Status status = Status.fromThrowable(t);
    String reason = null;
    String domain = null;
    Map<String, String> metadata = Map.of();
    Duration retryDelay = null;
    List<BadRequest.FieldViolation> violations = List.of();
    com.google.rpc.Status details = StatusProto.fromThrowable(t);
    if (details != null) {
      for (Any any : details.getDetailsList()) {
        try {
          if (any.is(ErrorInfo.class) && reason == null) {
            ErrorInfo info = any.unpack(ErrorInfo.class);
            reason = info.getReason();
            domain = info.getDomain();
            metadata = info.getMetadataMap();
          } else if (any.is(RetryInfo.class)) {
            retryDelay = Protos.toDuration(any.unpack(RetryInfo.class).getRetryDelay());
          } else if (any.is(BadRequest.class)) {
            violations = any.unpack(BadRequest.class).getFieldViolationsList();
          }
        } catch (InvalidProtocolBufferException ignored) {
          // A malformed detail is dropped; the status code and message remain.
        }
      }
    }
    return typed(
        new TokenbrokerException(
            status.getCode(),
            describe(status, reason, metadata),
            t,
            reason,
            domain,
            metadata,
            retryDelay,
            violations));
  }

  /** An error raised by the client itself (not by a call), e.g. an unreadable token file. */
  static TokenbrokerException local(Status.Code code, String message, Throwable cause) {
    return typed(
        new TokenbrokerException(
            code, code + ": " + message, cause, null, null, Map.of(), null, List.of()));
  }

  private static String describe(Status status, String reason, Map<String, String> metadata) {
    StringBuilder sb = new StringBuilder(status.getCode().name());
    if (status.getDescription() != null) {
      sb.append(": ").append(status.getDescription());
    }
    if (reason != null) {
      sb.append(" [reason=").append(reason);
      metadata.forEach((k, v) -> sb.append(", ").append(k).append('=').append(v));
      sb.append(']');
    }
    return sb.toString();
  }

  /** The gRPC status code. */
  public Status.Code code() {
    return code;
  }

  /** ErrorInfo's reason, e.g. {@code IMS_REJECTED}; null without an ErrorInfo. */
  public String reason() {
    return reason;
  }

  /** ErrorInfo's domain, {@link #DOMAIN} for the broker's own errors; null without one. */
  public String domain() {
    return domain;
  }

  /** ErrorInfo's metadata (empty without one). */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** IMS's OAuth error code, e.g. {@code invalid_client}; null when IMS was not involved. */
  public String imsError() {
    return metadata.get("ims_error");
  }

  /** IMS's {@code x-debug-id} response header: what Adobe support asks for. */
  public String xDebugId() {
    return metadata.get("x_debug_id");
  }

  /** The HTTP status IMS answered with, or null. */
  public Integer httpStatus() {
    String s = metadata.get("http_status");
    if (s == null) {
      return null;
    }
    try {
      return Integer.valueOf(s);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** The request field at fault ({@code INVALID_ARGUMENT}), or null. */
  public String field() {
    String f = metadata.get("field");
    if (f == null && !fieldViolations.isEmpty()) {
      f = fieldViolations.get(0).getField();
    }
    return f;
  }

  /** The BadRequest detail's violations (empty when none). */
  public List<BadRequest.FieldViolation> fieldViolations() {
    return fieldViolations;
  }

  /** How long the server asks to wait before retrying (RetryInfo), or null. */
  public Duration retryDelay() {
    return retryDelay;
  }

  /** True for {@code UNAVAILABLE}: the same call may succeed later. */
  public boolean isRetryable() {
    return code == Status.Code.UNAVAILABLE;
  }
}
