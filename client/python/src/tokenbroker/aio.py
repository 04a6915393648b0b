"""The asyncio client (grpc.aio) and its token source.

The same API as `tokenbroker.Client` / `tokenbroker.TokenSource`, with
coroutines. Create the client inside a running event loop and use it from that
loop only (a grpc.aio channel belongs to one loop).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import (
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
)

import grpc
import grpc.aio
from google.protobuf import field_mask_pb2

from . import _cache
from ._errors import CancelledError, TokenbrokerError, error_from_rpc_error
from ._options import (
    DEFAULT_CALLER_TOKEN_RELOAD,
    DEFAULT_RETRY,
    DEFAULT_TIMEOUT,
    NO_RETRY,
    TLS,
    CallSettings,
    Metadata,
    PathLike,
    RetryPolicy,
    Seconds,
    default_target,
    to_seconds,
    transport,
)
from ._options import channel_options as make_channel_options
from ._types import (
    AccessToken,
    RequestHeaders,
    credential_file_bytes,
    duration_proto,
    integration_name,
    token_request,
    with_integration_name,
)
from .client import (
    DEFAULT,
    Timeout,
    deadline_error,
    final_error,
    next_delay,
    plan_deadline,
)
from .token_source import rearm_delay
from .v1 import (
    integration_pb2,
    integration_service_pb2,
    integration_service_pb2_grpc,
    token_service_pb2,
    token_service_pb2_grpc,
)

__all__ = ["AsyncClient", "AsyncTokenSource", "AsyncTokenWatch"]

T = TypeVar("T")
_log = logging.getLogger("tokenbroker")


class AsyncTokenWatch(AsyncIterator[AccessToken]):
    """The async counterpart of `tokenbroker.TokenWatch`: `async for` it;
    `cancel()` (or leaving an `async with` block) ends it quietly."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self._cancelled = False

    def __aiter__(self) -> "AsyncTokenWatch":
        return self

    async def __anext__(self) -> AccessToken:
        try:
            msg = await self._call.read()
        except asyncio.CancelledError:
            if self._cancelled:
                raise StopAsyncIteration from None
            raise
        except grpc.RpcError as e:
            err = error_from_rpc_error(e)
            if self._cancelled and isinstance(err, CancelledError):
                raise StopAsyncIteration from None
            raise err from e
        if msg is grpc.aio.EOF:
            raise StopAsyncIteration
        return AccessToken.from_proto(msg.token)

    def cancel(self) -> None:
        self._cancelled = True
        self._call.cancel()

    async def __aenter__(self) -> "AsyncTokenWatch":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cancel()


class AsyncClient:
    """An asyncio tokenbroker client; arguments as `tokenbroker.Client`."""

    def __init__(
        self,
        target: Optional[str] = None,
        *,
        plaintext: bool = False,
        tls: Optional[TLS] = None,
        caller_token: Optional[str] = None,
        caller_token_file: Optional[PathLike] = None,
        caller_token_reload: Seconds = DEFAULT_CALLER_TOKEN_RELOAD,
        timeout: Optional[Seconds] = DEFAULT_TIMEOUT,
        retry: Optional[RetryPolicy] = DEFAULT_RETRY,
        metadata: Metadata = (),
        channel_options: Sequence[Tuple[str, Any]] = (),
        channel: Optional[grpc.aio.Channel] = None,
    ) -> None:
        self._settings = CallSettings(
            caller_token=caller_token,
            caller_token_file=caller_token_file,
            caller_token_reload=caller_token_reload,
            timeout=timeout,
            retry=retry,
            metadata=metadata,
        )
        self.target = target or default_target()
        self._owns_channel = channel is None
        self.tls = transport(plaintext, tls)
        if channel is None:
            options = make_channel_options(self.tls, channel_options)
            if self.tls is None:
                channel = grpc.aio.insecure_channel(self.target, options)
            else:
                channel = grpc.aio.secure_channel(
                    self.target, self.tls.channel_credentials(), options
                )
        self._channel = channel
        self._tokens = token_service_pb2_grpc.TokenServiceStub(channel)
        self._integrations = integration_service_pb2_grpc.IntegrationServiceStub(channel)
        self._sources: "weakref.WeakSet[AsyncTokenSource]" = weakref.WeakSet()

    @property
    def plaintext(self) -> bool:
        return self.tls is None

    @property
    def timeout(self) -> Optional[float]:
        return self._settings.timeout

    @property
    def retry(self) -> RetryPolicy:
        return self._settings.retry

    @property
    def caller_token_reload(self) -> float:
        return self._settings.caller_token_reload

    @property
    def channel(self) -> grpc.aio.Channel:
        return self._channel

    async def close(self) -> None:
        """Stops the token sources made by `token_source()` and closes the channel."""
        for source in list(self._sources):
            await source.close()
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _call(
        self,
        method: Callable[..., Awaitable[T]],
        request: Any,
        timeout: Timeout,
        retry: bool = True,
    ) -> T:
        deadline = plan_deadline(self._settings, timeout)
        policy = self._settings.retry if retry else NO_RETRY
        attempt = 0
        retried: Optional[TokenbrokerError] = None  # the UNAVAILABLE this attempt retries
        while True:
            attempt += 1
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise final_error(deadline_error(attempt - 1), retried, deadline)
            try:
                return await method(request, timeout=remaining, metadata=self._settings.metadata())
            except grpc.RpcError as e:
                err = error_from_rpc_error(e, attempts=attempt)
                delay = next_delay(policy, attempt, err, deadline)
                if delay is None:
                    raise final_error(err, retried, deadline) from e
                retried = err if err.code == grpc.StatusCode.UNAVAILABLE else None
            await asyncio.sleep(delay)

    # -- TokenService -------------------------------------------------------

    async def get_access_token(
        self,
        integration: str,
        *,
        min_remaining_validity: Optional[Seconds] = None,
        timeout: Timeout = DEFAULT,
    ) -> AccessToken:
        """See `tokenbroker.Client.get_access_token`."""
        request = token_request(
            token_service_pb2.GetAccessTokenRequest, integration, to_seconds(min_remaining_validity)
        )
        response = await self._call(self._tokens.GetAccessToken, request, timeout)
        return AccessToken.from_proto(response.token)

    async def get_request_headers(
        self,
        integration: str,
        *,
        min_remaining_validity: Optional[Seconds] = None,
        timeout: Timeout = DEFAULT,
    ) -> RequestHeaders:
        """See `tokenbroker.Client.get_request_headers`."""
        request = token_request(
            token_service_pb2.GetRequestHeadersRequest,
            integration,
            to_seconds(min_remaining_validity),
        )
        response = await self._call(self._tokens.GetRequestHeaders, request, timeout)
        return RequestHeaders.from_proto(response)

    async def refresh_access_token(
        self, integration: str, *, timeout: Timeout = DEFAULT
    ) -> AccessToken:
        """See `tokenbroker.Client.refresh_access_token`."""
        request = token_service_pb2.RefreshAccessTokenRequest(name=integration_name(integration))
        response = await self._call(self._tokens.RefreshAccessToken, request, timeout)
        return AccessToken.from_proto(response.token)

    def watch_access_tokens(
        self, integration: str, *, timeout: Optional[Seconds] = None
    ) -> AsyncTokenWatch:
        """See `tokenbroker.Client.watch_access_tokens`."""
        request = token_service_pb2.WatchAccessTokensRequest(name=integration_name(integration))
        call = self._tokens.WatchAccessTokens(
            request, timeout=to_seconds(timeout), metadata=self._settings.metadata()
        )
        return AsyncTokenWatch(call)

    def token_source(
        self,
        integration: str,
        *,
        min_validity: Optional[Seconds] = None,
        watch: bool = True,
    ) -> "AsyncTokenSource":
        """See `AsyncTokenSource`. Closed by `close()` of this client."""
        source = AsyncTokenSource(self, integration, min_validity=min_validity, watch=watch)
        self._sources.add(source)
        return source

    # -- IntegrationService -------------------------------------------------

    async def create_integration(
        self,
        integration_id: str,
        integration: integration_pb2.Integration,
        *,
        timeout: Timeout = DEFAULT,
    ) -> integration_pb2.Integration:
        """See `tokenbroker.Client.create_integration`."""
        request = integration_service_pb2.CreateIntegrationRequest(
            integration_id=integration_id, integration=integration
        )
        response = await self._call(
            self._integrations.CreateIntegration, request, timeout, retry=False
        )
        return response.integration

    async def get_integration(
        self, integration: str, *, timeout: Timeout = DEFAULT
    ) -> integration_pb2.Integration:
        request = integration_service_pb2.GetIntegrationRequest(name=integration_name(integration))
        response = await self._call(self._integrations.GetIntegration, request, timeout)
        return response.integration

    async def list_integrations(
        self, *, page_size: int = 0, timeout: Timeout = DEFAULT
    ) -> AsyncIterator[integration_pb2.Integration]:
        token = ""
        while True:
            request = integration_service_pb2.ListIntegrationsRequest(
                page_size=page_size, page_token=token
            )
            response = await self._call(self._integrations.ListIntegrations, request, timeout)
            for integration in response.integrations:
                yield integration
            token = response.next_page_token
            if not token:
                return

    async def update_integration(
        self,
        integration: integration_pb2.Integration,
        update_mask: Sequence[str],
        *,
        timeout: Timeout = DEFAULT,
    ) -> integration_pb2.Integration:
        """See `tokenbroker.Client.update_integration`."""
        request = integration_service_pb2.UpdateIntegrationRequest(
            integration=with_integration_name(integration),
            update_mask=field_mask_pb2.FieldMask(paths=list(update_mask)),
        )
        response = await self._call(
            self._integrations.UpdateIntegration, request, timeout, retry=False
        )
        return response.integration

    async def delete_integration(
        self, integration: str, *, etag: str = "", timeout: Timeout = DEFAULT
    ) -> None:
        request = integration_service_pb2.DeleteIntegrationRequest(
            name=integration_name(integration), etag=etag
        )
        await self._call(self._integrations.DeleteIntegration, request, timeout, retry=False)

    async def import_integrations(
        self,
        credential_file: bytes,
        *,
        integration_id: str = "",
        credential_name: str = "",
        validate_only: bool = False,
        allow_update: bool = False,
        secret_rotation_period: Optional[Seconds] = None,
        timeout: Timeout = DEFAULT,
    ) -> integration_service_pb2.ImportIntegrationsResponse:
        """See `tokenbroker.Client.import_integrations`. Not retried.
        Raises InvalidArgumentError, AlreadyExistsError, NotFoundError,
        FailedPreconditionError, AbortedError, PermissionDeniedError."""
        request = integration_service_pb2.ImportIntegrationsRequest(
            credential_file=credential_file_bytes(credential_file),
            integration_id=integration_id,
            credential_name=credential_name,
            validate_only=validate_only,
            allow_update=allow_update,
            secret_rotation_period=duration_proto(to_seconds(secret_rotation_period)),
        )
        return await self._call(
            self._integrations.ImportIntegrations, request, timeout, retry=False
        )

    async def list_client_secrets(
        self, integration: str, *, timeout: Timeout = DEFAULT
    ) -> integration_service_pb2.ListClientSecretsResponse:
        """See `tokenbroker.Client.list_client_secrets`. Retried on UNAVAILABLE.
        Raises InvalidArgumentError, NotFoundError, FailedPreconditionError,
        UnavailableError, PermissionDeniedError."""
        request = integration_service_pb2.ListClientSecretsRequest(
            parent=integration_name(integration)
        )
        return await self._call(self._integrations.ListClientSecrets, request, timeout)

    async def rotate_client_secret(
        self, integration: str, *, immediate: bool = False, timeout: Timeout = DEFAULT
    ) -> integration_service_pb2.RotateClientSecretResponse:
        """See `tokenbroker.Client.rotate_client_secret`. Retried on UNAVAILABLE
        (the server resumes the rotation). Raises as `list_client_secrets`,
        and AbortedError."""
        request = integration_service_pb2.RotateClientSecretRequest(
            parent=integration_name(integration), immediate=immediate
        )
        return await self._call(self._integrations.RotateClientSecret, request, timeout)

    async def migrate_integration(
        self,
        integration: str,
        scopes: Sequence[str],
        *,
        client_secret: str = "",
        etag: str = "",
        timeout: Timeout = DEFAULT,
    ) -> integration_pb2.Integration:
        """See `tokenbroker.Client.migrate_integration`. Not retried.
        Raises InvalidArgumentError, NotFoundError, FailedPreconditionError,
        UnavailableError, AbortedError, PermissionDeniedError."""
        request = integration_service_pb2.MigrateIntegrationRequest(
            name=integration_name(integration),
            scopes=list(scopes),
            client_secret=client_secret,
            etag=etag,
        )
        response = await self._call(
            self._integrations.MigrateIntegration, request, timeout, retry=False
        )
        return response.integration


class AsyncTokenSource:
    """The asyncio counterpart of `tokenbroker.TokenSource` (same caching and
    refresh rules, see its module note): a background task follows the watch
    stream; on-demand fetches are single-flight through an asyncio.Lock.
    Safe to share between the tasks of one event loop."""

    def __init__(
        self,
        client: AsyncClient,
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
        self._lock: Optional[asyncio.Lock] = None
        self._task: Optional["asyncio.Task[None]"] = None
        self._watch: Optional[AsyncTokenWatch] = None
        self._closed = False
        self._updated: Optional[asyncio.Event] = None

    @property
    def min_validity(self) -> Optional[float]:
        """The minimum validity in seconds; None: the server's rule (60 s,
        capped at 10 % of the token's lifetime)."""
        return self._min_validity

    def peek(self) -> Optional[AccessToken]:
        """The cached token if it is fresh, without any I/O; else None.
        (Lets synchronous code, e.g. an httpx auth flow, use the cache.)"""
        token = self._token
        return token if _cache.is_fresh(token, self._clock(), self._min_validity) else None

    async def token(self) -> AccessToken:
        """See `tokenbroker.TokenSource.token`."""
        token = self._token
        if _cache.is_fresh(token, self._clock(), self._min_validity):
            assert token is not None
            return token
        if self._closed:
            raise RuntimeError("AsyncTokenSource is closed")
        self._start_watch()
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            token = self._token
            if _cache.is_fresh(token, self._clock(), self._min_validity):
                assert token is not None
                return token
            fetched = await self._client.get_access_token(
                self.integration, min_remaining_validity=self._min_validity
            )
            self._store(fetched)
            return fetched

    async def headers(self) -> RequestHeaders:
        """See `tokenbroker.TokenSource.headers`."""
        token = await self.token()
        template = self._template
        if template is None:
            headers = await self._client.get_request_headers(
                self.integration, min_remaining_validity=self._min_validity
            )
            template = _cache.header_template(headers)
            self._template = template
        return _cache.render(template, token)

    def peek_headers(self) -> Optional[RequestHeaders]:
        """The headers from the cache only, or None when a call is needed."""
        token, template = self.peek(), self._template
        if token is None or template is None:
            return None
        return _cache.render(template, token)

    async def wait_for_update(
        self, after: Optional[AccessToken], timeout: float
    ) -> Optional[AccessToken]:
        """Waits until the cached token differs from `after` (or timeout)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._token is None or (
            after is not None and self._token.access_token == after.access_token
        ):
            left = deadline - loop.time()
            if left <= 0 or self._closed:
                break
            if self._updated is None:
                self._updated = asyncio.Event()
            self._updated.clear()
            try:
                await asyncio.wait_for(self._updated.wait(), left)
            except asyncio.TimeoutError:
                break
        return self._token

    async def close(self) -> None:
        """Stops the watch task. Idempotent."""
        self._closed = True
        if self._watch is not None:
            self._watch.cancel()
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    async def __aenter__(self) -> "AsyncTokenSource":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncTokenSource({self.integration!r})"

    def _store(self, token: AccessToken) -> None:
        if _cache.newer(token, self._token):
            self._token = token
            if self._updated is not None:
                self._updated.set()

    def _start_watch(self) -> None:
        if self._watch_enabled and self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(
                self._watch_loop(), name=f"tokenbroker-watch-{self.integration}"
            )

    async def _watch_loop(self) -> None:
        failures = 0
        while not self._closed:
            why: object = "the server ended the stream"
            try:
                self._watch = self._client.watch_access_tokens(self.integration)
                async for token in self._watch:
                    failures = 0
                    self._store(token)
            except TokenbrokerError as e:
                why = e
            except asyncio.CancelledError:
                raise
            except Exception as e:
                why = f"{type(e).__name__}: {e}"
            if self._closed:
                return
            failures += 1
            self.watch_restarts += 1
            self._template = None
            await asyncio.sleep(rearm_delay(self.integration, failures, why))
