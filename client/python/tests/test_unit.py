"""Pure logic: no sockets, no real time."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

import tokenbroker
from tokenbroker import _cache
from tokenbroker._errors import error_from_status
from tokenbroker.v1 import token_service_pb2


def _token(issued: float, expires: float, value: str = "t") -> tokenbroker.AccessToken:
    msg = token_service_pb2.AccessToken(
        access_token=value, token_type="bearer", integration="integrations/x"
    )
    msg.issue_time.FromNanoseconds(int(issued * 1e9))
    msg.expire_time.FromNanoseconds(int(expires * 1e9))
    return tokenbroker.AccessToken.from_proto(msg)


def test_backoff_is_drawn_from_half_to_whole_nominal_wait_and_capped() -> None:
    policy = tokenbroker.RetryPolicy()  # 100 ms doubling to 2 s, [b/2, b]

    assert policy.backoff(1, rand=lambda: 0.0) == pytest.approx(0.1)
    assert policy.backoff(1, rand=lambda: 1.0) == pytest.approx(0.05)
    assert policy.backoff(3, rand=lambda: 0.5) == pytest.approx(0.3)
    assert policy.backoff(10, rand=lambda: 0.0) == pytest.approx(2.0)  # capped
    assert policy.backoff(10, rand=lambda: 1.0) == pytest.approx(1.0)


def test_server_retry_delay_wins_only_when_longer() -> None:
    policy = tokenbroker.RetryPolicy()

    assert policy.backoff(1, server_delay=1.0, rand=lambda: 0.0) == pytest.approx(1.0)
    assert policy.backoff(5, server_delay=0.01, rand=lambda: 0.0) == pytest.approx(1.6)


def test_defaults_follow_the_client_contract() -> None:
    # client/BEHAVIOUR.md: TLS, 10 s, 4 attempts from 100 ms x2 capped at 2 s,
    # jitter [b/2, b], minimum validity unset, caller-token file read every 5 s.
    client = tokenbroker.Client("127.0.0.1:1")  # channels connect lazily: no I/O
    try:
        assert not client.plaintext and client.tls == tokenbroker.TLS()
        assert client.timeout == 10.0
        assert client.retry == tokenbroker.RetryPolicy(
            max_attempts=4, initial_backoff=0.1, multiplier=2.0, max_backoff=2.0, jitter=0.5
        )
        assert client.retry.retry_codes == {grpc.StatusCode.UNAVAILABLE}
        assert client.caller_token_reload == 5.0
        assert client.token_source("x").min_validity is None
    finally:
        client.close()


def test_watch_rearm_waits_from_200ms_to_30s() -> None:
    policy = _cache.WATCH_RECONNECT

    assert policy.backoff(1, rand=lambda: 0.0) == pytest.approx(0.2)
    assert policy.backoff(1, rand=lambda: 1.0) == pytest.approx(0.1)
    assert policy.backoff(100, rand=lambda: 0.0) == pytest.approx(30.0)


def test_plaintext_is_explicit_and_excludes_tls() -> None:
    with pytest.raises(ValueError, match="exclude"):
        tokenbroker.Client("127.0.0.1:1", plaintext=True, tls=tokenbroker.TLS())
    with tokenbroker.Client("127.0.0.1:1", plaintext=True) as client:
        assert client.plaintext and client.tls is None


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        tokenbroker.RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        tokenbroker.RetryPolicy(jitter=1.5)


def test_default_margin_is_60s_capped_at_tenth_of_lifetime() -> None:
    day = _token(0, 86400)
    short = _token(0, 3)

    assert _cache.margin(day, None) == 60
    assert _cache.margin(short, None) == pytest.approx(0.3)
    assert _cache.margin(day, 300) == 300


def test_is_fresh_until_margin_before_expiry() -> None:
    token = _token(1000, 1100)  # 100 s lifetime: margin 10 s

    assert _cache.is_fresh(token, 1089.9, None)
    assert not _cache.is_fresh(token, 1090.0, None)
    assert not _cache.is_fresh(None, 0, None)


def test_newer_never_replaces_a_later_token() -> None:
    old, new = _token(0, 100, "old"), _token(50, 150, "new")

    assert _cache.newer(new, old)
    assert not _cache.newer(old, new)
    assert _cache.newer(old, None)


def test_render_fills_authorization_and_keeps_order() -> None:
    headers = tokenbroker.RequestHeaders(
        [("Authorization", "Bearer a"), ("x-api-key", "k"), ("x-sandbox-name", "prod")], 100.0
    )
    template = _cache.header_template(headers)
    rendered = _cache.render(template, _token(0, 200, "b"))

    assert list(rendered.items()) == [
        ("Authorization", "Bearer b"),
        ("x-api-key", "k"),
        ("x-sandbox-name", "prod"),
    ]
    assert rendered.expires_at == 200
    assert "Bearer b" not in repr(rendered)


def _any(msg) -> any_pb2.Any:  # type: ignore[no-untyped-def]
    packed = any_pb2.Any()
    packed.Pack(msg)
    return packed


def test_error_from_status_reads_every_detail() -> None:
    status = status_pb2.Status(code=3, message="integration_id: must start with a letter")
    status.details.extend(
        [
            _any(
                error_details_pb2.ErrorInfo(
                    reason="INVALID_FIELD",
                    domain="tokenbroker.dev",
                    metadata={"field": "integration_id"},
                )
            ),
            _any(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field="integration_id", description="must start with a letter"
                        )
                    ]
                )
            ),
            _any(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2))),
        ]
    )
    err = error_from_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        "ignored",
        [("grpc-status-details-bin", status.SerializeToString())],
    )

    assert isinstance(err, tokenbroker.InvalidArgumentError)
    assert err.reason == "INVALID_FIELD" and err.domain == tokenbroker.ERROR_DOMAIN
    assert err.field == "integration_id"
    assert err.field_violations == (
        tokenbroker.FieldViolation("integration_id", "must start with a letter"),
    )
    assert err.retry_delay == 2.0
    assert err.message == "integration_id: must start with a letter"


def test_error_from_status_without_details_or_with_garbage() -> None:
    plain = error_from_status(grpc.StatusCode.UNAVAILABLE, "connect failed", [])
    garbage = error_from_status(
        grpc.StatusCode.INTERNAL, "boom", [("grpc-status-details-bin", b"\xff\x00garbage")]
    )
    unknown = error_from_status(grpc.StatusCode.DATA_LOSS, "lost", None)

    assert isinstance(plain, tokenbroker.UnavailableError) and plain.reason is None
    assert plain.ims_error is None and plain.x_debug_id is None and plain.http_status is None
    assert isinstance(garbage, tokenbroker.InternalError) and garbage.message == "boom"
    assert type(unknown) is tokenbroker.TokenbrokerError
    assert unknown.code == grpc.StatusCode.DATA_LOSS


def test_ims_details_are_exposed_and_printed() -> None:
    status = status_pb2.Status(code=9, message="IMS rejected the credentials")
    status.details.append(
        _any(
            error_details_pb2.ErrorInfo(
                reason="IMS_REJECTED",
                domain="tokenbroker.dev",
                metadata={
                    "ims_error": "invalid_client",
                    "x_debug_id": "dbg-1",
                    "http_status": "401",
                },
            )
        )
    )
    err = error_from_status(
        grpc.StatusCode.FAILED_PRECONDITION,
        "",
        [("grpc-status-details-bin", status.SerializeToString())],
    )

    assert isinstance(err, tokenbroker.FailedPreconditionError)
    assert (err.ims_error, err.x_debug_id, err.http_status) == ("invalid_client", "dbg-1", 401)
    assert str(err) == (
        "FAILED_PRECONDITION: IMS rejected the credentials "
        "(reason=IMS_REJECTED, ims_error=invalid_client, x_debug_id=dbg-1)"
    )


def test_caller_token_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        tokenbroker.CallerToken()
    with pytest.raises(ValueError):
        tokenbroker.CallerToken(token=" ")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(tokenbroker.UnauthenticatedError, match="empty"):
        tokenbroker.CallerToken(file=empty).get()
    with pytest.raises(ValueError, match="reload"):
        tokenbroker.CallerToken(file=empty, reload=-1)
    assert "secret" not in repr(tokenbroker.CallerToken(token="secret"))
    with pytest.raises(ValueError, match="not both"):
        tokenbroker.Client("127.0.0.1:1", caller_token="a", caller_token_file=empty)


def test_integration_name_normalisation() -> None:
    assert tokenbroker.integration_name("demo") == "integrations/demo"
    assert tokenbroker.integration_name("integrations/demo") == "integrations/demo"
    assert tokenbroker.is_valid_integration_id("a-1")
    assert not tokenbroker.is_valid_integration_id("1a")
    assert not tokenbroker.is_valid_integration_id("a-")
    assert not tokenbroker.is_valid_integration_id("a" * 64)


def test_library_logger_prints_nothing_in_an_application_without_logging_configured() -> None:
    # Python's last-resort handler writes a logger's warnings to stderr when no handler
    # is found; the library's NullHandler keeps an application's stderr quiet.
    program = (
        "import logging, tokenbroker\n"
        "logging.getLogger('tokenbroker').warning('watch of integrations/x failed; re-arming')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert run.stderr == ""
    assert any(
        isinstance(h, logging.NullHandler) for h in logging.getLogger("tokenbroker").handlers
    )


def test_old_spellings_still_work_with_a_deprecation_warning() -> None:
    from tokenbroker import httpx_auth, requests_auth

    with pytest.warns(DeprecationWarning, match="TokenBrokerError is deprecated"):
        assert tokenbroker.TokenBrokerError is tokenbroker.TokenbrokerError
    with pytest.warns(DeprecationWarning, match="use TokenbrokerAuth"):
        assert requests_auth.TokenBrokerAuth is requests_auth.TokenbrokerAuth
    with pytest.warns(DeprecationWarning, match="use TokenbrokerAuth"):
        assert httpx_auth.TokenBrokerAuth is httpx_auth.TokenbrokerAuth
    with pytest.raises(AttributeError):
        _ = tokenbroker.NoSuchName


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_caller_token_file_is_read_again_once_the_copy_is_older_than_reload(
    tmp_path: Path,
) -> None:
    path = tmp_path / "token"
    path.write_text("first\n")
    clock = FakeClock()
    token = tokenbroker.CallerToken(file=path, reload=5.0, clock=clock)

    assert token.get() == "first"
    path.write_text("second\n")
    clock.now += 4.9
    assert token.get() == "first"  # the copy in memory is still young enough
    clock.now += 0.1
    assert token.get() == "second"


def test_unreadable_caller_token_file_fails_unauthenticated_naming_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "token"
    path.write_text("secret-caller-token\n")
    clock = FakeClock()
    token = tokenbroker.CallerToken(file=path, reload=5.0, clock=clock)
    assert token.get() == "secret-caller-token"

    path.unlink()
    clock.now += 5.0
    with pytest.raises(tokenbroker.UnauthenticatedError) as info:
        token.get()
    assert str(path) in str(info.value) and "secret-caller-token" not in str(info.value)
    path.write_text("rotated\n")
    assert token.get() == "rotated"  # a failed read is not cached: the next call reads again


def test_access_token_from_proto_is_the_constructors_value() -> None:
    from datetime import datetime, timezone

    fast = _token(1000.5, 4600.25, "v")  # datetimes made on first use
    built = tokenbroker.AccessToken(
        access_token="v",
        token_type="bearer",
        issue_time=datetime.fromtimestamp(1000.5, timezone.utc),
        expire_time=datetime.fromtimestamp(4600.25, timezone.utc),
        integration="integrations/x",
        expires_at=4600.25,
        issued_at=1000.5,
    )

    assert fast == built and hash(fast) == hash(built) and repr(fast) == repr(built)
    assert fast.expire_time == datetime.fromtimestamp(4600.25, timezone.utc)
    with pytest.raises(AttributeError):
        _ = fast.no_such_field  # type: ignore[attr-defined]
