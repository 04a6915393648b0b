"""Value types returned by the clients (instead of raw protobuf messages)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, Iterable, Optional, Tuple, Type, TypeVar, Union

from google.protobuf import duration_pb2, timestamp_pb2

from .v1 import integration_pb2, token_service_pb2

R = TypeVar(
    "R",
    bound=Union[
        token_service_pb2.GetAccessTokenRequest, token_service_pb2.GetRequestHeadersRequest
    ],
)
_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


def integration_name(integration: str) -> str:
    """`demo` or `integrations/demo` -> `integrations/demo`.

    Only the shape is normalised here; the server validates the id and
    answers INVALID_ARGUMENT, so there is one source of truth for the rules.
    """
    if integration.startswith("integrations/"):
        return integration
    return "integrations/" + integration


def with_integration_name(integration: integration_pb2.Integration) -> integration_pb2.Integration:
    """`integration`, or a copy whose `name` is normalised (an id given)."""
    name = integration_name(integration.name) if integration.name else ""
    if name == integration.name:
        return integration
    copy = integration_pb2.Integration()
    copy.CopyFrom(integration)
    copy.name = name
    return copy


def credential_file_bytes(content: object) -> bytes:
    """The content of a credential file; a str (likely a path) is refused."""
    if isinstance(content, (bytes, bytearray, memoryview)):
        return bytes(content)
    raise TypeError(
        "credential_file is the file's content as bytes (e.g. Path(path).read_bytes()), "
        f"not {type(content).__name__}"
    )


def is_valid_integration_id(integration_id: str) -> bool:
    """Whether `integration_id` is 1-63 of `[a-z0-9-]`, starting with a letter
    and not ending with `-` (the server's rule)."""
    return bool(_ID.match(integration_id))


def _epoch(ts: timestamp_pb2.Timestamp) -> float:
    return ts.seconds + ts.nanos / 1e9


def duration_proto(seconds: Optional[float]) -> Optional[duration_pb2.Duration]:
    if seconds is None:
        return None
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(round(seconds * 1e9)))
    return d


def token_request(cls: Type[R], integration: str, min_remaining_validity: Optional[float]) -> R:
    """A Get{AccessToken,RequestHeaders}Request; `min_remaining_validity`
    is left unset (the server's rule) when None."""
    if min_remaining_validity is None:  # the common case, kept cheap
        return cls(name=integration_name(integration))
    return cls(
        name=integration_name(integration),
        min_remaining_validity=duration_proto(min_remaining_validity),
    )


@dataclass(frozen=True)
class AccessToken:
    """An Adobe IMS access token handed out by the broker.

    `access_token` is a secret: it is left out of `repr()`.
    """

    access_token: str = field(repr=False)
    token_type: str
    #: When IMS issued the token (UTC).
    issue_time: datetime
    #: When the token stops being valid (UTC).
    expire_time: datetime
    #: `integrations/{id}`.
    integration: str
    #: `expire_time` as seconds since the epoch (for cheap comparisons).
    expires_at: float = field(repr=False, compare=False)
    #: `issue_time` as seconds since the epoch.
    issued_at: float = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, msg: token_service_pb2.AccessToken) -> "AccessToken":
        # The hot path of every token call. Each timestamp is read once; the
        # instance is filled directly, not through the frozen dataclass's
        # __init__ (one object.__setattr__ per field); and the two datetimes
        # are made on first use (__getattr__), as most callers only want the
        # token. The object is the same as the constructor's.
        issue, expire = msg.issue_time, msg.expire_time
        token = object.__new__(cls)
        token.__dict__.update(
            access_token=msg.access_token,
            token_type=msg.token_type or "bearer",
            integration=msg.integration,
            expires_at=expire.seconds + expire.nanos / 1e9,
            issued_at=issue.seconds + issue.nanos / 1e9,
        )
        return token

    def __getattr__(self, name: str) -> datetime:
        # Called only for attributes not in __dict__: the lazy datetimes of
        # from_proto.
        if name == "issue_time" or name == "expire_time":
            epoch = self.__dict__["issued_at" if name == "issue_time" else "expires_at"]
            value = datetime.fromtimestamp(epoch, timezone.utc)
            self.__dict__[name] = value
            return value
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def authorization(self) -> str:
        """The `Authorization` header value, `Bearer <token>`."""
        return "Bearer " + self.access_token

    @property
    def lifetime(self) -> float:
        """Seconds between issue and expiry."""
        return max(0.0, self.expires_at - self.issued_at)

    def remaining(self, now: Optional[float] = None) -> float:
        """Seconds until expiry (negative once expired)."""
        return self.expires_at - (time.time() if now is None else now)


class RequestHeaders(Dict[str, str]):
    """The HTTP headers an Adobe API call needs (`Authorization`, `x-api-key`,
    and `x-gw-ims-org-id` / `x-sandbox-name` where configured), in the server's
    order. A plain dict, so it can be passed as `headers=` to any HTTP client;
    `expire_time` says when the token in `Authorization` expires.
    `repr()` hides the token.
    """

    expire_time: datetime
    expires_at: float

    def __init__(self, items: Iterable[Tuple[str, str]], expires_at: float) -> None:
        super().__init__(items)
        self.expires_at = expires_at
        self.expire_time = datetime.fromtimestamp(expires_at, tz=timezone.utc)

    @classmethod
    def from_proto(cls, msg: token_service_pb2.GetRequestHeadersResponse) -> "RequestHeaders":
        return cls(((h.name, h.value) for h in msg.headers), _epoch(msg.expire_time))

    def __repr__(self) -> str:
        shown = {k: ("<redacted>" if k.lower() == "authorization" else v) for k, v in self.items()}
        return f"RequestHeaders({shown!r}, expire_time={self.expire_time.isoformat()})"
