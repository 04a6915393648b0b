"""Cached-token calls per second of ONE thread through the Python SDK.

Starts ims-emulator and tokenbroker on loopback ports (binaries from
$TOKENBROKER_BIN_DIR, else <repo>/build/bin), registers one integration, warms
its token, then times sequential calls from a single thread:

  * Client.get_access_token       one unary RPC per call (the broker's cache)
  * Client.get_request_headers    the same, headers rendered by the broker
  * AsyncClient.get_access_token  one RPC per call, awaited one at a time
  * TokenSource.token / headers   the in-process cache (no RPC in steady state)

Run after ./test.sh (which makes the venv):
    .venv/test/bin/python bench.py [--seconds 3] [--target HOST:PORT --integration ID]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Awaitable, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))

import tokenbroker  # noqa: E402
from tokenbroker.aio import AsyncClient  # noqa: E402


def measure(name: str, fn: Callable[[], object], seconds: float) -> float:
    for _ in range(200):
        fn()
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            fn()
        n += 100
        now = time.perf_counter()
        if now >= deadline:
            break
    rate = n / (now - start)
    print(f"{name:<34} {rate:>12,.0f} calls/s   {1e6 / rate:8.1f} us/call   ({n} calls)")
    return rate


async def measure_async(name: str, fn: Callable[[], Awaitable[object]], seconds: float) -> float:
    for _ in range(200):
        await fn()
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            await fn()
        n += 100
        now = time.perf_counter()
        if now >= deadline:
            break
    rate = n / (now - start)
    print(f"{name:<34} {rate:>12,.0f} calls/s   {1e6 / rate:8.1f} us/call   ({n} calls)")
    return rate


def run(target: str, integration: str, seconds: float) -> None:
    with tokenbroker.Client(target, plaintext=True) as client:
        client.get_access_token(integration)  # warm the broker's cache
        measure("Client.get_access_token", lambda: client.get_access_token(integration), seconds)
        measure(
            "Client.get_request_headers", lambda: client.get_request_headers(integration), seconds
        )
        with client.token_source(integration) as source:
            measure("TokenSource.token", source.token, seconds)
            measure("TokenSource.headers", source.headers, seconds)

    async def aio() -> None:
        async with AsyncClient(target, plaintext=True) as aclient:
            await measure_async(
                "AsyncClient.get_access_token",
                lambda: aclient.get_access_token(integration),
                seconds,
            )
            async with aclient.token_source(integration) as asource:
                await measure_async("AsyncTokenSource.token", asource.token, seconds)

    asyncio.run(aio())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    parser.add_argument("--target", help="an already running broker (else one is started)")
    parser.add_argument(
        "--integration", default="bench", help="with --target: an existing integration"
    )
    args = parser.parse_args()
    if args.target:
        run(args.target, args.integration, args.seconds)
        return

    from conftest import oauth_integration
    from harness import client_entry, start_broker, start_emulator

    with tempfile.TemporaryDirectory(prefix="tokenbroker-bench-") as tmp:
        emulator = start_emulator(Path(tmp), [client_entry("bench-client", "bench-secret")])
        try:
            broker = start_broker(Path(tmp), emulator)
            try:
                with tokenbroker.Client(broker.target, plaintext=True) as admin:
                    admin.create_integration(
                        "bench", oauth_integration("bench-client", "bench-secret")
                    )
                print(
                    f"tokenbroker at {broker.target}; one thread; Python {sys.version.split()[0]}"
                )
                run(broker.target, "bench", args.seconds)
                print(
                    f"upstream IMS exchanges during the run: {emulator.stats()['total_exchanges']}"
                )
            finally:
                broker.stop()
        finally:
            emulator.stop()


if __name__ == "__main__":
    main()
