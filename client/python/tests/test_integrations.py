"""The IntegrationService calls beyond CRUD: import, client secrets, migration.

Each goes through the client like every other call (caller token, deadline,
typed errors, retries of UNAVAILABLE only where a second attempt is safe).
Checked against a scripted in-process IntegrationService, sync and async,
and ImportIntegrations (validate_only) against the real broker.
"""

from __future__ import annotations

import json
import threading
from concurrent import futures
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Type

import grpc
import pytest
from google.protobuf import duration_pb2, message

import tokenbroker
from tokenbroker import RetryPolicy
from tokenbroker.aio import AsyncClient
from tokenbroker.v1 import integration_pb2, integration_service_pb2, integration_service_pb2_grpc

pb = integration_service_pb2

# A Developer Console "Download JSON" of a workspace with one OAuth S2S credential.
CONSOLE_FILE = json.dumps(
    {
        "project": {
            "id": "4566",
            "name": "billing",
            "org": {"id": "25591412", "name": "Acme", "ims_org_id": "ACME0123@AdobeOrg"},
            "workspace": {
                "id": "1356",
                "name": "Production",
                "details": {
                    "credentials": [
                        {
                            "id": "17950",
                            "name": "Billing S2S",
                            "integration_type": "oauth_server_to_server",
                            "oauth_server_to_server": {
                                "client_id": "billing-client",
                                "client_secrets": ["p8e-a"],
                                "technical_account_id": "T@techacct.adobe.com",
                                "technical_account_email": "t@techacct.adobe.com",
                                "scopes": ["openid", "AdobeID"],
                            },
                        }
                    ]
                },
            },
        }
    }
).encode()


@dataclass
class Call:
    method: str
    request: message.Message
    metadata: Dict[str, str]
    time_remaining: Optional[float]


class ScriptedIntegrations(integration_service_pb2_grpc.IntegrationServiceServicer):
    """Records every call; answers the next scripted failures first, in order."""

    def __init__(self) -> None:
        self.calls: List[Call] = []
        self.failures: List[Tuple[grpc.StatusCode, str]] = []
        self.lock = threading.Lock()

    def _answer(self, method: str, request: Any, context: Any, response: Any) -> Any:
        with self.lock:
            self.calls.append(
                Call(method, request, dict(context.invocation_metadata()), context.time_remaining())
            )
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            context.abort(*failure)
        return response

    def ImportIntegrations(self, request, context):  # noqa: N802 (generated name)
        imported = pb.ImportIntegrationsResponse.Imported(
            integration=integration_pb2.Integration(name="integrations/billing-s2s"),
            action=pb.ImportIntegrationsResponse.Imported.ACTION_CREATED,
            json_path="project.workspace.details.credentials[0]",
        )
        return self._answer(
            "ImportIntegrations",
            request,
            context,
            pb.ImportIntegrationsResponse(imported=[imported]),
        )

    def ListClientSecrets(self, request, context):  # noqa: N802
        secret = pb.ConsoleClientSecret(uuid="u1", held=True, in_use=True, fingerprint="sha256:ab")
        return self._answer(
            "ListClientSecrets",
            request,
            context,
            pb.ListClientSecretsResponse(client_secrets=[secret]),
        )

    def RotateClientSecret(self, request, context):  # noqa: N802
        response = pb.RotateClientSecretResponse(
            state=pb.RotateClientSecretResponse.STATE_WAITING, console_uuid="u2"
        )
        return self._answer("RotateClientSecret", request, context, response)

    def MigrateIntegration(self, request, context):  # noqa: N802
        migrated = integration_pb2.Integration(
            name=request.name,
            auth_method=integration_pb2.AUTH_METHOD_OAUTH_SERVER_TO_SERVER,
            etag="e2",
        )
        return self._answer(
            "MigrateIntegration",
            request,
            context,
            pb.MigrateIntegrationResponse(integration=migrated),
        )

    def UpdateIntegration(self, request, context):  # noqa: N802
        return self._answer(
            "UpdateIntegration",
            request,
            context,
            pb.UpdateIntegrationResponse(integration=request.integration),
        )


class FakeServer:
    def __init__(self) -> None:
        self.service = ScriptedIntegrations()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        integration_service_pb2_grpc.add_IntegrationServiceServicer_to_server(
            self.service, self.server
        )
        self.target = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=None)


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.stop()


# Each method: how it is called (the same for Client and AsyncClient: the async
# one returns a coroutine), the request it must send, and whether it is retried.
Invoke = Callable[[Any], Any]
METHODS: Dict[str, Tuple[str, Invoke, message.Message, bool]] = {
    "import_integrations": (
        "ImportIntegrations",
        lambda c: c.import_integrations(
            CONSOLE_FILE,
            integration_id="billing",
            credential_name="Billing S2S",
            validate_only=True,
            allow_update=True,
            secret_rotation_period=timedelta(days=30),
        ),
        pb.ImportIntegrationsRequest(
            credential_file=CONSOLE_FILE,
            integration_id="billing",
            credential_name="Billing S2S",
            validate_only=True,
            allow_update=True,
            secret_rotation_period=duration_pb2.Duration(seconds=30 * 86400),
        ),
        False,
    ),
    "list_client_secrets": (
        "ListClientSecrets",
        lambda c: c.list_client_secrets("app"),
        pb.ListClientSecretsRequest(parent="integrations/app"),
        True,
    ),
    "rotate_client_secret": (
        "RotateClientSecret",
        lambda c: c.rotate_client_secret("integrations/app", immediate=True),
        pb.RotateClientSecretRequest(parent="integrations/app", immediate=True),
        True,
    ),
    "migrate_integration": (
        "MigrateIntegration",
        lambda c: c.migrate_integration(
            "app", ["openid", "AdobeID"], client_secret="s2s-secret", etag="e1"
        ),
        pb.MigrateIntegrationRequest(
            name="integrations/app",
            scopes=["openid", "AdobeID"],
            client_secret="s2s-secret",
            etag="e1",
        ),
        False,
    ),
}
NAMES = sorted(METHODS)
RETRY = RetryPolicy(max_attempts=3, initial_backoff=0.01)


def check_result(method: str, result: Any) -> None:
    if method == "ImportIntegrations":
        assert result.imported[0].integration.name == "integrations/billing-s2s"
        assert result.imported[0].action == pb.ImportIntegrationsResponse.Imported.ACTION_CREATED
    elif method == "ListClientSecrets":
        assert [s.uuid for s in result.client_secrets] == ["u1"] and result.client_secrets[0].in_use
    elif method == "RotateClientSecret":
        assert result.state == pb.RotateClientSecretResponse.STATE_WAITING
    else:  # MigrateIntegration returns the integration itself
        assert isinstance(result, integration_pb2.Integration)
        assert result.auth_method == integration_pb2.AUTH_METHOD_OAUTH_SERVER_TO_SERVER


def check_sent(fake: FakeServer, method: str, want: message.Message, token: str) -> None:
    [call] = fake.service.calls
    assert call.method == method
    assert call.request == want
    assert call.metadata["authorization"] == f"Bearer {token}"
    # The client's deadline (7 s) travels with the call (the grpc-timeout
    # header may round it up a little).
    assert call.time_remaining is not None and 5 < call.time_remaining < 7.5


# -- sync ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_sends_the_request_with_caller_token_and_deadline(fake: FakeServer, name: str) -> None:
    method, invoke, want, _ = METHODS[name]
    with tokenbroker.Client(fake.target, plaintext=True, caller_token="ct", timeout=7) as client:
        result = invoke(client)

    check_sent(fake, method, want, "ct")
    check_result(method, result)


@pytest.mark.parametrize("name", NAMES)
def test_unavailable_is_retried_only_where_a_second_attempt_is_safe(
    fake: FakeServer, name: str
) -> None:
    method, invoke, _, retried = METHODS[name]
    fake.service.failures = [(grpc.StatusCode.UNAVAILABLE, "IMS is down")] * 2
    with tokenbroker.Client(fake.target, plaintext=True, retry=RETRY, timeout=5) as client:
        if retried:
            check_result(method, invoke(client))
        else:
            with pytest.raises(tokenbroker.UnavailableError) as info:
                invoke(client)
            assert info.value.attempts == 1

    assert len(fake.service.calls) == (3 if retried else 1)


ERRORS: List[Tuple[str, grpc.StatusCode, Type[tokenbroker.TokenbrokerError]]] = [
    ("import_integrations", grpc.StatusCode.ALREADY_EXISTS, tokenbroker.AlreadyExistsError),
    ("import_integrations", grpc.StatusCode.INVALID_ARGUMENT, tokenbroker.InvalidArgumentError),
    (
        "list_client_secrets",
        grpc.StatusCode.FAILED_PRECONDITION,
        tokenbroker.FailedPreconditionError,
    ),
    ("list_client_secrets", grpc.StatusCode.PERMISSION_DENIED, tokenbroker.PermissionDeniedError),
    ("rotate_client_secret", grpc.StatusCode.ABORTED, tokenbroker.AbortedError),
    ("rotate_client_secret", grpc.StatusCode.NOT_FOUND, tokenbroker.NotFoundError),
    (
        "migrate_integration",
        grpc.StatusCode.FAILED_PRECONDITION,
        tokenbroker.FailedPreconditionError,
    ),
    ("migrate_integration", grpc.StatusCode.ABORTED, tokenbroker.AbortedError),
]


@pytest.mark.parametrize(("name", "code", "error"), ERRORS)
def test_errors_are_typed(
    fake: FakeServer, name: str, code: grpc.StatusCode, error: Type[Exception]
) -> None:
    _, invoke, _, _ = METHODS[name]
    fake.service.failures = [(code, "scripted failure")]
    with tokenbroker.Client(fake.target, plaintext=True, timeout=5) as client:
        with pytest.raises(error) as info:
            invoke(client)

    assert info.value.code == code and info.value.message == "scripted failure"
    assert len(fake.service.calls) == 1  # none of these codes is retried


def test_import_refuses_a_path_for_the_file_content(fake: FakeServer) -> None:
    with tokenbroker.Client(fake.target, plaintext=True) as client:
        with pytest.raises(TypeError, match="read_bytes"):
            client.import_integrations("Billing.json")  # type: ignore[arg-type]
    assert fake.service.calls == []


def test_import_leaves_the_rotation_period_unset_by_default(fake: FakeServer) -> None:
    with tokenbroker.Client(fake.target, plaintext=True) as client:
        client.import_integrations(CONSOLE_FILE)
        client.import_integrations(CONSOLE_FILE, secret_rotation_period=0)  # 0: never

    unset, never = (c.request for c in fake.service.calls)
    assert not unset.HasField("secret_rotation_period")
    assert never.HasField("secret_rotation_period") and never.secret_rotation_period.seconds == 0


def test_update_accepts_an_id_and_leaves_the_argument_alone(fake: FakeServer) -> None:
    change = tokenbroker.Integration(name="app", display_name="App")
    with tokenbroker.Client(fake.target, plaintext=True) as client:
        client.update_integration(change, ["display_name"])

    assert fake.service.calls[0].request.integration.name == "integrations/app"
    assert change.name == "app"


# -- async -----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
async def test_async_sends_the_request_with_caller_token_and_deadline(
    fake: FakeServer, name: str
) -> None:
    method, invoke, want, _ = METHODS[name]
    async with AsyncClient(fake.target, plaintext=True, caller_token="act", timeout=7) as client:
        result = await invoke(client)

    check_sent(fake, method, want, "act")
    check_result(method, result)


@pytest.mark.parametrize("name", NAMES)
async def test_async_unavailable_is_retried_only_where_a_second_attempt_is_safe(
    fake: FakeServer, name: str
) -> None:
    method, invoke, _, retried = METHODS[name]
    fake.service.failures = [(grpc.StatusCode.UNAVAILABLE, "IMS is down")] * 2
    async with AsyncClient(fake.target, plaintext=True, retry=RETRY, timeout=5) as client:
        if retried:
            check_result(method, await invoke(client))
        else:
            with pytest.raises(tokenbroker.UnavailableError) as info:
                await invoke(client)
            assert info.value.attempts == 1

    assert len(fake.service.calls) == (3 if retried else 1)


@pytest.mark.parametrize(("name", "code", "error"), ERRORS)
async def test_async_errors_are_typed(
    fake: FakeServer, name: str, code: grpc.StatusCode, error: Type[Exception]
) -> None:
    _, invoke, _, _ = METHODS[name]
    fake.service.failures = [(code, "scripted failure")]
    async with AsyncClient(fake.target, plaintext=True, timeout=5) as client:
        with pytest.raises(error):
            await invoke(client)

    assert len(fake.service.calls) == 1


async def test_async_update_accepts_an_id(fake: FakeServer) -> None:
    async with AsyncClient(fake.target, plaintext=True) as client:
        await client.update_integration(tokenbroker.Integration(name="app"), ["display_name"])

    assert fake.service.calls[0].request.integration.name == "integrations/app"


# -- the real broker -------------------------------------------------------------


def test_real_broker_import_validate_only_writes_nothing(client: tokenbroker.Client) -> None:
    dry = client.import_integrations(CONSOLE_FILE, validate_only=True)

    [imported] = dry.imported
    assert imported.action == pb.ImportIntegrationsResponse.Imported.ACTION_CREATED
    assert imported.json_path == "project.workspace.details.credentials[0]"
    assert imported.integration.name == "integrations/billing-s2s"
    assert imported.integration.client_id == "billing-client"
    assert not imported.integration.credentials.client_secrets  # never returned
    with pytest.raises(tokenbroker.NotFoundError):
        client.get_integration("billing-s2s")  # nothing was written

    with pytest.raises(tokenbroker.NotFoundError):
        client.import_integrations(CONSOLE_FILE, credential_name="No Such", validate_only=True)
    with pytest.raises(tokenbroker.InvalidArgumentError, match="project"):
        client.import_integrations(b'{"project": 1}', validate_only=True)
