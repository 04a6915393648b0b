"""Adobe headers for `httpx` (sync and async clients).

Needs the `httpx` extra: `pip install "tokenbroker[httpx]"`.
"""

from __future__ import annotations

from typing import AsyncGenerator, Generator, Optional, Union

import anyio.to_thread
import httpx

from ._deprecation import aliases as _aliases
from ._types import RequestHeaders
from .aio import AsyncTokenSource
from .token_source import TokenSource

__all__ = ["TokenbrokerAuth"]


class TokenbrokerAuth(httpx.Auth):
    """Sets the Adobe headers (`Authorization`, `x-api-key`, and
    `x-gw-ims-org-id` / `x-sandbox-name` where configured) on every request.

    With an `AsyncTokenSource` it serves `httpx.AsyncClient`; with a
    `TokenSource` it serves `httpx.Client`, and also `httpx.AsyncClient`
    (cached headers are used directly; a fetch, when one is needed, runs in a
    worker thread so the event loop is not blocked).

    Example::

        source = client.token_source("demo")
        with httpx.Client(auth=TokenbrokerAuth(source)) as http:
            http.get("https://platform.adobe.io/data/foundation/catalog/dataSets")
    """

    def __init__(self, source: Union[TokenSource, AsyncTokenSource]) -> None:
        self.source = source

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        if not isinstance(self.source, TokenSource):
            raise TypeError(
                "TokenbrokerAuth with an AsyncTokenSource works with httpx.AsyncClient only; "
                "use a TokenSource (tokenbroker.Client.token_source) with httpx.Client"
            )
        request.headers.update(self.source.headers())
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        source = self.source
        headers: Optional[RequestHeaders]
        if isinstance(source, AsyncTokenSource):
            headers = await source.headers()
        else:
            headers = source.peek_headers()
            if headers is None:
                headers = await anyio.to_thread.run_sync(source.headers)
        request.headers.update(headers)
        yield request


# Deprecated spellings (client/BEHAVIOUR.md: one brand spelling), kept for one minor version.
__getattr__ = _aliases(globals(), {"TokenBrokerAuth": "TokenbrokerAuth"})
