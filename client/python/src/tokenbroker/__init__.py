"""Python SDK of tokenbroker: Adobe IMS access tokens over gRPC.

    import tokenbroker

    with tokenbroker.Client("broker.internal:50051") as client:  # TLS, system roots
        headers = client.get_request_headers("demo")  # Authorization, x-api-key, ...

A broker on loopback without TLS needs `Client(..., plaintext=True)`: plaintext
is never inferred from the address.

`Client` (sync, thread-safe) and `tokenbroker.aio.AsyncClient` (asyncio) call
the broker; `TokenSource` / `AsyncTokenSource` keep the current token in the
process and refresh it ahead of expiry; `tokenbroker.requests_auth` and
`tokenbroker.httpx_auth` put the Adobe headers on `requests` and `httpx`
calls. Failures raise `TokenbrokerError` subclasses. The generated stubs are
in `tokenbroker.v1`.

The library logs to the logger "tokenbroker" and, as a library should, gives
it only a `logging.NullHandler`: an application that configures no logging
sees nothing on stderr (a failing watch included); one that does gets the
records through its own handlers.
"""

import logging as _logging

from ._deprecation import aliases as _aliases
from ._errors import (
    ERROR_DOMAIN,
    AbortedError,
    AlreadyExistsError,
    CancelledError,
    DeadlineExceededError,
    FailedPreconditionError,
    FieldViolation,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    TokenbrokerError,
    UnauthenticatedError,
    UnavailableError,
)
from ._options import TLS, CallerToken, RetryPolicy
from ._types import AccessToken, RequestHeaders, integration_name, is_valid_integration_id
from ._version import __version__
from .aio import AsyncClient, AsyncTokenSource, AsyncTokenWatch
from .client import DEFAULT, Client, TokenWatch
from .token_source import TokenSource
from .v1.integration_pb2 import AuthMethod, Credentials, Integration

__all__ = [
    "DEFAULT",
    "ERROR_DOMAIN",
    "TLS",
    "AbortedError",
    "AccessToken",
    "AlreadyExistsError",
    "AsyncClient",
    "AsyncTokenSource",
    "AsyncTokenWatch",
    "AuthMethod",
    "CallerToken",
    "CancelledError",
    "Client",
    "Credentials",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "FieldViolation",
    "Integration",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "RequestHeaders",
    "ResourceExhaustedError",
    "RetryPolicy",
    "TokenbrokerError",
    "TokenSource",
    "TokenWatch",
    "UnauthenticatedError",
    "UnavailableError",
    "__version__",
    "integration_name",
    "is_valid_integration_id",
]

_logging.getLogger("tokenbroker").addHandler(_logging.NullHandler())

# Deprecated spellings (client/BEHAVIOUR.md: one brand spelling), kept for one minor version.
__getattr__ = _aliases(globals(), {"TokenBrokerError": "TokenbrokerError"})
