"""Starts the real ims-emulator and tokenbroker binaries on free loopback ports.

Binaries come from $TOKENBROKER_BIN_DIR, else <repo>/build/bin. Every process
is started by a test fixture and stopped by it; all traffic stays on
127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import tokenbroker

REPO = Path(__file__).resolve().parents[3]
BIN_DIR = Path(os.environ.get("TOKENBROKER_BIN_DIR") or REPO / "build" / "bin")
START_TIMEOUT = 20.0

ORG = "ORG@AdobeOrg"
TECH = "T@techacct.adobe.com"
SCOPES = ["openid", "AdobeID"]


def binary(name: str) -> str:
    path = BIN_DIR / name
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} not found: run `make build` (or set TOKENBROKER_BIN_DIR)")
    return str(path)


class Process:
    """A child process whose port is read from its --port-file."""

    def __init__(self, argv: Sequence[str], workdir: Path, name: str) -> None:
        self.name = name
        self.port_file = workdir / f"{name}.port"
        self.log_file = workdir / f"{name}.log"
        self.argv = list(argv) + [f"--port-file={self.port_file}"]
        self.port_file.unlink(missing_ok=True)  # a restart must not read the old port
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.port = self._wait_port()

    def _wait_port(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                text = self.port_file.read_text().strip()
                if text:
                    return int(text)
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.name} did not write its port in {START_TIMEOUT}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@dataclass
class Emulator:
    process: Process
    ca_file: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.process.port}"

    def _request(self, path: str, body: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, context=context, timeout=5) as response:
            text = response.read().decode()
        return json.loads(text) if text.strip() else {}

    def stats(self) -> Dict[str, Any]:
        return self._request("/emulator/stats")

    def set_faults(self, faults: Dict[str, Any]) -> None:
        self._request("/emulator/faults", faults)

    def stop(self) -> None:
        self.process.stop()


def start_emulator(workdir: Path, clients: List[Dict[str, Any]]) -> Emulator:
    workdir.mkdir(parents=True, exist_ok=True)
    clients_file = workdir / "clients.json"
    clients_file.write_text(json.dumps({"clients": clients}))
    ca = workdir / "ims-ca.pem"
    process = Process(
        [
            binary("ims-emulator"),
            "--listen=127.0.0.1:0",
            f"--cert-out={ca}",
            f"--clients={clients_file}",
        ],
        workdir,
        "ims-emulator",
    )
    return Emulator(process, ca)


def client_entry(client_id: str, secret: str, lifetime: Optional[int] = None) -> Dict[str, Any]:
    entry: Dict[str, Any] = {
        "client_id": client_id,
        "client_secrets": [secret],
        "org_id": ORG,
        "technical_account_id": TECH,
        "scopes": SCOPES,
    }
    if lifetime is not None:
        entry["token_lifetime_seconds"] = lifetime
    return entry


def oauth_integration(
    client_id: str, secret: str, *, org_header: bool = False
) -> tokenbroker.Integration:
    """An OAuth Server-to-Server integration of the emulator's org and scopes."""
    return tokenbroker.Integration(
        auth_method=tokenbroker.AuthMethod.AUTH_METHOD_OAUTH_SERVER_TO_SERVER,
        client_id=client_id,
        org_id=ORG,
        scopes=SCOPES,
        include_org_header=org_header,
        credentials=tokenbroker.Credentials(client_secrets=[secret]),
    )


@dataclass
class Broker:
    process: Process
    workdir: Path
    emulator: Emulator
    flags: Tuple[str, ...]
    name: str

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.process.port}"

    def stop(self) -> None:
        self.process.stop()

    def restart(self) -> None:
        """SIGTERM, then the same binary and flags again on the same port."""
        port = self.process.port
        self.process.stop()
        self.process = _broker_process(self.workdir, self.emulator, self.flags, self.name, port)


def _broker_process(
    workdir: Path, emulator: Emulator, flags: Sequence[str], name: str, port: int
) -> Process:
    return Process(
        [
            binary("tokenbroker"),
            f"--listen=127.0.0.1:{port}",
            "--store=memory",
            f"--ims-url={emulator.url}",
            f"--ims-ca-file={emulator.ca_file}",
            "--log-level=" + os.environ.get("TOKENBROKER_TEST_LOG_LEVEL", "warning"),
            *flags,
        ],
        workdir,
        name,
    )


def start_broker(
    workdir: Path, emulator: Emulator, *flags: str, name: str = "tokenbroker"
) -> Broker:
    """A broker on a free loopback port (in-memory store) using `emulator` as IMS."""
    workdir.mkdir(parents=True, exist_ok=True)
    process = _broker_process(workdir, emulator, flags, name, 0)
    return Broker(process, workdir, emulator, tuple(flags), name)


def tls_flags(certs: "Certs") -> List[str]:
    """The broker flags serving TLS with the test server certificate."""
    return [f"--tls-cert={certs.server_cert}", f"--tls-key={certs.server_key}"]


def caller_token_hash(token: str) -> str:
    """A policy file's `hash` of `token`: HMAC-SHA256 under a random 16-byte salt."""
    salt = os.urandom(16)
    digest = hmac.new(salt, token.encode(), hashlib.sha256).hexdigest()
    return f"hmac-sha256:{salt.hex()}:{digest}"


def write_policy(
    path: Path, caller_tokens: Mapping[str, str], bindings: Sequence[Mapping[str, Any]]
) -> Path:
    """A --policy-file: `caller_tokens` maps identity to plaintext token (stored hashed)."""
    policy = {
        "version": 1,
        "caller_tokens": [
            {"identity": identity, "hash": caller_token_hash(token)}
            for identity, token in caller_tokens.items()
        ],
        "bindings": list(bindings),
    }
    path.write_text(json.dumps(policy))
    return path


@dataclass
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_certs(workdir: Path) -> Certs:
    """A test CA, a server certificate for 127.0.0.1/localhost and a client
    certificate, all EC P-256, made with the openssl CLI."""
    workdir.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30, cwd=workdir)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl(
        "req",
        "-x509",
        *ec,
        "-days",
        "2",
        "-subj",
        "/CN=tokenbroker test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    )
    (workdir / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    )
    (workdir / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for who, cn in (("server", "127.0.0.1"), ("client", "sdk-test-client")):
        openssl(
            "req", "-new", *ec, "-subj", f"/CN={cn}", "-keyout", f"{who}.key", "-out", f"{who}.csr"
        )
        openssl(
            "x509",
            "-req",
            "-in",
            f"{who}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            f"{who}.ext",
            "-out",
            f"{who}.pem",
        )
    return Certs(
        ca=workdir / "ca.pem",
        server_cert=workdir / "server.pem",
        server_key=workdir / "server.key",
        client_cert=workdir / "client.pem",
        client_key=workdir / "client.key",
    )
