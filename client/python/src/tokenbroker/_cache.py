"""Decisions shared by TokenSource and AsyncTokenSource: pure functions of
their inputs (`now` is a parameter), so they are tested without a clock."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from ._options import RetryPolicy
from ._types import AccessToken, RequestHeaders

#: The margin used when the caller sets no `min_validity`: the server's
#: default `--min-validity` (60 s) ...
DEFAULT_MARGIN = 60.0
#: ... capped at this fraction of the token's lifetime, as the server does.
DEFAULT_MARGIN_FRACTION = 0.1

#: How a token source re-opens a watch stream that ended: forever, waiting
#: from 200 ms doubling to 30 s, each wait drawn from [b/2, b]; reset once a
#: token arrives.
WATCH_RECONNECT = RetryPolicy(
    max_attempts=2**31 - 1, initial_backoff=0.2, max_backoff=30.0, multiplier=2.0, jitter=0.5
)


def margin(token: AccessToken, min_validity: Optional[float]) -> float:
    """Seconds before expiry at which a cached token stops being served."""
    if min_validity is not None:
        return min_validity
    return min(DEFAULT_MARGIN, DEFAULT_MARGIN_FRACTION * token.lifetime)


def is_fresh(token: Optional[AccessToken], now: float, min_validity: Optional[float]) -> bool:
    """Whether `token` may be served at `now` without asking the broker."""
    return token is not None and token.expires_at - now > margin(token, min_validity)


def newer(candidate: AccessToken, current: Optional[AccessToken]) -> bool:
    """Whether `candidate` should replace `current` (a late answer must not
    replace a token that expires later)."""
    return current is None or candidate.expires_at >= current.expires_at


HeaderTemplate = List[Tuple[str, str]]


def header_template(headers: RequestHeaders) -> HeaderTemplate:
    """The per-integration headers (x-api-key, org, sandbox) in server order;
    the Authorization value is filled in per token by `render`."""
    template = [(k, "" if k.lower() == "authorization" else v) for k, v in headers.items()]
    if not any(k.lower() == "authorization" for k, _ in template):
        template.insert(0, ("Authorization", ""))
    return template


def render(template: Sequence[Tuple[str, str]], token: AccessToken) -> RequestHeaders:
    auth = token.authorization
    return RequestHeaders(
        ((k, auth if k.lower() == "authorization" else v) for k, v in template),
        token.expires_at,
    )
