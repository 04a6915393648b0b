"""Adobe headers for `requests`: `session.auth = TokenbrokerAuth(source)`.

Needs the `requests` extra: `pip install "tokenbroker[requests]"`.
"""

from __future__ import annotations

import requests
import requests.auth

from ._deprecation import aliases as _aliases
from .token_source import TokenSource

__all__ = ["TokenbrokerAuth"]


class TokenbrokerAuth(requests.auth.AuthBase):
    """Sets `Authorization`, `x-api-key` (and `x-gw-ims-org-id` /
    `x-sandbox-name` where the integration has them) on every request, from a
    `TokenSource` (so the token comes from the process cache, refreshed ahead
    of expiry). Thread-safe, as the source is.

    Example::

        source = client.token_source("demo")
        session = requests.Session()
        session.auth = TokenbrokerAuth(source)
        session.get("https://platform.adobe.io/data/foundation/catalog/dataSets")
    """

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers.update(self.source.headers())
        return r


# Deprecated spellings (client/BEHAVIOUR.md: one brand spelling), kept for one minor version.
__getattr__ = _aliases(globals(), {"TokenBrokerAuth": "TokenbrokerAuth"})
