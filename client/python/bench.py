"""Cached-token calls per second of ONE thread through the Python SDK.

Starts ims-emulator and tokenbroker on loopback ports (binaries from
$TOKENBROKER_BIN_DIR, else <repo>/build/bin), registers one integration, warms
its token, then times sequential calls from a single thread:

  * Client.get_access_token       one unary RPC per call (the broker's cache)
  * Client.get_request_headers    the same, headers rendered by the broker
  * AsyncClient.get_access_token  one RPC per call, awaited one at a time
  * TokenSource.token / headers   the in-process cache (no RPC in steady state)

With --overhead (what ./overhead.sh runs), it measures instead the SDK's
per-call overhead: cached GetAccessToken through Client.get_access_token
beside the bare generated stub (tokenbroker.v1 TokenServiceStub on a channel
with the SDK's channel options, the same 10 s deadline), in alternating rounds
on one thread against the same broker after warm-up, and prints calls/s of
each and (t_sdk - t_stub) / t_stub from the median rates.

Run after ./test.sh (which makes the venv):
    .venv/test/bin/python bench.py [--seconds 3] [--target HOST:PORT --integration ID]
    .venv/test/bin/python bench.py --overhead [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Awaitable, Callable, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))

import tokenbroker  # noqa: E402
from tokenbroker import _options  # noqa: E402
from tokenbroker.aio import AsyncClient  # noqa: E402
from tokenbroker.v1 import token_service_pb2, token_service_pb2_grpc  # noqa: E402


def rate_of(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of `fn` on this thread, in batches of 100, for `seconds`."""
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            fn()
        n += 100
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def batch_times(
    fns: Dict[str, Callable[[], object]], seconds: float, batch: int = 50
) -> Dict[str, List[Tuple[float, float]]]:
    """Alternating batches of `batch` calls of each fn for about `seconds`:
    per batch, wall and process-CPU microseconds per call. Fine-grained
    alternation spreads a shared machine's load changes over every fn alike."""
    times: Dict[str, List[Tuple[float, float]]] = {name: [] for name in fns}
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(batch):
                fn()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            times[name].append((wall * 1e6 / batch, cpu * 1e6 / batch))
    return times


def overhead(target: str, integration: str, seconds: float) -> None:
    """The SDK's cached GetAccessToken beside the bare generated stub."""
    import grpc

    name = tokenbroker.integration_name(integration)
    timeout = _options.DEFAULT_TIMEOUT
    options = _options.channel_options(None, ())
    with (
        tokenbroker.Client(target, plaintext=True) as client,
        grpc.insecure_channel(target, options) as channel,
    ):
        stub = token_service_pb2_grpc.TokenServiceStub(channel)

        def bare() -> object:
            request = token_service_pb2.GetAccessTokenRequest(name=name)
            return stub.GetAccessToken(request, timeout=timeout).token

        def sdk() -> object:
            return client.get_access_token(integration)

        assert bare().access_token == sdk().access_token  # the same cached token
        fns = {
            "bare stub  TokenServiceStub.GetAccessToken": bare,
            "SDK        Client.get_access_token": sdk,
        }
        batch_times(fns, min(2.0, seconds))  # warm-up: connections, caches
        times = batch_times(fns, seconds)
    print(f"python: {seconds:g} s of alternating batches, one thread; medians per call")
    medians = {}
    for label, samples in times.items():
        wall = statistics.median(t for t, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        medians[label] = (wall, cpu)
        print(
            f"  {label:<44} {1e6 / wall:>9,.0f} calls/s  {wall:7.1f} us  (client CPU {cpu:6.1f} us)"
        )
    (stub_wall, stub_cpu), (sdk_wall, sdk_cpu) = medians.values()
    print(
        f"  overhead   {(sdk_wall - stub_wall) / stub_wall * 100:+.1f} % per call"
        f" ({sdk_wall - stub_wall:+.1f} us; client CPU {sdk_cpu - stub_cpu:+.1f} us)"
    )


def measure(name: str, fn: Callable[[], object], seconds: float) -> float:
    for _ in range(200):
        fn()
    rate = rate_of(fn, seconds)
    print(f"{name:<34} {rate:>12,.0f} calls/s   {1e6 / rate:8.1f} us/call")
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
    parser.add_argument(
        "--overhead", action="store_true", help="SDK beside the bare stub (see above)"
    )
    args = parser.parse_args()

    def bench(target: str, integration: str) -> None:
        if args.overhead:
            overhead(target, integration, args.seconds)
        else:
            run(target, integration, args.seconds)

    if args.target:
        bench(args.target, args.integration)
        return

    from harness import client_entry, oauth_integration, start_broker, start_emulator

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
                bench(broker.target, "bench")
                print(
                    f"upstream IMS exchanges during the run: {emulator.stats()['total_exchanges']}"
                )
            finally:
                broker.stop()
        finally:
            emulator.stop()


if __name__ == "__main__":
    main()
