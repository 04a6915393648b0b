"""The asyncio client against the real broker and emulator."""

from __future__ import annotations

import asyncio

import grpc
import pytest

import tokenbroker
from tokenbroker.aio import AsyncClient

from conftest import APP_CLIENT, ROT_CLIENT
from harness import ORG


async def test_get_access_token_and_headers(aclient: AsyncClient) -> None:
    token = await aclient.get_access_token("app")
    headers = await aclient.get_request_headers("app")

    assert token.remaining() > 3600
    assert headers["Authorization"] == token.authorization
    assert headers["x-api-key"] == APP_CLIENT
    assert headers["x-gw-ims-org-id"] == ORG


async def test_concurrent_calls_share_one_channel(aclient: AsyncClient) -> None:
    tokens = await asyncio.gather(*(aclient.get_access_token("app") for _ in range(50)))

    assert len({t.access_token for t in tokens}) == 1


async def test_watch_receives_rotation(aclient: AsyncClient, rot: str) -> None:
    async with aclient.watch_access_tokens(rot, timeout=15) as watch:
        first = await watch.__anext__()
        second = await watch.__anext__()

    assert second.access_token != first.access_token
    assert second.issued_at < first.expires_at


async def test_token_source_follows_rotation(aclient: AsyncClient, rot: str) -> None:
    async with aclient.token_source(rot) as source:
        first = await source.token()
        rotated = await source.wait_for_update(first, timeout=6)
        headers = await source.headers()

    assert rotated is not None and rotated.access_token != first.access_token
    assert headers["Authorization"].startswith("Bearer ")
    assert headers["x-api-key"] == ROT_CLIENT


async def test_token_source_single_flight(
    aclient: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real = aclient.get_access_token

    async def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(aclient, "get_access_token", counting)
    async with aclient.token_source("app", watch=False) as source:
        tokens = await asyncio.gather(*(source.token() for _ in range(100)))

    assert calls == 1
    assert len({t.access_token for t in tokens}) == 1


async def test_errors_are_typed(aclient: AsyncClient) -> None:
    with pytest.raises(tokenbroker.NotFoundError):
        await aclient.get_access_token("does-not-exist")
    with pytest.raises(tokenbroker.FailedPreconditionError) as info:
        await aclient.get_access_token("bad")

    assert info.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert info.value.ims_error == "invalid_client"
    assert info.value.x_debug_id


async def test_list_integrations(aclient: AsyncClient) -> None:
    names = [i.name async for i in aclient.list_integrations(page_size=2)]

    assert {"integrations/app", "integrations/bad"} <= set(names)
