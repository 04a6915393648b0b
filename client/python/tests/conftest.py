"""Fixtures: one emulator + broker for the session, clients per test."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest

import tokenbroker
from tokenbroker.aio import AsyncClient

from harness import (
    Broker,
    Emulator,
    client_entry,
    oauth_integration,
    start_broker,
    start_emulator,
)

# Emulator clients: c1 mints 3 s tokens (the `rot` fixture, rotation), c2 24 h
# tokens (integrations `app`, and `bad` with a wrong secret).
ROT_CLIENT, ROT_SECRET = "c1", "s1"
APP_CLIENT, APP_SECRET = "c2", "s2"


@dataclass
class Stack:
    emulator: Emulator
    broker: Broker

    @property
    def target(self) -> str:
        return self.broker.target


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("stack")
    emulator = start_emulator(
        workdir,
        [client_entry(ROT_CLIENT, ROT_SECRET, lifetime=3), client_entry(APP_CLIENT, APP_SECRET)],
    )
    try:
        broker = start_broker(workdir, emulator)
        try:
            with tokenbroker.Client(broker.target, plaintext=True) as admin:
                admin.create_integration(
                    "app", oauth_integration(APP_CLIENT, APP_SECRET, org_header=True)
                )
                admin.create_integration("bad", oauth_integration(APP_CLIENT, "wrong-secret"))
            yield Stack(emulator, broker)
        finally:
            broker.stop()
    finally:
        emulator.stop()


_fresh_ids = itertools.count(1)


@pytest.fixture
def rot(stack: Stack) -> Iterator[str]:
    """A new integration with 3 s tokens, never asked for yet.

    Fresh per test, so no test starts watching an integration whose refresh
    an earlier test let lapse (see test_watch_after_lapsed_refresh_gets_successor).
    """
    integration_id = f"rot-{next(_fresh_ids)}"
    with tokenbroker.Client(stack.target, plaintext=True) as admin:
        admin.create_integration(integration_id, oauth_integration(ROT_CLIENT, ROT_SECRET))
        yield integration_id
        admin.delete_integration(integration_id)


@pytest.fixture
def client(stack: Stack) -> Iterator[tokenbroker.Client]:
    with tokenbroker.Client(stack.target, plaintext=True, timeout=10) as c:
        yield c


@pytest.fixture
async def aclient(stack: Stack) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(stack.target, plaintext=True, timeout=10) as c:
        yield c
