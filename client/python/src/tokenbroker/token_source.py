"""TokenSource: a process-local cache of one integration's token.

Design note. The broker already caches tokens and refreshes them ahead of
expiry; what a client process saves is the round trip. A TokenSource keeps
the latest token in memory and learns about new ones by following the
broker's WatchAccessTokens stream on a background thread, so in the steady
state `token()` is a memory read. When the stream is down (broker restart,
network) and the cached token comes within its margin of expiry, the next
caller asks GetAccessToken (one caller at a time; the others wait for its
answer), so an expired token is never served. The margin is `min_validity`,
or by default the server's own policy: 60 s, capped at 10 % of the token's
lifetime.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Callable, Optional

from . import _cache
from ._errors import TokenbrokerError
from ._options import Seconds, to_seconds
from ._types import AccessToken, RequestHeaders, integration_name

if TYPE_CHECKING:
    from .client import Client, TokenWatch

_log = logging.getLogger("tokenbroker")


class TokenSource:
    """The current access token (and request headers) of one integration,
    cached in the process and refreshed ahead of expiry. Thread-safe.

    Made by `Client.token_source()`. Call `close()` (or use it as a context
    manager) to stop its background watch; `Client.close()` does it too.

    Args:
        client: The client to call the broker with.
        integration: `id` or `integrations/id`.
        min_validity: Serve a cached token only while it has more than this
            left (seconds or timedelta), and ask the broker for at least that
            much. Default: 60 s capped at 10 % of the token's lifetime.
        watch: Follow the WatchAccessTokens stream (default). When False,
            tokens are fetched on demand only, when the cached one is stale.
        clock: Seconds since the epoch; for tests.
    """

    def __init__(
        self,
        client: "Client",
        integration: str,
        *,
        min_validity: Optional[Seconds] = None,
        watch: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self.integration = integration_name(integration)
        self._min_validity = to_seconds(min_validity)
        self._watch_enabled = watch
        self._clock = clock
        self.watch_restarts = 0  # watch streams that ended and were re-opened
        self._token: Optional[AccessToken] = None
        self._template: Optional[_cache.HeaderTemplate] = None
        self._fetch_lock = threading.Lock()  # single-flight of on-demand fetches
        self._state_lock = threading.Lock()
        self._closed = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._watch: Optional["TokenWatch"] = None
        self._updated = threading.Condition(self._state_lock)

    # -- public -------------------------------------------------------------

    def token(self) -> AccessToken:
        """A token with more than the margin left: the cached one, or one
        fetched now. Raises `TokenbrokerError` when none can be had."""
        token = self._token  # an atomic read: the fast path takes no lock
        if _cache.is_fresh(token, self._clock(), self._min_validity):
            assert token is not None
            return token
        if self._closed.is_set():
            raise RuntimeError("TokenSource is closed")
        self._start_watch()
        with self._fetch_lock:
            token = self._token
            if _cache.is_fresh(token, self._clock(), self._min_validity):
                assert token is not None
                return token
            fetched = self._client.get_access_token(
                self.integration, min_remaining_validity=self._min_validity
            )
            self._store(fetched)
            return fetched

    def headers(self) -> RequestHeaders:
        """The Adobe request headers with the current token: `Authorization`
        from `token()`, the others (x-api-key, org, sandbox) as the broker's
        GetRequestHeaders gave them (fetched once, and again whenever the
        watch stream is re-opened)."""
        token = self.token()
        template = self._template
        if template is None:
            headers = self._client.get_request_headers(
                self.integration, min_remaining_validity=self._min_validity
            )
            template = _cache.header_template(headers)
            self._template = template
        return _cache.render(template, token)

    @property
    def min_validity(self) -> Optional[float]:
        """The minimum validity in seconds; None: the server's rule (60 s,
        capped at 10 % of the token's lifetime)."""
        return self._min_validity

    def peek(self) -> Optional[AccessToken]:
        """The cached token if it is fresh, without any I/O; else None."""
        token = self._token
        return token if _cache.is_fresh(token, self._clock(), self._min_validity) else None

    def peek_headers(self) -> Optional[RequestHeaders]:
        """The headers from the cache only, or None when a call is needed."""
        token, template = self.peek(), self._template
        if token is None or template is None:
            return None
        return _cache.render(template, token)

    def wait_for_update(
        self, after: Optional[AccessToken], timeout: float
    ) -> Optional[AccessToken]:
        """Blocks until the cached token differs from `after` (or timeout);
        returns the cached token. Useful to observe rotations."""
        deadline = time.monotonic() + timeout
        with self._updated:
            while self._token is None or (
                after is not None and self._token.access_token == after.access_token
            ):
                left = deadline - time.monotonic()
                if left <= 0 or self._closed.is_set():
                    break
                self._updated.wait(left)
            return self._token

    def close(self) -> None:
        """Stops the watch stream and its thread. Idempotent."""
        self._closed.set()
        with self._state_lock:
            watch, thread = self._watch, self._thread
            self._updated.notify_all()
        if watch is not None:
            watch.cancel()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def __enter__(self) -> "TokenSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TokenSource({self.integration!r})"

    # -- internals ----------------------------------------------------------

    def _store(self, token: AccessToken) -> None:
        with self._updated:
            if _cache.newer(token, self._token):
                self._token = token
                self._updated.notify_all()

    def _start_watch(self) -> None:
        if not self._watch_enabled or self._thread is not None:
            return
        with self._state_lock:
            if self._thread is not None or self._closed.is_set():
                return
            self._thread = threading.Thread(
                target=self._watch_loop, name=f"tokenbroker-watch-{self.integration}", daemon=True
            )
            self._thread.start()

    def _watch_loop(self) -> None:
        failures = 0
        while not self._closed.is_set():
            why: object = "the server ended the stream"
            try:
                watch = self._client.watch_access_tokens(self.integration)
                with self._state_lock:
                    if self._closed.is_set():
                        watch.cancel()
                        return
                    self._watch = watch
                for token in watch:
                    failures = 0
                    self._store(token)
            except TokenbrokerError as e:
                why = e
            except Exception as e:  # never let the thread die silently
                why = f"{type(e).__name__}: {e}"
            if self._closed.is_set():
                return
            failures += 1
            self.watch_restarts += 1
            self._template = None  # re-read the per-integration headers too
            self._closed.wait(rearm_delay(self.integration, failures, why))


def rearm_delay(integration: str, failures: int, why: object) -> float:
    """Logs that the watch of `integration` ended (`failures` in a row since
    the last token) and returns how long to wait before re-opening it."""
    delay = _cache.WATCH_RECONNECT.backoff(failures)
    _log.warning(
        "tokenbroker: watch of %s ended (%s); re-opening in %.2f s", integration, why, delay
    )
    return delay
