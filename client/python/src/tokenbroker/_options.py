"""Connection options shared by the sync and asyncio clients."""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, FrozenSet, List, Optional, Sequence, Tuple, Union

import grpc

from ._errors import UnauthenticatedError
from ._version import __version__

PathLike = Union[str, "os.PathLike[str]"]
Seconds = Union[float, int, timedelta]

#: Where the client connects when no target is given (as `tokenctl`).
DEFAULT_TARGET = "127.0.0.1:50051"
#: The default per-call deadline, in seconds, covering all retry attempts.
DEFAULT_TIMEOUT = 10.0
#: How long a read of `caller_token_file` stays in use before the file is read again.
DEFAULT_CALLER_TOKEN_RELOAD = 5.0


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
    """Transport security towards the broker. A client uses TLS unless it is
    made with `plaintext=True`; `TLS()` (the default) verifies the server
    against the system roots with the target's host as the expected name.

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

    The nominal wait before retry n (n = 1, 2, ...) is
    `b = min(max_backoff, initial_backoff * multiplier**(n-1))`; the wait is
    drawn uniformly from `[b * (1 - jitter), b]` (the default jitter 0.5:
    `[b/2, b]`), and is at least the server's `RetryInfo.retry_delay` when it
    sent one. No retry starts that could not finish before the call's
    deadline; a retry that the deadline ends anyway (during the wait, or in
    the attempt) raises the UNAVAILABLE it retried, not DEADLINE_EXCEEDED
    (a first attempt that meets the deadline stays DEADLINE_EXCEEDED).
    `max_attempts` counts every attempt, the first included. Only
    the codes in `retry_codes` are retried (UNAVAILABLE: the server or IMS
    could not be reached). Calls that change integrations (create, update,
    delete) are never retried. `RetryPolicy(max_attempts=1)` turns retries off.
    """

    max_attempts: int = 4
    initial_backoff: float = 0.1
    max_backoff: float = 2.0
    multiplier: float = 2.0
    jitter: float = 0.5
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
        delay = base * (1 - self.jitter * rand())
        if server_delay is not None:
            delay = max(delay, server_delay)
        return delay


#: The default retry policy: up to 4 attempts, 0.1 s doubling to at most 2 s.
DEFAULT_RETRY = RetryPolicy()
#: A single attempt (calls that are not retried).
NO_RETRY = RetryPolicy(max_attempts=1)


class CallerToken:
    """The caller's own credential for the broker, sent on every call as
    `authorization: Bearer <token>` metadata.

    Either a fixed string or a file (e.g. a projected Kubernetes
    service-account token). The file's content is kept in memory and read
    again once that copy is older than `reload` seconds, so a rotated file is
    picked up within `reload`. A file that cannot be read, or is empty, fails
    the call with `UnauthenticatedError` naming the file (never its content);
    the next call reads it again. Thread-safe.

    Args:
        token: A fixed token.
        file: A file holding the token (surrounding whitespace is ignored).
        reload: Seconds a read of `file` stays in use (default 5; 0: every call).
        clock: Monotonic seconds; for tests.
    """

    def __init__(
        self,
        token: Optional[str] = None,
        file: Optional[PathLike] = None,
        *,
        reload: Seconds = DEFAULT_CALLER_TOKEN_RELOAD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (token is None) == (file is None):
            raise ValueError("CallerToken: give exactly one of token and file")
        if token is not None and not token.strip():
            raise ValueError("CallerToken: empty token")
        seconds = to_seconds(reload)
        if seconds is None or seconds < 0:
            raise ValueError("CallerToken: reload must be a duration of at least 0")
        self.reload: float = seconds
        self._fixed = token.strip() if token is not None else None
        self._file = file
        self._clock = clock
        self._lock = threading.Lock()
        # (value, monotonic time of the read), replaced whole: the fast path
        # reads it without the lock.
        self._read: Optional[Tuple[str, float]] = None

    def get(self) -> str:
        """The token. Raises `UnauthenticatedError` when the file cannot be read."""
        if self._fixed is not None:
            return self._fixed
        read = self._read
        if read is not None and self._clock() - read[1] < self.reload:
            return read[0]
        with self._lock:
            read = self._read
            now = self._clock()
            if read is None or now - read[1] >= self.reload:
                read = (self._read_file(), now)
                self._read = read
            return read[0]

    def _read_file(self) -> str:
        assert self._file is not None
        path = os.fspath(self._file)
        try:
            with open(path, encoding="utf-8") as f:
                value = f.read().strip()
        except (OSError, UnicodeDecodeError) as e:
            why = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
            raise UnauthenticatedError(
                f"cannot read caller_token_file {path!r}: {why}", attempts=0
            ) from None
        if not value:
            raise UnauthenticatedError(f"caller_token_file {path!r} is empty", attempts=0)
        return value

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
        caller_token_reload: Seconds,
        timeout: Optional[Seconds],
        retry: Optional[RetryPolicy],
        metadata: Metadata,
    ) -> None:
        if caller_token is not None and caller_token_file is not None:
            raise ValueError("give caller_token or caller_token_file, not both")
        self.caller_token: Optional[CallerToken] = None
        if caller_token is not None or caller_token_file is not None:
            self.caller_token = CallerToken(
                caller_token, caller_token_file, reload=caller_token_reload
            )
        reload = to_seconds(caller_token_reload)
        if reload is None or reload < 0:
            raise ValueError("caller_token_reload must be a duration of at least 0")
        self.caller_token_reload = reload
        self.timeout = to_seconds(timeout)
        self.retry = retry or NO_RETRY
        self._static: Tuple[Tuple[str, Union[str, bytes]], ...] = tuple(
            (str(k), v) for k, v in metadata
        )

    def metadata(self) -> Tuple[Tuple[str, Union[str, bytes]], ...]:
        if self.caller_token is None:
            return self._static
        return self._static + (("authorization", "Bearer " + self.caller_token.get()),)


def transport(plaintext: bool, tls: Optional[TLS]) -> Optional[TLS]:
    """The TLS settings of a new channel, or None for plaintext. TLS unless
    `plaintext` is asked for: it is never inferred from the address, and a
    TLS channel never falls back to plaintext."""
    if plaintext:
        if tls is not None:
            raise ValueError("plaintext=True and tls= exclude each other")
        return None
    return tls if tls is not None else TLS()


def channel_options(tls: Optional[TLS], extra: Sequence[Tuple[str, Any]]) -> List[Tuple[str, Any]]:
    options: List[Tuple[str, Any]] = [
        ("grpc.primary_user_agent", f"tokenbroker-python/{__version__}"),
        # A broker restart must not leave the channel in a long reconnect backoff.
        ("grpc.max_reconnect_backoff_ms", 5000),
        # This client's own subchannels: grpc core otherwise shares them per
        # process, so a client made after a broker restart would inherit a
        # subchannel in the reconnect backoff of an older client's failures
        # and fail fast with UNAVAILABLE for seconds.
        ("grpc.use_local_subchannel_pool", 1),
    ]
    if tls is not None and tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    options.extend(extra)
    return options
