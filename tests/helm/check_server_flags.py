#!/usr/bin/env python3
"""The server accepts every flag the chart passes it.

Usage: check_server_flags.py BIN_DIR RENDERED.json...

For every container of every rendered workload (Deployment, StatefulSet, Job, Pod) whose
image runs tokenbroker or tokenctl, runs the real binary with the container's command and
args (and its literal TOKENBROKER_* environment) and fails if flag parsing refuses any of
them. The binary may then fail for other reasons (no keyring file on this machine, no
server to reach): only flag errors count, tokenctl's included: a flag its command does not
take, a missing required flag or value, and contradicting flags (--plaintext with --ca-file).
A TLS file missing on this machine is not a flag error.
"""
import json
import os
import subprocess
import sys

FLAG_ERRORS = ("Unknown command line flag", "unknown flag", "Illegal value", "unexpected argument",
               "unknown command", "Missing the value", "usage error",
               # tokenctl (client/tokenctl/flags.cc)
               "does not apply to", "missing required flag", "needs a value", "invalid value",
               "--plaintext excludes", "go together")


def containers(obj):
    spec = obj.get("spec", {})
    kind = obj.get("kind")
    if kind in ("Deployment", "StatefulSet", "Job"):
        spec = spec.get("template", {}).get("spec", {})
    elif kind != "Pod":
        return []
    return spec.get("containers", []) + spec.get("initContainers", [])


def probe_commands(container):
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        command = container.get(probe, {}).get("exec", {}).get("command")
        if command:
            yield probe, command


def run(bin_dir, argv, env):
    program = os.path.basename(argv[0])
    if program not in ("tokenbroker", "tokenctl"):
        return None
    full = [os.path.join(bin_dir, program)] + argv[1:]
    if program == "tokenctl":
        full.append("--timeout=1s")
    result = subprocess.run(full, capture_output=True, text=True, timeout=30,
                            env={**os.environ, **env}, stdin=subprocess.DEVNULL)
    output = result.stdout + result.stderr
    return [line for line in output.splitlines() if any(e in line for e in FLAG_ERRORS)]


def main():
    bin_dir, files = sys.argv[1], sys.argv[2:]
    checked, bad = 0, 0
    for path in files:
        case = os.path.basename(path).removesuffix(".json")
        for obj in json.load(open(path)):
            for c in containers(obj):
                env = {e["name"]: e["value"] for e in c.get("env", [])
                       if e["name"].startswith("TOKENBROKER_") and "value" in e}
                command = c.get("command") or ["/usr/local/bin/tokenbroker"]
                runs = [("container", command + c.get("args", []))]
                runs += list(probe_commands(c))
                for what, argv in runs:
                    errors = run(bin_dir, argv, env)
                    if errors is None:
                        continue
                    checked += 1
                    where = f"{case}: {obj['kind']}/{obj['metadata']['name']} {c['name']} {what}"
                    if errors:
                        bad += 1
                        print(f"  FAIL  {where}: {errors[0]}")
                    else:
                        print(f"  ok    {where}: the binary accepts its flags")
    print(f"server flag check: {checked} command lines, {bad} refused")
    return 1 if bad or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
