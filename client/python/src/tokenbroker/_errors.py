"""Typed errors: one exception class per gRPC code, with the rich error details.

tokenbroker fails calls with the gRPC rich error model: the
`grpc-status-details-bin` trailer holds a `google.rpc.Status` whose details
carry a `google.rpc.ErrorInfo` (domain `tokenbroker.dev`, a stable `reason`,
metadata such as `ims_error`, `x_debug_id`, `http_status`, `field`), and
sometimes a `google.rpc.RetryInfo` and a `google.rpc.BadRequest`. This module
turns a failed call into a `TokenbrokerError` subclass that exposes them as
attributes, so callers never parse trailers themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type

import grpc
from google.rpc import error_details_pb2, status_pb2

_STATUS_DETAILS_KEY = "grpc-status-details-bin"

#: The ErrorInfo domain of errors raised by tokenbroker itself.
ERROR_DOMAIN = "tokenbroker.dev"


@dataclass(frozen=True)
class FieldViolation:
    """One entry of a `google.rpc.BadRequest`: which request field is wrong."""

    field: str
    description: str


class TokenbrokerError(Exception):
    """A failed tokenbroker call.

    Attributes:
        code: The gRPC status code.
        message: The server's status message (never contains a secret).
        reason: `ErrorInfo.reason`, e.g. `IMS_REJECTED`, `INTEGRATION_NOT_FOUND`;
            None when the server sent no ErrorInfo (e.g. a transport failure).
        domain: `ErrorInfo.domain`, `tokenbroker.dev` for the server's errors.
        metadata: `ErrorInfo.metadata` (string to string).
        ims_error: The IMS error code (`invalid_client`, `invalid_scope`, ...)
            when IMS rejected the exchange.
        x_debug_id: IMS's `x-debug-id` of the failed exchange: quote it to
            Adobe support.
        http_status: IMS's HTTP status of the failed exchange.
        field: The offending request field of an INVALID_ARGUMENT.
        field_violations: All fields named by a `google.rpc.BadRequest`.
        retry_delay: Seconds the server asked to wait (`google.rpc.RetryInfo`).
        attempts: How many attempts the client made before giving up.
    """

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        code: Optional[grpc.StatusCode] = None,
        reason: Optional[str] = None,
        domain: Optional[str] = None,
        metadata: Optional[Mapping[str, str]] = None,
        field_violations: Sequence[FieldViolation] = (),
        retry_delay: Optional[float] = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.reason = reason
        self.domain = domain
        self.metadata: Dict[str, str] = dict(metadata or {})
        self.field_violations: Tuple[FieldViolation, ...] = tuple(field_violations)
        self.retry_delay = retry_delay
        self.attempts = attempts

    @property
    def ims_error(self) -> Optional[str]:
        return self.metadata.get("ims_error")

    @property
    def x_debug_id(self) -> Optional[str]:
        return self.metadata.get("x_debug_id")

    @property
    def http_status(self) -> Optional[int]:
        value = self.metadata.get("http_status")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    @property
    def field(self) -> Optional[str]:
        if "field" in self.metadata:
            return self.metadata["field"]
        return self.field_violations[0].field if self.field_violations else None

    def __str__(self) -> str:
        parts = [f"{self.code.name}: {self.message}"]
        extras = [
            f"{name}={value}"
            for name, value in (
                ("reason", self.reason),
                ("ims_error", self.ims_error),
                ("x_debug_id", self.x_debug_id),
                ("field", self.field),
            )
            if value
        ]
        if extras:
            parts.append(f"({', '.join(extras)})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class InvalidArgumentError(TokenbrokerError):
    """A request field is invalid; `field` names it."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFoundError(TokenbrokerError):
    """The integration does not exist (or was deleted while watched)."""

    code = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(TokenbrokerError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDeniedError(TokenbrokerError):
    code = grpc.StatusCode.PERMISSION_DENIED


class UnauthenticatedError(TokenbrokerError):
    code = grpc.StatusCode.UNAUTHENTICATED


class FailedPreconditionError(TokenbrokerError):
    """The integration is disabled, or IMS rejected its credentials
    (`reason == "IMS_REJECTED"`, see `ims_error` and `x_debug_id`)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class AbortedError(TokenbrokerError):
    """An etag did not match (optimistic concurrency)."""

    code = grpc.StatusCode.ABORTED


class UnavailableError(TokenbrokerError):
    """The server or IMS is unreachable and no cached token is good enough.
    Retried by the client (see `RetryPolicy`) before it is raised."""

    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceededError(TokenbrokerError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class CancelledError(TokenbrokerError):
    code = grpc.StatusCode.CANCELLED


class ResourceExhaustedError(TokenbrokerError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class InternalError(TokenbrokerError):
    code = grpc.StatusCode.INTERNAL


_CLASS_BY_CODE: Dict[grpc.StatusCode, Type[TokenbrokerError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        NotFoundError,
        AlreadyExistsError,
        PermissionDeniedError,
        UnauthenticatedError,
        FailedPreconditionError,
        AbortedError,
        UnavailableError,
        DeadlineExceededError,
        CancelledError,
        ResourceExhaustedError,
        InternalError,
    )
}


def _trailer_value(trailers: Any, key: str) -> Optional[bytes]:
    for item in trailers or ():
        k, v = item[0], item[1]
        if k == key:
            return v if isinstance(v, bytes) else str(v).encode()
    return None


def error_from_status(
    code: grpc.StatusCode,
    message: str,
    trailers: Any = None,
    *,
    attempts: int = 1,
) -> TokenbrokerError:
    """Builds the typed error of a status code, message and trailing metadata
    (a sequence of `(key, value)` pairs, as both grpc and grpc.aio give)."""
    reason = domain = None
    metadata: Dict[str, str] = {}
    violations: List[FieldViolation] = []
    retry_delay = None
    raw = _trailer_value(trailers, _STATUS_DETAILS_KEY)
    if raw:
        status = status_pb2.Status()
        try:
            status.ParseFromString(raw)
        except Exception:  # A malformed trailer must not hide the real error.
            status.Clear()
        if status.message:
            message = status.message
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, domain = info.reason or None, info.domain or None
                metadata.update(info.metadata)
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                retry_delay = retry.retry_delay.ToTimedelta().total_seconds()
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations.extend(
                    FieldViolation(v.field, v.description) for v in bad.field_violations
                )
    cls = _CLASS_BY_CODE.get(code, TokenbrokerError)
    return cls(
        message,
        code=code,
        reason=reason,
        domain=domain,
        metadata=metadata,
        field_violations=violations,
        retry_delay=retry_delay,
        attempts=attempts,
    )


def error_from_rpc_error(error: grpc.RpcError, *, attempts: int = 1) -> TokenbrokerError:
    """Converts a `grpc.RpcError` (sync) or `grpc.aio.AioRpcError` (asyncio)."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = error.details() if hasattr(error, "details") else str(error)
    trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    return error_from_status(
        code or grpc.StatusCode.UNKNOWN, message or "", trailers, attempts=attempts
    )
