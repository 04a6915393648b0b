"""The shared client conformance scenarios (client/conformance/scenarios.json).

Executes every scenario as client/conformance/README.md specifies, against the
real ims-emulator and tokenbroker binaries, once through the sync `Client` and
once through `AsyncClient` (driven from this thread through an event loop in
another). One test per scenario id and client: `test_scenario[<id>-sync]`.

A scenario, step, op, client option or expectation this runner does not know
fails the test: a scenario added to the file fails here until it is
implemented.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Set

import grpc
import pytest

import tokenbroker
from tokenbroker.aio import AsyncClient, AsyncTokenSource

from harness import (
    REPO,
    Broker,
    Emulator,
    client_entry,
    make_certs,
    oauth_integration,
    start_broker,
    start_emulator,
    tls_flags,
    write_policy,
)

SCENARIOS_FILE = REPO / "client" / "conformance" / "scenarios.json"
SPEC = json.loads(SCENARIOS_FILE.read_text())
POLL = 0.05  # seconds between the polls of the polling ops

SCENARIO_KEYS = {
    "id",
    "rule",
    "doc",
    "broker",
    "emulator_clients",
    "integrations",
    "setup_caller_token",
    "faults",
    "steps",
}
BROKER_KEYS = {"tls", "flags", "policy"}
CLIENT_KEYS = {
    "plaintext",
    "ca_file",
    "call_timeout_ms",
    "caller_token_file",
    "caller_token_reload_ms",
}

# The language's per-code error types (`typed: true`).
TYPED: Dict[str, type] = {
    "NOT_FOUND": tokenbroker.NotFoundError,
    "PERMISSION_DENIED": tokenbroker.PermissionDeniedError,
    "UNAUTHENTICATED": tokenbroker.UnauthenticatedError,
    "FAILED_PRECONDITION": tokenbroker.FailedPreconditionError,
    "UNAVAILABLE": tokenbroker.UnavailableError,
    "RESOURCE_EXHAUSTED": tokenbroker.ResourceExhaustedError,
    "INVALID_ARGUMENT": tokenbroker.InvalidArgumentError,
    "DEADLINE_EXCEEDED": tokenbroker.DeadlineExceededError,
}


def check_keys(what: str, given: Mapping[str, Any], known: Set[str]) -> None:
    unknown = sorted(set(given) - known)
    assert not unknown, f"{what}: unknown key(s) {unknown} (implement them in this runner)"


# -- the two clients behind one synchronous face --------------------------------


class LoopThread:
    """An asyncio event loop on a daemon thread; `run` waits for a coroutine."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


class SyncAsyncSource:
    """An `AsyncTokenSource` used from this thread."""

    def __init__(self, loop: LoopThread, source: AsyncTokenSource) -> None:
        self._loop, self._source = loop, source

    @property
    def min_validity(self) -> Optional[float]:
        return self._source.min_validity

    def token(self) -> tokenbroker.AccessToken:
        return self._loop.run(self._source.token())  # type: ignore[no-any-return]

    def close(self) -> None:
        self._loop.run(self._source.close())


class SyncAsyncClient:
    """An `AsyncClient` (made inside the loop) used from this thread."""

    def __init__(self, loop: LoopThread, **options: Any) -> None:
        async def make() -> AsyncClient:
            return AsyncClient(**options)

        self._loop = loop
        self._client: AsyncClient = loop.run(make())

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr
        return lambda *args, **kwargs: self._loop.run(attr(*args, **kwargs))

    def token_source(self, integration: str) -> SyncAsyncSource:
        async def make() -> AsyncTokenSource:
            return self._client.token_source(integration)

        return SyncAsyncSource(self._loop, self._loop.run(make()))


@pytest.fixture
def make_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """`make_client(**Client options)`: a `tokenbroker.Client`, or (the test's
    `flavour` "async") an `AsyncClient` behind the same synchronous methods."""
    if request.getfixturevalue("flavour") == "sync":
        yield tokenbroker.Client
        return
    loop = LoopThread()
    try:
        yield lambda **options: SyncAsyncClient(loop, **options)
    finally:
        loop.close()


# -- one scenario -----------------------------------------------------------------


class StepFailed(AssertionError):
    """The first failing step: the scenario fails with its index and op."""

    def __init__(self, index: int, op: str, cause: Exception) -> None:
        super().__init__(f"step {index} ({op}) failed: {cause}")


class Outcome:
    """A call's result or error, and its wall time."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.value: Any = None
        self.error: Optional[tokenbroker.TokenbrokerError] = None
        started = time.monotonic()
        try:
            self.value = call()
        except tokenbroker.TokenbrokerError as e:
            self.error = e
        self.elapsed_ms = (time.monotonic() - started) * 1000


class Scenario:
    """The setup, steps and teardown of one scenario (README: "One scenario, step by step")."""

    def __init__(self, spec: Dict[str, Any], workdir: Path, make_client: Callable[..., Any]):
        check_keys(f"scenario {spec.get('id')}", spec, SCENARIO_KEYS)
        self.spec = spec
        self.workdir = workdir
        self.make_client = make_client
        self.broker_spec: Dict[str, Any] = spec.get("broker", {})
        check_keys("broker", self.broker_spec, BROKER_KEYS)
        self.ca_file: Optional[Path] = None
        self.caller_token_file = workdir / "caller-token"
        self.emulator: Optional[Emulator] = None
        self.broker: Optional[Broker] = None
        self.client: Any = None  # the step-less client of client_open
        self.source: Any = None
        self.source_client: Any = None
        self.saved: Dict[str, tokenbroker.AccessToken] = {}

    # setup / teardown

    def start(self) -> None:
        clients = [client_entry("c-day", "s-day")]
        for c in self.spec.get("emulator_clients", []):
            check_keys("emulator_clients[]", c, {"client_id", "secret", "lifetime_s"})
            clients.append(client_entry(c["client_id"], c["secret"], c.get("lifetime_s")))
        self.emulator = start_emulator(self.workdir, clients)
        self.broker = start_broker(self.workdir, self.emulator, *self._broker_flags())
        self._create_integrations()
        if "faults" in self.spec:
            self.emulator.set_faults(self.spec["faults"])

    def _broker_flags(self) -> List[str]:
        flags: List[str] = []
        if self.broker_spec.get("tls", False):
            certs = make_certs(self.workdir / "certs")
            self.ca_file = certs.ca
            flags += tls_flags(certs)
        flags += list(self.broker_spec.get("flags", []))
        policy = self.broker_spec.get("policy")
        if policy is not None:
            check_keys("broker.policy", policy, {"caller_tokens", "bindings"})
            path = write_policy(
                self.workdir / "policy.json", policy["caller_tokens"], policy["bindings"]
            )
            flags.append(f"--policy-file={path}")
        return flags

    def _create_integrations(self) -> None:
        """Creates the scenario's integrations (made once, like every create)."""
        transport = {"ca_file": True} if self.ca_file is not None else {"plaintext": True}
        setup_token = self.spec.get("setup_caller_token")
        with_token = {} if setup_token is None else {"caller_token": setup_token}
        admin = self.new_client(transport, **with_token)
        try:
            for i in self.spec.get("integrations", []):
                check_keys("integrations[]", i, {"id", "client_id", "secret"})
                admin.create_integration(i["id"], oauth_integration(i["client_id"], i["secret"]))
        finally:
            admin.close()

    def stop(self) -> None:
        for closeable in (self.source, self.source_client, self.client):
            if closeable is not None:
                closeable.close()
        if self.broker is not None:
            self.broker.stop()
        if self.emulator is not None:
            self.emulator.stop()

    # clients

    def new_client(self, options: Mapping[str, Any], **extra: Any) -> Any:
        """A client from a step's `client` object (README: "Client options")."""
        check_keys("client", options, CLIENT_KEYS)
        assert self.broker is not None
        kwargs: Dict[str, Any] = {"plaintext": bool(options.get("plaintext", False)), **extra}
        if options.get("ca_file"):
            assert self.ca_file is not None, "ca_file: the broker has no test CA (tls: false)"
            kwargs["tls"] = tokenbroker.TLS(ca_file=self.ca_file)
        if "call_timeout_ms" in options:
            kwargs["timeout"] = options["call_timeout_ms"] / 1000
        if options.get("caller_token_file"):
            kwargs["caller_token_file"] = self.caller_token_file
        if "caller_token_reload_ms" in options:
            kwargs["caller_token_reload"] = options["caller_token_reload_ms"] / 1000
        return self.make_client(target=self.broker.target, **kwargs)

    def with_client(self, step: Mapping[str, Any], call: Callable[[Any], Any]) -> Outcome:
        """`call(client)` with the step's own client, or else the open one."""
        if "client" not in step:
            assert self.client is not None, "no `client` in the step and no client_open before"
            return Outcome(lambda: call(self.client))
        client = self.new_client(step["client"])
        try:
            return Outcome(lambda: call(client))
        finally:
            client.close()

    # the steps

    def run(self) -> None:
        steps = self.spec["steps"]
        assert steps, "a scenario without steps"
        for index, step in enumerate(steps):
            op = step.get("op")
            handler = OPS.get(op)  # type: ignore[arg-type]
            assert handler is not None, f"step {index}: unknown op {op!r} (implement it)"
            check_keys(f"step {index} ({op})", step, {"op"} | handler[1])
            try:
                handler[0](self, step)
            except Exception as e:
                raise StepFailed(index, op, e) from e

    def check_defaults(self, step: Mapping[str, Any]) -> None:
        client = self.make_client()  # every default: TLS, 127.0.0.1:50051 (not dialled)
        try:
            source = client.token_source("defaults")
            retry = client.retry
            min_validity = source.min_validity
            actual = {
                "tls": not client.plaintext,
                "call_timeout_ms": ms(client.timeout),
                "retry": {
                    "max_attempts": retry.max_attempts,
                    "initial_backoff_ms": ms(retry.initial_backoff),
                    "multiplier": retry.multiplier,
                    "max_backoff_ms": ms(retry.max_backoff),
                },
                "token_source_min_validity": "server" if min_validity is None else min_validity,
                "caller_token_reload_ms": ms(client.caller_token_reload),
            }
        finally:
            client.close()
        assert actual == SPEC["defaults"], f"defaults differ: {actual} != {SPEC['defaults']}"

    def get_access_token(self, step: Mapping[str, Any]) -> None:
        integration = step["integration"]
        outcome = self.with_client(step, lambda c: c.get_access_token(integration))
        check_expect(step["expect"], outcome, lambda v: bool(v.access_token))

    def get_integration(self, step: Mapping[str, Any]) -> None:
        integration = step["integration"]
        outcome = self.with_client(step, lambda c: c.get_integration(integration))
        check_expect(step["expect"], outcome, lambda v: bool(v.name))

    def expect_emulator(self, step: Mapping[str, Any]) -> None:
        assert self.emulator is not None
        seen = self.emulator.stats()["token_requests"]
        assert seen == step["token_requests"], f"IMS saw {seen} token requests"

    def client_open(self, step: Mapping[str, Any]) -> None:
        assert self.client is None, "client_open twice"
        self.client = self.new_client(step.get("client", {}))

    def client_close(self, step: Mapping[str, Any]) -> None:
        assert self.client is not None, "client_close without client_open"
        self.client.close()
        self.client = None

    def write_caller_token_file(self, step: Mapping[str, Any]) -> None:
        partial = self.caller_token_file.with_suffix(".new")
        partial.write_text(step["token"] + "\n")
        os.replace(partial, self.caller_token_file)

    def get_access_token_until_ok(self, step: Mapping[str, Any]) -> None:
        client = self.client if "client" not in step else self.new_client(step["client"])
        deadline = time.monotonic() + step["within_ms"] / 1000
        try:
            while True:
                outcome = Outcome(lambda: client.get_access_token(step["integration"]))
                if outcome.error is None:
                    return
                assert time.monotonic() < deadline, f"still failing: {outcome.error}"
                time.sleep(POLL)  # the poll interval of a polling op
        finally:
            if client is not self.client:
                client.close()

    def token_source_open(self, step: Mapping[str, Any]) -> None:
        assert self.source is None, "token_source_open twice"
        if "client" in step:  # lives as long as the source
            self.source_client = self.new_client(step["client"])
        client = self.source_client or self.client
        assert client is not None, "token_source_open without a client"
        self.source = client.token_source(step["integration"])

    def token_source_close(self, step: Mapping[str, Any]) -> None:
        assert self.source is not None, "token_source_close without token_source_open"
        self.source.close()
        self.source = None
        if self.source_client is not None:
            self.source_client.close()
            self.source_client = None

    def _source_token(self, min_remaining_ms: Optional[float]) -> tokenbroker.AccessToken:
        assert self.source is not None, "no token_source_open before"
        token = self.source.token()
        if min_remaining_ms is not None:
            left_ms = (token.expires_at - time.time()) * 1000
            assert left_ms >= min_remaining_ms, f"a token with only {left_ms:.0f} ms left"
        return token  # type: ignore[no-any-return]

    def token_source_token(self, step: Mapping[str, Any]) -> None:
        self.saved[step["save_as"]] = self._source_token(step.get("min_remaining_ms"))

    def token_source_until_changed(self, step: Mapping[str, Any]) -> None:
        old = self.saved[step["from"]]
        expiry_of = step.get("before_expiry_of")
        deadline = time.monotonic() + step["within_ms"] / 1000
        while True:
            token = self._source_token(step.get("min_remaining_ms"))
            if token.access_token != old.access_token:
                break
            assert time.monotonic() < deadline, "the source still hands out the old token"
            time.sleep(POLL)
        if expiry_of is not None:
            expires_at = self.saved[expiry_of].expires_at
            assert time.time() < expires_at, "the new token arrived after the old one expired"

    def restart_broker(self, step: Mapping[str, Any]) -> None:
        assert self.broker is not None
        self.broker.restart()
        # A new client right away: each client has its own subchannels
        # (grpc.use_local_subchannel_pool), so none inherits the reconnect
        # backoff of the connections the restart refused.
        self._create_integrations()

    def refresh_access_token(self, step: Mapping[str, Any]) -> None:
        outcome = self.with_client(step, lambda c: c.refresh_access_token(step["integration"]))
        assert outcome.error is None, f"RefreshAccessToken failed: {outcome.error}"
        self.saved[step["save_as"]] = outcome.value

    def token_source_until_equals(self, step: Mapping[str, Any]) -> None:
        wanted = self.saved[step["value"]].access_token
        deadline = time.monotonic() + step["within_ms"] / 1000
        while self._source_token(None).access_token != wanted:
            assert time.monotonic() < deadline, f"not the token saved as {step['value']!r}"
            time.sleep(POLL)


def ms(seconds: Optional[float]) -> Optional[int]:
    return None if seconds is None else round(seconds * 1000)


# op -> (handler, the step keys it takes besides "op")
OPS: Dict[str, Any] = {
    "check_defaults": (Scenario.check_defaults, set()),
    "get_access_token": (Scenario.get_access_token, {"integration", "client", "expect"}),
    "get_integration": (Scenario.get_integration, {"integration", "client", "expect"}),
    "expect_emulator": (Scenario.expect_emulator, {"token_requests"}),
    "client_open": (Scenario.client_open, {"client"}),
    "client_close": (Scenario.client_close, set()),
    "write_caller_token_file": (Scenario.write_caller_token_file, {"token"}),
    "get_access_token_until_ok": (
        Scenario.get_access_token_until_ok,
        {"integration", "client", "within_ms"},
    ),
    "token_source_open": (Scenario.token_source_open, {"integration", "client"}),
    "token_source_close": (Scenario.token_source_close, set()),
    "token_source_token": (Scenario.token_source_token, {"save_as", "min_remaining_ms"}),
    "token_source_until_changed": (
        Scenario.token_source_until_changed,
        {"from", "within_ms", "min_remaining_ms", "before_expiry_of"},
    ),
    "restart_broker": (Scenario.restart_broker, set()),
    "refresh_access_token": (
        Scenario.refresh_access_token,
        {"integration", "client", "save_as"},
    ),
    "token_source_until_equals": (Scenario.token_source_until_equals, {"value", "within_ms"}),
}


# -- expectations -------------------------------------------------------------------

EXPECT_KEYS = {
    "ok",
    "code",
    "typed",
    "reason",
    "ims_error",
    "http_status",
    "x_debug_id",
    "retry_delay_min_ms",
    "message_excludes",
    "min_elapsed_ms",
    "max_elapsed_ms",
}


def check_expect(
    expect: Mapping[str, Any], outcome: Outcome, nonempty: Callable[[Any], bool]
) -> None:
    """Asserts each key of `expect` (README: "Expectations")."""
    check_keys("expect", expect, EXPECT_KEYS)
    err = outcome.error
    if expect.get("ok"):
        assert err is None, f"expected success, got {err}"
        assert nonempty(outcome.value), "the call succeeded with an empty answer"
    if "code" in expect:
        assert err is not None, f"expected {expect['code']}, the call succeeded"
        assert err.code == getattr(grpc.StatusCode, expect["code"]), f"got {err}"
    if expect.get("typed"):
        assert err is not None and isinstance(err, TYPED[expect["code"]]), f"untyped: {err!r}"
    for key in ("reason",):
        if key in expect:
            assert err is not None and err.reason == expect[key], f"reason of {err}"
    for key in ("ims_error", "http_status"):
        if key in expect:
            assert err is not None and err.metadata.get(key) == expect[key], f"{key} of {err}"
    if expect.get("x_debug_id") == "nonempty":
        assert err is not None and err.x_debug_id, f"no x_debug_id in {err}"
    elif "x_debug_id" in expect:
        raise AssertionError(f"x_debug_id: unknown value {expect['x_debug_id']!r}")
    if "retry_delay_min_ms" in expect:
        assert err is not None and err.retry_delay is not None, f"no retry delay in {err}"
        assert err.retry_delay * 1000 >= expect["retry_delay_min_ms"], f"{err.retry_delay} s"
    if "message_excludes" in expect:
        assert err is not None, "message_excludes: the call succeeded"
        for text in (err.message, str(err), repr(err)):
            assert expect["message_excludes"] not in text, "the error holds the excluded text"
    elapsed = outcome.elapsed_ms
    assert elapsed >= expect.get("min_elapsed_ms", 0), f"took only {elapsed:.0f} ms"
    assert elapsed <= expect.get("max_elapsed_ms", float("inf")), f"took {elapsed:.0f} ms"


# -- the tests -----------------------------------------------------------------------


def test_the_scenario_file_is_the_version_this_runner_speaks() -> None:
    check_keys("scenarios.json", SPEC, {"version", "doc", "defaults", "scenarios"})
    assert SPEC["version"] == 1
    ids = [s["id"] for s in SPEC["scenarios"]]
    assert len(ids) == len(set(ids)), "scenario ids must be unique"


def test_the_runner_fails_on_what_it_does_not_know(tmp_path: Path) -> None:
    def run(spec: Dict[str, Any]) -> None:
        Scenario({"id": "x", **spec}, tmp_path, tokenbroker.Client).run()

    with pytest.raises(AssertionError, match="unknown op 'no_such_op'"):
        run({"steps": [{"op": "no_such_op"}]})
    with pytest.raises(AssertionError, match="unknown key"):
        run({"steps": [{"op": "client_close", "surprise": 1}]})
    with pytest.raises(AssertionError, match="unknown key"):
        run({"no_such_setup": 1, "steps": [{"op": "check_defaults"}]})
    with pytest.raises(AssertionError, match="unknown key"):
        check_expect({"no_such_expectation": 1}, Outcome(lambda: None), bool)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "spec,flavour",
    [
        pytest.param(spec, flavour, id=f"{spec['id']}-{flavour}")
        for spec in SPEC["scenarios"]
        for flavour in ("sync", "async")
    ],
)
def test_scenario(
    spec: Dict[str, Any], flavour: str, make_client: Callable[..., Any], tmp_path: Path
) -> None:
    scenario = Scenario(spec, tmp_path, make_client)
    try:
        scenario.start()
        scenario.run()
    finally:
        scenario.stop()
