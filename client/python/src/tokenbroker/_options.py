"""Connection options shared by the sync and asyncio clients."""

from __future__ import annotations

import os
import random
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, FrozenSet, List, Optional, Sequence, Tuple, Union

import grpc

from ._version import __version__

PathLike = Union[str, "os.PathLike[str]"]
Seconds = Union[float, int, timedelta]

#: Where the client connects when no target is given (as `tokenctl`).
DEFAULT_TARGET = "127.0.0.1:50051"
#: The default per-call deadline, in seconds, covering all retry attempts.
DEFAULT_TIMEOUT = 10.0


def to_seconds(value: Optional[Seconds]) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def default_target() -> str:
    """`$TOKENBROKER_SERVER`, else `127.0.0.1:50051` (the same as tokenctl)."""
    return os.environ.get("TOKENBROKER_SERVER") or DEFAULT_TARGET


@dataclass(frozen=True)
class TLS:
    """Transport security towards the broker. Plaintext when no TLS is given.

    Attributes:
        ca_file: PEM bundle of the CAs that may sign the server's certificate;
            None: the system's roots (as bundled with gRPC).
        cert_file: PEM client certificate (chain) for mutual TLS.
        key_file: PEM private key of `cert_file`. Both or neither.
        server_name: Overrides the name checked against the server's
            certificate (e.g. when connecting by an address the certificate
            does not name). For tests and unusual deployments only.
    """

    ca_file: Optional[PathLike] = None
    cert_file: Optional[PathLike] = None
    key_file: Optional[PathLike] = None
    server_name: Optional[str] = None

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("TLS: cert_file and key_file go together (mutual TLS)")

    def channel_credentials(self) -> grpc.ChannelCredentials:
        def read(path: Optional[PathLike]) -> Optional[bytes]:
            if path is None:
                return None
            with open(path, "rb") as f:
                return f.read()

        return grpc.ssl_channel_credentials(
            root_certificates=read(self.ca_file),
            private_key=read(self.key_file),
            certificate_chain=read(self.cert_file),
        )


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of failed unary calls: exponential backoff with jitter, bounded
    both by `max_attempts` and by the call's deadline.

    The delay before retry n (n = 1, 2, ...) is
    `min(max_backoff, initial_backoff * multiplier**(n-1))`, scaled by a random
    factor in `[1 - jitter, 1 + jitter]`, and at least the server's
    `RetryInfo.retry_delay` when it sent one. Only the codes in `retry_codes`
    are retried (UNAVAILABLE: the server or IMS could not be reached). Calls
    that change integrations (create, update, delete) are never retried.
    `RetryPolicy(max_attempts=1)` turns retries off.
    """

    max_attempts: int = 4
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.2
    retry_codes: FrozenSet[grpc.StatusCode] = field(
        default_factory=lambda: frozenset({grpc.StatusCode.UNAVAILABLE})
    )

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.multiplier < 1:
            raise ValueError("RetryPolicy: negative backoff or multiplier below 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter must be within [0, 1]")

    def backoff(
        self,
        retry: int,
        server_delay: Optional[float] = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (retry - 1))
        delay = base * (1 - self.jitter + 2 * self.jitter * rand())
        if server_delay is not None:
            delay = max(delay, server_delay)
        return delay


#: The default retry policy: up to 4 attempts, 0.1 s doubling to at most 5 s.
DEFAULT_RETRY = RetryPolicy()
#: A single attempt (calls that are not retried).
NO_RETRY = RetryPolicy(max_attempts=1)


class CallerToken:
    """The caller's own credential for the broker, sent on every call as
    `authorization: Bearer <token>` metadata.

    Either a fixed string or a file, re-read whenever its modification time
    or size changes (so a rotated, mounted token, e.g. a Kubernetes projected
    service-account token, is picked up without a restart). Thread-safe.
    """

    def __init__(self, token: Optional[str] = None, file: Optional[PathLike] = None) -> None:
        if (token is None) == (file is None):
            raise ValueError("CallerToken: give exactly one of token and file")
        if token is not None and not token.strip():
            raise ValueError("CallerToken: empty token")
        self._fixed = token.strip() if token is not None else None
        self._file = file
        self._lock = threading.Lock()
        self._stamp: Optional[Tuple[int, int]] = None
        self._value = ""

    def get(self) -> str:
        if self._fixed is not None:
            return self._fixed
        assert self._file is not None
        st = os.stat(self._file)
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            with self._lock:
                with open(self._file, encoding="utf-8") as f:
                    value = f.read().strip()
                if not value:
                    raise ValueError(f"CallerToken: {os.fspath(self._file)} is empty")
                self._value, self._stamp = value, stamp
        return self._value

    def __repr__(self) -> str:
        where = f"file={os.fspath(self._file)!r}" if self._file is not None else "token=<redacted>"
        return f"CallerToken({where})"


Metadata = Sequence[Tuple[str, Union[str, bytes]]]


class CallSettings:
    """What every call of a client shares: metadata, deadline and retries."""

    def __init__(
        self,
        *,
        caller_token: Optional[str],
        caller_token_file: Optional[PathLike],
        timeout: Optional[Seconds],
        retry: Optional[RetryPolicy],
        metadata: Metadata,
    ) -> None:
        if caller_token is not None and caller_token_file is not None:
            raise ValueError("give caller_token or caller_token_file, not both")
        self.caller_token: Optional[CallerToken] = None
        if caller_token is not None or caller_token_file is not None:
            self.caller_token = CallerToken(caller_token, caller_token_file)
        self.timeout = to_seconds(timeout)
        self.retry = retry or NO_RETRY
        self._static: Tuple[Tuple[str, Union[str, bytes]], ...] = tuple(
            (str(k), v) for k, v in metadata
        )

    def metadata(self) -> Tuple[Tuple[str, Union[str, bytes]], ...]:
        if self.caller_token is None:
            return self._static
        return self._static + (("authorization", "Bearer " + self.caller_token.get()),)


def channel_options(tls: Optional[TLS], extra: Sequence[Tuple[str, Any]]) -> List[Tuple[str, Any]]:
    options: List[Tuple[str, Any]] = [
        ("grpc.primary_user_agent", f"tokenbroker-python/{__version__}"),
        # A broker restart must not leave the channel in a long reconnect backoff.
        ("grpc.max_reconnect_backoff_ms", 5000),
    ]
    if tls is not None and tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    options.extend(extra)
    return options
