"""requests and httpx auth helpers, against a local HTTP server that records
the headers it receives (standing in for an Adobe API)."""

from __future__ import annotations

import http.server
import threading
from typing import Dict, Iterator, List

import httpx
import pytest
import requests

import tokenbroker
from tokenbroker.aio import AsyncClient
from tokenbroker.httpx_auth import TokenbrokerAuth as HttpxAuth
from tokenbroker.requests_auth import TokenbrokerAuth as RequestsAuth

from conftest import APP_CLIENT
from harness import ORG


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: List[Dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).received.append({k.lower(): v for k, v in self.headers.items()})
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[tuple]:
    _Recorder.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/data", _Recorder.received
    finally:
        server.shutdown()
        server.server_close()


def _check(received: Dict[str, str], token: tokenbroker.AccessToken) -> None:
    assert received["authorization"] == f"Bearer {token.access_token}"
    assert received["x-api-key"] == APP_CLIENT
    assert received["x-gw-ims-org-id"] == ORG


def test_requests_auth_sets_adobe_headers(client: tokenbroker.Client, api: tuple) -> None:
    url, received = api
    with client.token_source("app") as source, requests.Session() as session:
        session.auth = RequestsAuth(source)
        assert session.get(url, timeout=5).json() == {"ok": True}
        assert requests.get(url, auth=RequestsAuth(source), timeout=5).ok
        token = source.token()

    assert len(received) == 2
    for r in received:
        _check(r, token)


def test_httpx_sync_auth_sets_adobe_headers(client: tokenbroker.Client, api: tuple) -> None:
    url, received = api
    with client.token_source("app") as source:
        with httpx.Client(auth=HttpxAuth(source), timeout=5) as http:
            assert http.get(url).status_code == 200
        token = source.token()

    _check(received[0], token)


async def test_httpx_async_auth_with_async_source(aclient: AsyncClient, api: tuple) -> None:
    url, received = api
    async with aclient.token_source("app") as source:
        async with httpx.AsyncClient(auth=HttpxAuth(source), timeout=5) as http:
            for _ in range(3):
                assert (await http.get(url)).status_code == 200
        token = await source.token()

    assert len(received) == 3
    for r in received:
        _check(r, token)


async def test_httpx_async_auth_with_sync_source(client: tokenbroker.Client, api: tuple) -> None:
    url, received = api
    with client.token_source("app") as source:
        async with httpx.AsyncClient(auth=HttpxAuth(source), timeout=5) as http:
            assert (await http.get(url)).status_code == 200  # cold: fetched in a thread
            assert (await http.get(url)).status_code == 200  # warm: from the cache
        token = source.token()

    for r in received:
        _check(r, token)


def test_httpx_sync_client_rejects_async_source(aclient: AsyncClient, api: tuple) -> None:
    url, _ = api
    source = aclient.token_source("app")
    with httpx.Client(auth=HttpxAuth(source)) as http:
        with pytest.raises(TypeError, match="AsyncClient"):
            http.get(url)
