"""Connection options: TLS and mTLS, caller tokens, retries and deadlines.

TLS is tested against the real broker when it has the --tls-cert flag, and
always against an in-process gRPC server (a scripted TokenService) that also
lets the tests see the metadata the client sends and script failures.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent import futures
from pathlib import Path
from typing import Any, Iterator, List, Optional

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

import tokenbroker
import tokenbroker.aio
import tokenbroker.client
from tokenbroker import TLS, RetryPolicy
from tokenbroker.aio import AsyncClient
from tokenbroker.v1 import token_service_pb2, token_service_pb2_grpc

from conftest import APP_CLIENT, APP_SECRET, Stack, oauth_integration
from harness import Certs, make_certs, start_broker, tls_flags, write_policy


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


# -- the real broker over TLS ------------------------------------------------


def test_real_broker_over_tls(tmp_path: Path, stack: Stack, certs: Certs) -> None:
    broker = start_broker(
        tmp_path,
        stack.emulator,
        *tls_flags(certs),
        name="broker-tls",
    )
    try:
        with tokenbroker.Client(broker.target, tls=TLS(ca_file=certs.ca), timeout=10) as client:
            client.create_integration("tls", oauth_integration(APP_CLIENT, APP_SECRET))
            token = client.get_access_token("tls")
            headers = client.get_request_headers("tls")
        # A plaintext client cannot talk to the TLS-only server.
        with tokenbroker.Client(broker.target, plaintext=True, retry=None, timeout=3) as plain:
            with pytest.raises(tokenbroker.TokenbrokerError):
                plain.get_access_token("tls")
    finally:
        broker.stop()

    assert token.access_token
    assert headers["Authorization"] == token.authorization


def test_real_broker_over_mutual_tls(tmp_path: Path, stack: Stack, certs: Certs) -> None:
    broker = start_broker(
        tmp_path,
        stack.emulator,
        *tls_flags(certs),
        f"--client-ca-file={certs.ca}",
        name="broker-mtls",
    )
    try:
        mtls = TLS(ca_file=certs.ca, cert_file=certs.client_cert, key_file=certs.client_key)
        with tokenbroker.Client(broker.target, tls=mtls, timeout=10) as client:
            client.create_integration("mtls", oauth_integration(APP_CLIENT, APP_SECRET))
            token = client.get_access_token("mtls")
        with tokenbroker.Client(
            broker.target, tls=TLS(ca_file=certs.ca), retry=None, timeout=3
        ) as no_cert:
            with pytest.raises(tokenbroker.TokenbrokerError):
                no_cert.get_access_token("mtls")
    finally:
        broker.stop()

    assert token.access_token


# -- a scripted in-process server ----------------------------------------------


def _rich_status(
    code: grpc.StatusCode, message: str, retry_delay: Optional[float]
) -> status_pb2.Status:
    status = status_pb2.Status(code=code.value[0], message=message)
    info = error_details_pb2.ErrorInfo(
        reason="IMS_UNAVAILABLE", domain="tokenbroker.dev", metadata={"http_status": "503"}
    )
    packed = any_pb2.Any()
    packed.Pack(info)
    status.details.append(packed)
    if retry_delay is not None:
        retry = error_details_pb2.RetryInfo(
            retry_delay=duration_pb2.Duration(nanos=int(retry_delay * 1e9))
        )
        packed = any_pb2.Any()
        packed.Pack(retry)
        status.details.append(packed)
    return status


class ScriptedTokenService(token_service_pb2_grpc.TokenServiceServicer):
    """Fails the first `failures` calls with UNAVAILABLE (rich details), then
    answers, after `delay` seconds; records each call's metadata and arrival time."""

    def __init__(self) -> None:
        self.failures = 0
        self.retry_delay: Optional[float] = None
        self.delay = 0.0
        self.metadata: List[dict] = []
        self.times: List[float] = []
        self.lock = threading.Lock()

    def GetAccessToken(self, request, context):  # noqa: N802 (generated name)
        with self.lock:
            self.metadata.append(dict(context.invocation_metadata()))
            self.times.append(time.monotonic())
            fail = self.failures > 0
            self.failures -= 1 if fail else 0
        if self.delay and not fail:  # a slow answer (not failure), for the deadline tests
            time.sleep(self.delay)
        if fail:
            status = _rich_status(grpc.StatusCode.UNAVAILABLE, "IMS is down", self.retry_delay)
            context.abort_with_status(_Status(grpc.StatusCode.UNAVAILABLE, status))
        token = token_service_pb2.AccessToken(
            access_token="tok", token_type="bearer", integration=request.name
        )
        token.issue_time.GetCurrentTime()
        token.expire_time.FromSeconds(token.issue_time.seconds + 3600)
        return token_service_pb2.GetAccessTokenResponse(token=token)


class _Status(grpc.Status):
    def __init__(self, code: grpc.StatusCode, status: status_pb2.Status) -> None:
        self.code = code
        self.details = status.message
        self.trailing_metadata = (("grpc-status-details-bin", status.SerializeToString()),)


class FakeServer:
    def __init__(self, certs: Optional[Certs] = None, require_client_cert: bool = False) -> None:
        self.service = ScriptedTokenService()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        token_service_pb2_grpc.add_TokenServiceServicer_to_server(self.service, self.server)
        if certs is None:
            port = self.server.add_insecure_port("127.0.0.1:0")
        else:
            credentials = grpc.ssl_server_credentials(
                [(certs.server_key.read_bytes(), certs.server_cert.read_bytes())],
                root_certificates=certs.ca.read_bytes() if require_client_cert else None,
                require_client_auth=require_client_cert,
            )
            port = self.server.add_secure_port("127.0.0.1:0", credentials)
        self.target = f"127.0.0.1:{port}"
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=None)


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.stop()


def test_tls_with_ca_file(certs: Certs) -> None:
    server = FakeServer(certs)
    try:
        with tokenbroker.Client(server.target, tls=TLS(ca_file=certs.ca), timeout=5) as client:
            assert client.get_access_token("x").access_token == "tok"
        # Without the test CA the server's certificate is not trusted.
        with tokenbroker.Client(server.target, tls=TLS(), retry=None, timeout=3) as untrusting:
            with pytest.raises(tokenbroker.UnavailableError):
                untrusting.get_access_token("x")
    finally:
        server.stop()


def test_mutual_tls_with_client_certificate(certs: Certs) -> None:
    server = FakeServer(certs, require_client_cert=True)
    try:
        mtls = TLS(ca_file=certs.ca, cert_file=certs.client_cert, key_file=certs.client_key)
        with tokenbroker.Client(server.target, tls=mtls, timeout=5) as client:
            assert client.get_access_token("x").access_token == "tok"
        with tokenbroker.Client(
            server.target, tls=TLS(ca_file=certs.ca), retry=None, timeout=3
        ) as no_cert:
            with pytest.raises(tokenbroker.UnavailableError):
                no_cert.get_access_token("x")
    finally:
        server.stop()


def test_tls_requires_cert_and_key_together(certs: Certs) -> None:
    with pytest.raises(ValueError, match="together"):
        TLS(ca_file=certs.ca, cert_file=certs.client_cert)


def test_caller_token_is_sent_as_bearer_metadata(fake: FakeServer) -> None:
    with tokenbroker.Client(fake.target, plaintext=True, caller_token="caller-secret") as client:
        client.get_access_token("x")

    assert fake.service.metadata[0]["authorization"] == "Bearer caller-secret"
    assert fake.service.metadata[0]["user-agent"].startswith("tokenbroker-python/")


def test_caller_token_file_is_reread_after_the_reload_interval(
    fake: FakeServer, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first\n")
    with tokenbroker.Client(
        fake.target, plaintext=True, caller_token_file=token_file, caller_token_reload=0
    ) as client:
        client.get_access_token("x")
        token_file.write_text("second-rotated\n")
        client.get_access_token("x")
        token_file.unlink()
        with pytest.raises(tokenbroker.UnauthenticatedError, match="caller_token_file"):
            client.get_access_token("x")

    assert [m["authorization"] for m in fake.service.metadata] == [
        "Bearer first",
        "Bearer second-rotated",
    ]  # the failed call sent nothing


def test_default_client_speaks_tls_and_never_falls_back(fake: FakeServer) -> None:
    # The fake server is plaintext on loopback: TLS is not inferred away from the address.
    with tokenbroker.Client(fake.target, retry=None, timeout=3) as client:
        assert not client.plaintext
        with pytest.raises(tokenbroker.UnavailableError):
            client.get_access_token("x")
    assert fake.service.times == []


async def test_async_client_sends_caller_token(fake: FakeServer) -> None:
    async with AsyncClient(fake.target, plaintext=True, caller_token="async-caller") as client:
        await client.get_access_token("x")

    assert fake.service.metadata[0]["authorization"] == "Bearer async-caller"


def test_unavailable_is_retried_with_growing_backoff(fake: FakeServer) -> None:
    fake.service.failures = 3
    with tokenbroker.Client(fake.target, plaintext=True) as client:  # the default policy
        token = client.get_access_token("x")

    assert token.access_token == "tok"
    t = fake.service.times
    gaps = [b - a for a, b in zip(t, t[1:])]
    assert len(gaps) == 3
    for gap, base in zip(gaps, (0.1, 0.2, 0.4)):
        # Waits are drawn from [b/2, b]; a loaded machine may make them
        # longer, so the upper bound is loose.
        assert base * 0.5 - 0.01 <= gap <= base + 0.75, gaps


def test_retries_are_bounded_by_max_attempts(fake: FakeServer) -> None:
    fake.service.failures = 10
    retry = RetryPolicy(max_attempts=3, initial_backoff=0.01)
    with tokenbroker.Client(fake.target, plaintext=True, retry=retry) as client:
        with pytest.raises(tokenbroker.UnavailableError) as info:
            client.get_access_token("x")

    err = info.value
    assert err.attempts == 3 and len(fake.service.times) == 3
    assert err.reason == "IMS_UNAVAILABLE" and err.http_status == 503
    assert err.message == "IMS is down"


def test_server_retry_delay_is_honoured(fake: FakeServer) -> None:
    fake.service.failures = 1
    fake.service.retry_delay = 0.5
    retry = RetryPolicy(max_attempts=2, initial_backoff=0.01)
    with tokenbroker.Client(fake.target, plaintext=True, retry=retry) as client:
        client.get_access_token("x")

    assert fake.service.times[1] - fake.service.times[0] >= 0.5


async def test_async_retries_unavailable(fake: FakeServer) -> None:
    fake.service.failures = 2
    retry = RetryPolicy(max_attempts=3, initial_backoff=0.01)
    async with AsyncClient(fake.target, plaintext=True, retry=retry) as client:
        token = await client.get_access_token("x")

    assert token.access_token == "tok" and len(fake.service.times) == 3


def test_per_call_deadline_overrides_client_default(fake: FakeServer) -> None:
    fake.service.delay = 3.0
    with tokenbroker.Client(fake.target, plaintext=True, timeout=30) as client:
        started = time.monotonic()
        with pytest.raises(tokenbroker.DeadlineExceededError):
            client.get_access_token("x", timeout=0.2)
        elapsed = time.monotonic() - started

    assert elapsed < 2.0  # well before the server would have answered


async def test_async_per_call_deadline(fake: FakeServer) -> None:
    fake.service.delay = 1.0
    async with AsyncClient(fake.target, plaintext=True) as client:
        with pytest.raises(tokenbroker.DeadlineExceededError):
            await client.get_access_token("x", timeout=0.2)


# -- a retry that the deadline ends: the UNAVAILABLE, not DEADLINE_EXCEEDED ----

_QUICK_RETRY = RetryPolicy(max_attempts=2, initial_backoff=0.01)


def _unavailable_then_hang(fake: FakeServer) -> None:
    """The next attempt fails UNAVAILABLE (RetryInfo 20 ms); the retry hangs for 1.5 s."""
    fake.service.times.clear()
    fake.service.failures = 1
    fake.service.retry_delay = 0.02
    fake.service.delay = 1.5


def _assert_is_the_unavailable(err: tokenbroker.TokenbrokerError, attempts: int) -> None:
    """The first attempt's UNAVAILABLE, counting the attempts made (`attempts`)."""
    assert isinstance(err, tokenbroker.UnavailableError), repr(err)
    assert err.message == "IMS is down" and err.reason == "IMS_UNAVAILABLE"
    assert err.retry_delay == pytest.approx(0.02) and err.attempts == attempts


def test_retry_that_runs_into_the_deadline_raises_the_unavailable(fake: FakeServer) -> None:
    with tokenbroker.Client(fake.target, plaintext=True, retry=_QUICK_RETRY) as client:
        client.get_access_token("x")  # connected: the first attempt below fails at once
        _unavailable_then_hang(fake)
        with pytest.raises(tokenbroker.TokenbrokerError) as info:
            client.get_access_token("x", timeout=0.3)

    _assert_is_the_unavailable(info.value, attempts=2)
    assert len(fake.service.times) == 2  # the retry was sent, and the deadline ended it


async def test_async_retry_that_runs_into_the_deadline_raises_the_unavailable(
    fake: FakeServer,
) -> None:
    async with AsyncClient(fake.target, plaintext=True, retry=_QUICK_RETRY) as client:
        await client.get_access_token("x")
        _unavailable_then_hang(fake)
        with pytest.raises(tokenbroker.TokenbrokerError) as info:
            await client.get_access_token("x", timeout=0.3)

    _assert_is_the_unavailable(info.value, attempts=2)
    assert len(fake.service.times) == 2


class _StalledClock:
    """Stands in for the SDK's `time` module: a backoff sleep returns at once
    but moves the clock on by 10 s more than asked, as if the machine had
    stalled, so the call's deadline passes during the wait."""

    def __init__(self) -> None:
        self.skew = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def monotonic(self) -> float:
        return time.monotonic() + self.skew

    def sleep(self, seconds: float) -> None:
        self.skew += seconds + 10.0


class _StalledAsyncio:
    """The same for the SDK's `asyncio` module (its `sleep`)."""

    def __init__(self, clock: _StalledClock) -> None:
        self.clock = clock

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)


def test_deadline_passing_during_the_backoff_raises_the_unavailable(
    fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokenbroker.client, "time", _StalledClock())
    _unavailable_then_hang(fake)
    with tokenbroker.Client(fake.target, plaintext=True, retry=_QUICK_RETRY) as client:
        with pytest.raises(tokenbroker.TokenbrokerError) as info:
            client.get_access_token("x", timeout=5)

    _assert_is_the_unavailable(info.value, attempts=1)
    assert len(fake.service.times) == 1  # the retry could not be sent


async def test_async_deadline_passing_during_the_backoff_raises_the_unavailable(
    fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _StalledClock()
    monkeypatch.setattr(tokenbroker.client, "time", clock)
    monkeypatch.setattr(tokenbroker.aio, "time", clock)
    monkeypatch.setattr(tokenbroker.aio, "asyncio", _StalledAsyncio(clock))
    _unavailable_then_hang(fake)
    async with AsyncClient(fake.target, plaintext=True, retry=_QUICK_RETRY) as client:
        with pytest.raises(tokenbroker.TokenbrokerError) as info:
            await client.get_access_token("x", timeout=5)

    _assert_is_the_unavailable(info.value, attempts=1)
    assert len(fake.service.times) == 1


def test_first_attempt_that_meets_the_deadline_stays_deadline_exceeded(
    fake: FakeServer,
) -> None:
    fake.service.delay = 1.5
    with tokenbroker.Client(fake.target, plaintext=True, retry=_QUICK_RETRY) as client:
        with pytest.raises(tokenbroker.DeadlineExceededError) as info:
            client.get_access_token("x", timeout=0.3)

    assert info.value.attempts == 1 and len(fake.service.times) == 1


# -- caller tokens against the real broker ------------------------------------


def test_real_broker_authorizes_caller_tokens(tmp_path: Path, stack: Stack) -> None:
    policy = write_policy(
        tmp_path / "policy.json",
        {"svc-admin": "admin-token", "svc-reader": "reader-token"},
        [
            {"identity": "svc-admin", "role": "admin"},
            {"identity": "svc-reader", "role": "reader", "integrations": ["pol-*"]},
        ],
    )
    reader_file = tmp_path / "reader-token"
    reader_file.write_text("reader-token\n")
    broker = start_broker(tmp_path, stack.emulator, f"--policy-file={policy}", name="broker-policy")
    try:
        with tokenbroker.Client(broker.target, plaintext=True, caller_token="admin-token") as admin:
            admin.create_integration("pol-a", oauth_integration(APP_CLIENT, APP_SECRET))
            admin.create_integration("other", oauth_integration(APP_CLIENT, APP_SECRET))
        with tokenbroker.Client(
            broker.target, plaintext=True, caller_token_file=reader_file
        ) as reader:
            token = reader.get_access_token("pol-a")
            with pytest.raises(tokenbroker.PermissionDeniedError):
                reader.get_access_token("other")
            with pytest.raises(tokenbroker.PermissionDeniedError):
                reader.create_integration("pol-b", oauth_integration(APP_CLIENT, APP_SECRET))
        with tokenbroker.Client(broker.target, plaintext=True) as anonymous:
            with pytest.raises(tokenbroker.UnauthenticatedError):
                anonymous.get_access_token("pol-a")
        with tokenbroker.Client(
            broker.target, plaintext=True, caller_token="not-a-known-token"
        ) as unknown:
            with pytest.raises(tokenbroker.UnauthenticatedError):
                unknown.get_access_token("pol-a")
    finally:
        broker.stop()

    assert token.access_token


# -- a broker restart and a new client -----------------------------------------

# Both clients get the same long reconnect backoff: grpc core keys a shared
# subchannel by target and channel arguments, so without a per-client pool the
# second client would inherit the first one's 60 s backoff deterministically.
_LONG_BACKOFF = [
    ("grpc.initial_reconnect_backoff_ms", 60_000),
    ("grpc.min_reconnect_backoff_ms", 60_000),
    ("grpc.max_reconnect_backoff_ms", 60_000),
]


def test_new_client_after_broker_restart_connects_at_once(tmp_path: Path, stack: Stack) -> None:
    broker = start_broker(tmp_path, stack.emulator, name="broker-restart")
    try:
        broker.stop()
        with tokenbroker.Client(
            broker.target, plaintext=True, retry=None, timeout=5, channel_options=_LONG_BACKOFF
        ) as before:
            # Connection refused: this client's subchannel enters reconnect backoff.
            with pytest.raises(tokenbroker.UnavailableError):
                before.get_access_token("x")
            broker.restart()  # the same port, listening again
            with tokenbroker.Client(
                broker.target,
                plaintext=True,
                retry=None,
                timeout=5,
                channel_options=_LONG_BACKOFF,
            ) as after:
                with pytest.raises(tokenbroker.NotFoundError):  # answered by the broker
                    after.get_access_token("x")
    finally:
        broker.stop()


async def test_new_async_client_after_broker_restart_connects_at_once(
    tmp_path: Path, stack: Stack
) -> None:
    broker = start_broker(tmp_path, stack.emulator, name="broker-restart-aio")
    try:
        broker.stop()
        async with AsyncClient(
            broker.target, plaintext=True, retry=None, timeout=5, channel_options=_LONG_BACKOFF
        ) as before:
            with pytest.raises(tokenbroker.UnavailableError):
                await before.get_access_token("x")
            broker.restart()
            async with AsyncClient(
                broker.target,
                plaintext=True,
                retry=None,
                timeout=5,
                channel_options=_LONG_BACKOFF,
            ) as after:
                with pytest.raises(tokenbroker.NotFoundError):
                    await after.get_access_token("x")
    finally:
        broker.stop()
