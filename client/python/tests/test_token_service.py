"""The sync client against the real broker and emulator."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import grpc
import pytest

import tokenbroker
from tokenbroker import RetryPolicy

from conftest import APP_CLIENT, Stack
from harness import ORG, client_entry, start_broker, start_emulator


def test_get_access_token_returns_valid_token(client: tokenbroker.Client) -> None:
    token = client.get_access_token("app")

    assert token.access_token
    assert token.token_type == "bearer"
    assert token.integration == "integrations/app"
    assert token.expire_time > datetime.now(timezone.utc)
    assert token.issue_time <= datetime.now(timezone.utc)
    assert token.remaining() > 3600
    assert token.access_token not in repr(token)


def test_get_access_token_accepts_resource_name_and_min_validity(
    client: tokenbroker.Client,
) -> None:
    token = client.get_access_token("integrations/app", min_remaining_validity=300)

    assert token.remaining() > 300


def test_get_request_headers_returns_adobe_headers(client: tokenbroker.Client) -> None:
    token = client.get_access_token("app")
    headers = client.get_request_headers("app")

    assert headers["Authorization"] == f"Bearer {token.access_token}"
    assert headers["x-api-key"] == APP_CLIENT
    assert headers["x-gw-ims-org-id"] == ORG
    assert headers.expire_time == token.expire_time
    assert token.access_token not in repr(headers)


def test_refresh_access_token_mints_new_token(client: tokenbroker.Client) -> None:
    before = client.get_access_token("app")
    refreshed = client.refresh_access_token("app")

    assert refreshed.access_token != before.access_token
    assert client.get_access_token("app").access_token == refreshed.access_token


def test_watch_receives_rotation_before_expiry(client: tokenbroker.Client, rot: str) -> None:
    # `rot` tokens live 3 s; the broker refreshes a watched token ahead of expiry.
    with client.watch_access_tokens(rot, timeout=15) as watch:
        first = next(watch)
        second = next(watch)

    assert second.access_token != first.access_token
    assert second.expires_at > first.expires_at
    assert second.issued_at < first.expires_at  # minted before its predecessor expired


def test_token_source_follows_rotation_without_polling(
    client: tokenbroker.Client, rot: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = client.get_access_token

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(client, "get_access_token", counting)
    seen = set()
    with client.token_source(rot) as source:
        # Polls until two rotations of 3 s tokens (each at ~2-2.25 s) were served.
        deadline = time.monotonic() + 10
        while len(seen) < 3:
            assert time.monotonic() < deadline, f"{len(seen)} tokens in 10 s, want 3"
            token = source.token()
            assert token.remaining() > 0, "an expired token was served"
            seen.add(token.access_token)
            time.sleep(0.01)  # the polling interval

    # Rotations arrive on the watch stream: on-demand fetches are rare (the
    # first call, and at most a few races with the stream).
    assert len(calls) <= 3, f"{len(calls)} GetAccessToken calls for {len(seen)} tokens"


def test_watch_after_lapsed_refresh_gets_successor(client: tokenbroker.Client, rot: str) -> None:
    with client.watch_access_tokens(rot, timeout=10) as watch:
        next(watch)
        last = next(watch)
    # Nobody watches or asks while the last token passes its refresh point
    # (at most 75 % of 3 s); attach again before it expires. Letting that time
    # pass unobserved is the scenario under test, not a synchronization.
    time.sleep(max(0.0, last.issued_at + 2.4 - time.time()))
    with client.watch_access_tokens(rot, timeout=3) as watch:
        first = next(watch)
        successor = next(watch)  # the bug: DEADLINE_EXCEEDED, nothing came

    assert successor.expires_at > first.expires_at


def test_token_source_without_stream_reasks_before_expiry(
    client: tokenbroker.Client, rot: str
) -> None:
    # The fallback path: no watch stream, so the source must fetch a new
    # token itself once the cached one is within its margin of expiry.
    seen = set()
    with client.token_source(rot, watch=False) as source:
        # Polls until the source has fetched a second token (a 3 s token lasts
        # at most 3 s: a successor must come within about that).
        deadline = time.monotonic() + 6
        while len(seen) < 2:
            assert time.monotonic() < deadline, "no second token within 6 s"
            token = source.token()
            assert token.remaining() > 0, "an expired token was served"
            seen.add(token.access_token)
            time.sleep(0.01)  # the polling interval


def test_token_source_headers_use_current_token(client: tokenbroker.Client) -> None:
    with client.token_source("app") as source:
        headers = source.headers()
        token = source.token()

    assert headers["Authorization"] == token.authorization
    assert headers["x-api-key"] == APP_CLIENT
    assert headers["x-gw-ims-org-id"] == ORG


def test_unknown_integration_raises_not_found(client: tokenbroker.Client) -> None:
    with pytest.raises(tokenbroker.NotFoundError) as info:
        client.get_access_token("does-not-exist")

    err = info.value
    assert err.code == grpc.StatusCode.NOT_FOUND
    assert err.domain == tokenbroker.ERROR_DOMAIN
    assert err.reason == "INTEGRATION_NOT_FOUND"
    assert "does-not-exist" in err.message
    assert err.attempts == 1  # NOT_FOUND is not retried


def test_rejected_secret_raises_failed_precondition_with_ims_details(
    client: tokenbroker.Client,
) -> None:
    with pytest.raises(tokenbroker.FailedPreconditionError) as info:
        client.get_access_token("bad")

    err = info.value
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "IMS_REJECTED"
    assert err.ims_error == "invalid_client"
    assert err.x_debug_id
    assert err.http_status == 401
    assert "wrong-secret" not in str(err)
    assert "invalid_client" in str(err) and err.x_debug_id in str(err)


def test_bad_name_raises_invalid_argument_naming_field(client: tokenbroker.Client) -> None:
    with pytest.raises(tokenbroker.InvalidArgumentError) as info:
        client.get_access_token("Not_A_Valid_Id")

    assert info.value.field == "name"


def test_ims_down_without_cached_token_raises_unavailable_after_retries(
    tmp_path, stack: Stack
) -> None:
    emulator = start_emulator(tmp_path, [client_entry("c9", "s9")])
    try:
        broker = start_broker(tmp_path, emulator, "--ims-max-attempts=1", name="broker-down")
        try:
            retry = RetryPolicy(max_attempts=3, initial_backoff=0.05, max_backoff=0.2)
            with tokenbroker.Client(
                broker.target, plaintext=True, retry=retry, timeout=10
            ) as client:
                from conftest import oauth_integration

                client.create_integration("down", oauth_integration("c9", "s9"))
                emulator.set_faults({"down": True})
                started = time.monotonic()
                with pytest.raises(tokenbroker.UnavailableError) as info:
                    client.get_access_token("down")
                elapsed = time.monotonic() - started
                emulator.set_faults({})
                token = client.get_access_token("down")  # IMS back: served again
        finally:
            broker.stop()
    finally:
        emulator.stop()

    err = info.value
    assert err.code == grpc.StatusCode.UNAVAILABLE
    assert err.attempts == 3
    assert elapsed < 8
    assert token.access_token


def test_unreachable_server_retries_within_deadline(tmp_path) -> None:
    import socket

    with socket.socket() as s:  # a loopback port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    retry = RetryPolicy(max_attempts=50, initial_backoff=0.05, max_backoff=0.2)
    with tokenbroker.Client(f"127.0.0.1:{port}", plaintext=True, retry=retry) as client:
        started = time.monotonic()
        with pytest.raises(tokenbroker.TokenbrokerError) as info:
            client.get_access_token("app", timeout=1.0)
        elapsed = time.monotonic() - started

    assert info.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert info.value.attempts > 1
    assert elapsed < 2.5  # the 1 s deadline bounds all attempts together (slack for load)


def test_watch_ends_with_not_found_when_integration_deleted(client: tokenbroker.Client) -> None:
    from conftest import APP_SECRET, oauth_integration

    client.create_integration("short-lived", oauth_integration(APP_CLIENT, APP_SECRET))
    with client.watch_access_tokens("short-lived", timeout=10) as watch:
        assert next(watch).access_token
        client.delete_integration("short-lived")
        with pytest.raises(tokenbroker.NotFoundError):
            next(watch)


def test_integration_service_round_trip(client: tokenbroker.Client) -> None:
    from conftest import APP_SECRET, oauth_integration

    created = client.create_integration("crud", oauth_integration(APP_CLIENT, APP_SECRET))
    assert created.name == "integrations/crud"
    assert not created.credentials.client_secrets  # input only
    assert created.credential_info.client_secret_fingerprints[0].startswith("sha256:")

    with pytest.raises(tokenbroker.AlreadyExistsError):
        client.create_integration("crud", oauth_integration(APP_CLIENT, APP_SECRET))

    names = [i.name for i in client.list_integrations(page_size=1)]  # pages of one
    assert {"integrations/app", "integrations/crud"} <= set(names)
    assert names == sorted(names)

    change = tokenbroker.Integration(name="integrations/crud", display_name="CRUD")
    updated = client.update_integration(change, ["display_name"])
    assert updated.display_name == "CRUD"
    assert client.get_integration("crud").display_name == "CRUD"

    with pytest.raises(tokenbroker.AbortedError):
        client.delete_integration("crud", etag=created.etag)  # stale etag
    client.delete_integration("crud", etag=updated.etag)
    with pytest.raises(tokenbroker.NotFoundError):
        client.get_integration("crud")
