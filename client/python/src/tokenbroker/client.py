"""The synchronous client (grpc, thread-safe)."""

from __future__ import annotations

import enum
import threading
import time
import weakref
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Iterator,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

import grpc
from google.protobuf import field_mask_pb2

from ._errors import (
    CancelledError,
    DeadlineExceededError,
    TokenbrokerError,
    error_from_rpc_error,
)
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
from ._options import (
    channel_options as make_channel_options,
)
from ._types import (
    AccessToken,
    RequestHeaders,
    credential_file_bytes,
    duration_proto,
    integration_name,
    token_request,
    with_integration_name,
)
from .v1 import (
    integration_pb2,
    integration_service_pb2,
    integration_service_pb2_grpc,
    token_service_pb2,
    token_service_pb2_grpc,
)

if TYPE_CHECKING:
    from .token_source import TokenSource

T = TypeVar("T")


class _Default(enum.Enum):
    DEFAULT = 0


#: "Use the client's setting" (the default of every per-call `timeout`).
DEFAULT = _Default.DEFAULT
Timeout = Union[Seconds, None, _Default]


def plan_deadline(settings: CallSettings, timeout: Timeout) -> Optional[float]:
    """The call's overall deadline on the monotonic clock, or None."""
    seconds = settings.timeout if isinstance(timeout, _Default) else to_seconds(timeout)
    return None if seconds is None else time.monotonic() + seconds


def next_delay(
    policy: RetryPolicy, attempt: int, err: TokenbrokerError, deadline: Optional[float]
) -> Optional[float]:
    """Seconds to sleep before the next attempt, or None to give up on `err`."""
    if err.code not in policy.retry_codes or attempt >= policy.max_attempts:
        return None
    delay = policy.backoff(attempt, err.retry_delay)
    if deadline is not None and time.monotonic() + delay >= deadline:
        return None
    return delay


def deadline_error(attempts: int) -> DeadlineExceededError:
    return DeadlineExceededError(
        "deadline exceeded before the call could be sent", attempts=attempts
    )


def final_error(
    err: TokenbrokerError, retried: Optional[TokenbrokerError], deadline: Optional[float]
) -> TokenbrokerError:
    """What a call that gives up on `err` raises: `retried`, the UNAVAILABLE this
    attempt retried, when it is the call's deadline that ended the attempt (it
    passed during the wait, or the attempt ran into it), else `err`."""
    ended = deadline is not None and time.monotonic() >= deadline
    if retried is not None and ended and err.code == grpc.StatusCode.DEADLINE_EXCEEDED:
        retried.attempts = err.attempts  # the attempts made, the cut one included
        return retried
    return err


class TokenWatch(Iterator[AccessToken]):
    """The tokens of a `WatchAccessTokens` stream: the current token, then each
    new one as the broker mints it. Iterate it; `cancel()` (or leaving a `with`
    block) ends the stream, after which iteration stops quietly. Errors are
    raised as `TokenbrokerError` (NOT_FOUND once the integration is deleted).
    """

    def __init__(self, call: Any) -> None:
        self._call = call
        self._cancelled = False

    def __iter__(self) -> "TokenWatch":
        return self

    def __next__(self) -> AccessToken:
        try:
            msg = next(self._call)
        except grpc.RpcError as e:
            err = error_from_rpc_error(e)
            if self._cancelled and isinstance(err, CancelledError):
                raise StopIteration from None
            raise err from e
        return AccessToken.from_proto(msg.token)

    def cancel(self) -> None:
        self._cancelled = True
        self._call.cancel()

    def __enter__(self) -> "TokenWatch":
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


class Client:
    """A synchronous tokenbroker client. Thread-safe: share one per process.

    Args:
        target: `host:port` of the broker; default `$TOKENBROKER_SERVER`,
            else `127.0.0.1:50051`.
        plaintext: No transport security: only for a broker on loopback or a
            Unix socket (tokens and caller tokens then cross the wire in
            clear). Never inferred from the target; excludes `tls`.
        tls: TLS settings (server CA, client certificate for mTLS, expected
            name); default `TLS()`: the system roots, the target's host.
        caller_token: Sent on every call as `authorization: Bearer ...`.
        caller_token_file: The same, read from a file, and read again once the
            copy in memory is older than `caller_token_reload` (seconds,
            default 5). An unreadable file fails calls with UnauthenticatedError.
        timeout: Default deadline of each unary call in seconds, across all its
            retry attempts; None: no deadline. Each method takes `timeout=` too.
        retry: Retries of UNAVAILABLE (see `RetryPolicy`); None: no retries.
        metadata: Extra metadata sent on every call.
        channel_options: Extra gRPC channel arguments.
        channel: Use this channel instead of creating one (its security is then
            the channel's own; `target`, `tls` and `channel_options` are unused).
            The client does not close a channel it did not create.
    """

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
        channel: Optional[grpc.Channel] = None,
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
                channel = grpc.insecure_channel(self.target, options)
            else:
                channel = grpc.secure_channel(self.target, self.tls.channel_credentials(), options)
        self._channel = channel
        self._tokens = token_service_pb2_grpc.TokenServiceStub(channel)
        self._integrations = integration_service_pb2_grpc.IntegrationServiceStub(channel)
        self._sources: "weakref.WeakSet[TokenSource]" = weakref.WeakSet()
        self._lock = threading.Lock()

    @property
    def plaintext(self) -> bool:
        """Whether the client's own channel has no transport security."""
        return self.tls is None

    @property
    def timeout(self) -> Optional[float]:
        """The default deadline of each unary call, in seconds (None: none)."""
        return self._settings.timeout

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of unary calls."""
        return self._settings.retry

    @property
    def caller_token_reload(self) -> float:
        """Seconds a read of `caller_token_file` stays in use."""
        return self._settings.caller_token_reload

    @property
    def channel(self) -> grpc.Channel:
        """The underlying channel, e.g. for other services on the same server."""
        return self._channel

    def close(self) -> None:
        """Stops the token sources made by `token_source()` and closes the channel."""
        with self._lock:
            sources = list(self._sources)
        for source in sources:
            source.close()
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls --------------------------------------------------------------

    def _call(
        self, method: Callable[..., T], request: Any, timeout: Timeout, retry: bool = True
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
                return method(request, timeout=remaining, metadata=self._settings.metadata())
            except grpc.RpcError as e:
                err = error_from_rpc_error(e, attempts=attempt)
                delay = next_delay(policy, attempt, err, deadline)
                if delay is None:
                    raise final_error(err, retried, deadline) from e
                retried = err if err.code == grpc.StatusCode.UNAVAILABLE else None
            time.sleep(delay)

    # -- TokenService -------------------------------------------------------

    def get_access_token(
        self,
        integration: str,
        *,
        min_remaining_validity: Optional[Seconds] = None,
        timeout: Timeout = DEFAULT,
    ) -> AccessToken:
        """A valid access token of `integration` (`id` or `integrations/id`)
        from the broker's cache, valid for at least `min_remaining_validity`
        (default: the server's `--min-validity`).

        Raises: InvalidArgumentError, NotFoundError, FailedPreconditionError
        (disabled, or IMS rejected the credentials: see `ims_error`,
        `x_debug_id`), UnavailableError, DeadlineExceededError.
        """
        request = token_request(
            token_service_pb2.GetAccessTokenRequest, integration, to_seconds(min_remaining_validity)
        )
        response = self._call(self._tokens.GetAccessToken, request, timeout)
        return AccessToken.from_proto(response.token)

    def get_request_headers(
        self,
        integration: str,
        *,
        min_remaining_validity: Optional[Seconds] = None,
        timeout: Timeout = DEFAULT,
    ) -> RequestHeaders:
        """The headers an Adobe API call needs, as a dict. Raises as
        `get_access_token`."""
        request = token_request(
            token_service_pb2.GetRequestHeadersRequest,
            integration,
            to_seconds(min_remaining_validity),
        )
        response = self._call(self._tokens.GetRequestHeaders, request, timeout)
        return RequestHeaders.from_proto(response)

    def refresh_access_token(self, integration: str, *, timeout: Timeout = DEFAULT) -> AccessToken:
        """Has the broker mint a new token now (joining one in flight). Use it
        when an Adobe API rejected a token the broker still considers valid.
        Raises as `get_access_token`."""
        request = token_service_pb2.RefreshAccessTokenRequest(name=integration_name(integration))
        response = self._call(self._tokens.RefreshAccessToken, request, timeout)
        return AccessToken.from_proto(response.token)

    def watch_access_tokens(
        self, integration: str, *, timeout: Optional[Seconds] = None
    ) -> TokenWatch:
        """Streams the current token, then every new one (see `TokenWatch`).
        `timeout` bounds the whole stream (default: none). Not retried:
        `TokenSource` re-opens the stream itself."""
        request = token_service_pb2.WatchAccessTokensRequest(name=integration_name(integration))
        call = self._tokens.WatchAccessTokens(
            request, timeout=to_seconds(timeout), metadata=self._settings.metadata()
        )
        return TokenWatch(call)

    def token_source(
        self,
        integration: str,
        *,
        min_validity: Optional[Seconds] = None,
        watch: bool = True,
    ) -> "TokenSource":
        """A cached, self-refreshing token source of `integration`; see
        `TokenSource`. Closed by `close()` of this client."""
        from .token_source import TokenSource

        source = TokenSource(self, integration, min_validity=min_validity, watch=watch)
        with self._lock:
            self._sources.add(source)
        return source

    # -- IntegrationService -------------------------------------------------

    def create_integration(
        self,
        integration_id: str,
        integration: integration_pb2.Integration,
        *,
        timeout: Timeout = DEFAULT,
    ) -> integration_pb2.Integration:
        """Registers an integration (with `credentials` set). Not retried.
        Raises InvalidArgumentError (`field` names the field), AlreadyExistsError."""
        request = integration_service_pb2.CreateIntegrationRequest(
            integration_id=integration_id, integration=integration
        )
        response = self._call(self._integrations.CreateIntegration, request, timeout, retry=False)
        return response.integration

    def get_integration(
        self, integration: str, *, timeout: Timeout = DEFAULT
    ) -> integration_pb2.Integration:
        """One integration, without secrets. Raises NotFoundError."""
        request = integration_service_pb2.GetIntegrationRequest(name=integration_name(integration))
        return self._call(self._integrations.GetIntegration, request, timeout).integration

    def list_integrations(
        self, *, page_size: int = 0, timeout: Timeout = DEFAULT
    ) -> Iterator[integration_pb2.Integration]:
        """Every integration in id order, fetching pages as needed (`timeout`
        applies to each page)."""
        token = ""
        while True:
            request = integration_service_pb2.ListIntegrationsRequest(
                page_size=page_size, page_token=token
            )
            response = self._call(self._integrations.ListIntegrations, request, timeout)
            yield from response.integrations
            token = response.next_page_token
            if not token:
                return

    def update_integration(
        self,
        integration: integration_pb2.Integration,
        update_mask: Sequence[str],
        *,
        timeout: Timeout = DEFAULT,
    ) -> integration_pb2.Integration:
        """Changes the fields named in `update_mask` of `integration` (its
        `name` set; its `etag` checked when set). Not retried. Raises
        InvalidArgumentError, NotFoundError, AbortedError. `integration.name`
        may be an id; `integration` itself is not modified."""
        request = integration_service_pb2.UpdateIntegrationRequest(
            integration=with_integration_name(integration),
            update_mask=field_mask_pb2.FieldMask(paths=list(update_mask)),
        )
        response = self._call(self._integrations.UpdateIntegration, request, timeout, retry=False)
        return response.integration

    def delete_integration(
        self, integration: str, *, etag: str = "", timeout: Timeout = DEFAULT
    ) -> None:
        """Deletes an integration, its secrets and tokens. Not retried.
        Raises NotFoundError, AbortedError (etag mismatch)."""
        request = integration_service_pb2.DeleteIntegrationRequest(
            name=integration_name(integration), etag=etag
        )
        self._call(self._integrations.DeleteIntegration, request, timeout, retry=False)

    def import_integrations(
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
        """Creates (or, with `allow_update`, replaces) one integration per
        credential of an Adobe Developer Console "Download JSON" file or an AEM
        service credential, all or none. Not retried.

        Args:
            credential_file: The file's content (bytes, e.g.
                `Path("Billing.json").read_bytes()`); its secrets are stored,
                never returned.
            integration_id: The id to create (one credential only); default:
                derived from the credential's name.
            credential_name: Import only the credential of this name.
            validate_only: Write nothing; the response shows what would be.
            allow_update: Replace integrations that exist (same auth method)
                instead of failing with AlreadyExistsError.
            secret_rotation_period: The rotation period of every imported
                integration (0: never); None: the server's.

        Returns the `ImportIntegrationsResponse`: `imported` (each with its
        `integration`, `action` and `json_path`) and `skipped` credentials.

        Raises: InvalidArgumentError (the file: the message names the JSON
        path), AlreadyExistsError, NotFoundError (`credential_name` matches
        none), FailedPreconditionError (`allow_update` of another auth method),
        AbortedError, PermissionDeniedError.
        """
        request = integration_service_pb2.ImportIntegrationsRequest(
            credential_file=credential_file_bytes(credential_file),
            integration_id=integration_id,
            credential_name=credential_name,
            validate_only=validate_only,
            allow_update=allow_update,
            secret_rotation_period=duration_proto(to_seconds(secret_rotation_period)),
        )
        return self._call(self._integrations.ImportIntegrations, request, timeout, retry=False)

    def list_client_secrets(
        self, integration: str, *, timeout: Timeout = DEFAULT
    ) -> integration_service_pb2.ListClientSecretsResponse:
        """The credential's client secrets at the Adobe Developer Console
        (never their values), each matched with the ones the broker stores
        (`client_secrets[].held`, `in_use`, `fingerprint`), and
        `held_unmatched_count`. Retried on UNAVAILABLE.

        Raises: InvalidArgumentError, NotFoundError, FailedPreconditionError
        (not OAuth S2S, no console credential, IMS or the Console refused: the
        message says what to do), UnavailableError (IMS or the Console
        unreachable), PermissionDeniedError.
        """
        request = integration_service_pb2.ListClientSecretsRequest(
            parent=integration_name(integration)
        )
        return self._call(self._integrations.ListClientSecrets, request, timeout)

    def rotate_client_secret(
        self, integration: str, *, immediate: bool = False, timeout: Timeout = DEFAULT
    ) -> integration_service_pb2.RotateClientSecretResponse:
        """Rotates the credential's client secret at the Developer Console
        (`immediate`: delete the old one as soon as the new one works, for a
        leaked secret). The server resumes an interrupted rotation, so
        UNAVAILABLE is retried like a read; a response in `STATE_WAITING`
        means: call again later to finish.

        Raises: as `list_client_secrets`, and AbortedError (a concurrent
        rotation).
        """
        request = integration_service_pb2.RotateClientSecretRequest(
            parent=integration_name(integration), immediate=immediate
        )
        return self._call(self._integrations.RotateClientSecret, request, timeout)

    def migrate_integration(
        self,
        integration: str,
        scopes: Sequence[str],
        *,
        client_secret: str = "",
        etag: str = "",
        timeout: Timeout = DEFAULT,
    ) -> integration_pb2.Integration:
        """Converts a JWT integration to OAuth Server-to-Server with `scopes`
        (replacing the metascopes) and returns it as stored. `client_secret`:
        the S2S credential's secret (default: the stored one(s)); `etag`: only
        if it matches. Not retried.

        Raises: InvalidArgumentError, NotFoundError, FailedPreconditionError
        (not JWT, or IMS refused the S2S credential), UnavailableError (IMS
        unreachable), AbortedError, PermissionDeniedError.
        """
        request = integration_service_pb2.MigrateIntegrationRequest(
            name=integration_name(integration),
            scopes=list(scopes),
            client_secret=client_secret,
            etag=etag,
        )
        response = self._call(self._integrations.MigrateIntegration, request, timeout, retry=False)
        return response.integration
