// Starts the real ims-emulator and tokenbroker binaries on free loopback
// ports for the tests and the bench, and stops them. Binaries come from
// $TOKENBROKER_BIN_DIR, else <repo>/build/bin.
import { spawn, spawnSync, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from "node:fs";
import { createHmac, randomBytes } from "node:crypto";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// dist-test/test/harness.js → client/typescript → repo root
export const REPO_ROOT = resolve(here, "..", "..", "..", "..");
export const BIN_DIR = process.env["TOKENBROKER_BIN_DIR"] ?? join(REPO_ROOT, "build", "bin");

export const CLIENT_ID = "c1";
export const CLIENT_SECRET = "s1";
export const SHORT_CLIENT_ID = "c3";
export const ORG_ID = "ORG@AdobeOrg";

const live = new Set<ChildProcess>();
const dirs: string[] = [];
process.on("exit", (code) => {
  for (const p of live) p.kill("SIGKILL");
  // Keep the logs of a failed run (or with TB_KEEP_TMP=1) for a look.
  if (code === 0 && !process.env["TB_KEEP_TMP"]) for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function bin(name: string): string {
  const p = join(BIN_DIR, name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run 'make build' at the repo root or set TOKENBROKER_BIN_DIR`);
  return p;
}

/** One child process whose port is read from its --port-file. */
export class Proc {
  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly port: number,
    readonly logFile: string,
  ) {}

  static async start(name: string, args: string[], dir: string, timeoutMs = 15_000): Promise<Proc> {
    const portFile = join(dir, `${name}.port`);
    rmSync(portFile, { force: true });
    const logFile = join(dir, `${name}.log`);
    const fd = openSync(logFile, "a");
    const child = spawn(bin(name), [...args, `--port-file=${portFile}`], { stdio: ["ignore", fd, fd] });
    closeSync(fd);
    live.add(child);
    child.on("exit", () => live.delete(child));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}):\n${readFileSync(logFile, "utf8")}`);
      }
      if (existsSync(portFile)) {
        const port = Number.parseInt(readFileSync(portFile, "utf8").trim(), 10);
        if (port > 0) return new Proc(name, child, port, logFile);
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`${name} did not write its port within ${timeoutMs} ms:\n${readFileSync(logFile, "utf8")}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once("exit", () => r()));
    c.kill("SIGTERM");
    const timer = setTimeout(() => c.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  log(): string {
    return readFileSync(this.logFile, "utf8");
  }
}

/** A client the emulator knows: one secret, tokens of `lifetime_s` (default 24 h). */
export interface EmulatorClient {
  client_id: string;
  secret: string;
  lifetime_s?: number;
}

/** CLIENT_ID (24 h tokens) and SHORT_CLIENT_ID (3 s tokens, for rotation tests), both with CLIENT_SECRET. */
const DEFAULT_EMULATOR_CLIENTS: EmulatorClient[] = [
  { client_id: CLIENT_ID, secret: CLIENT_SECRET },
  { client_id: SHORT_CLIENT_ID, secret: CLIENT_SECRET, lifetime_s: 3 },
];

/** The ims-emulator, with its admin endpoints. */
export class Emulator {
  private constructor(
    readonly proc: Proc,
    readonly caFile: string,
  ) {}

  /** Registers `clients` under org ORG_ID, technical account T@techacct.adobe.com, scopes openid and AdobeID. */
  static async start(dir: string, clients: EmulatorClient[] = DEFAULT_EMULATOR_CLIENTS): Promise<Emulator> {
    const file = join(dir, "clients.json");
    const entry = (c: EmulatorClient) => ({
      client_id: c.client_id,
      client_secrets: [c.secret],
      org_id: ORG_ID,
      technical_account_id: "T@techacct.adobe.com",
      scopes: ["openid", "AdobeID"],
      ...(c.lifetime_s !== undefined ? { token_lifetime_seconds: c.lifetime_s } : {}),
    });
    writeFileSync(file, JSON.stringify({ clients: clients.map(entry) }));
    const caFile = join(dir, "ims-ca.pem");
    const proc = await Proc.start(
      "ims-emulator",
      ["--listen=127.0.0.1:0", `--cert-out=${caFile}`, `--clients=${file}`],
      dir,
    );
    return new Emulator(proc, caFile);
  }

  get url(): string {
    return `https://127.0.0.1:${this.proc.port}`;
  }

  async stats(): Promise<{ total_exchanges: number; token_requests: number; exchanges: Record<string, number> }> {
    return JSON.parse(await this.admin("GET", "/emulator/stats"));
  }

  /** IMS answers 503 to every token request while down. */
  async setDown(down: boolean): Promise<void> {
    await this.setFaults(down ? { down: true } : {});
  }

  /** POST /emulator/faults: `faults` replaces the current ones. */
  async setFaults(faults: object): Promise<void> {
    await this.admin("POST", "/emulator/faults", JSON.stringify(faults));
  }

  private admin(method: string, path: string, body?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: this.proc.port,
          path,
          method,
          ca: readFileSync(this.caFile),
          headers: body ? { "content-type": "application/json" } : {},
        },
        (res) => {
          let data = "";
          res.setEncoding("utf8");
          res.on("data", (c) => (data += c));
          res.on("end", () =>
            res.statusCode === 200 ? resolve(data) : reject(new Error(`${method} ${path}: ${res.statusCode} ${data}`)),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }
}

/** Starts tokenbroker against `ims`, on a free loopback port unless `port` is given. */
export async function startBroker(dir: string, ims: Emulator, extraArgs: string[] = [], port = 0): Promise<Proc> {
  return Proc.start(
    "tokenbroker",
    [
      `--listen=127.0.0.1:${port}`,
      "--store=memory",
      `--ims-url=${ims.url}`,
      `--ims-ca-file=${ims.caFile}`,
      "--shutdown-grace=1s",
      ...extraArgs,
    ],
    dir,
  );
}

/**
 * Stops `broker` (SIGTERM) and starts it again on the same port with the same
 * flags, trying again while the port is not free yet (within `timeoutMs`).
 */
export async function restartBroker(
  dir: string,
  ims: Emulator,
  broker: Proc,
  extraArgs: string[] = [],
  timeoutMs = 10_000,
): Promise<Proc> {
  await broker.stop();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await startBroker(dir, ims, extraArgs, broker.port);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Writes a caller policy file: each identity's token as
 * `hmac-sha256:<salt hex>:<HMAC-SHA256(salt, token) hex>` with a random
 * 16-byte salt, and the bindings as given.
 */
export function writePolicyFile(file: string, callerTokens: Record<string, string>, bindings: object[]): void {
  const caller_tokens = Object.entries(callerTokens).map(([identity, token]) => {
    const salt = randomBytes(16);
    const mac = createHmac("sha256", salt).update(token).digest("hex");
    return { identity, hash: `hmac-sha256:${salt.toString("hex")}:${mac}` };
  });
  writeFileSync(file, JSON.stringify({ version: 1, caller_tokens, bindings }));
}

/** A fresh directory under the system temp dir, removed at exit when all went well. */
export function tempDir(prefix = "tb-ts-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A caller token and its policy entry, from `tokenbroker caller-token create`. */
export function createCallerToken(identity: string): { token: string; entry: { identity: string; hash: string } } {
  const r = spawnSync(bin("tokenbroker"), ["caller-token", "create", `--identity=${identity}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`caller-token create failed: ${r.stderr}`);
  const token = r.stdout.trim().split("\n")[0]!.trim();
  const entryLine = r.stderr.trim().split("\n").reverse().find((l) => l.trim().startsWith("{"));
  if (!token || !entryLine) throw new Error(`unexpected caller-token create output: ${r.stderr}`);
  return { token, entry: JSON.parse(entryLine) };
}

/** Certificates made with the openssl CLI: a CA, a server cert (SAN IP:127.0.0.1, DNS:tokenbroker.test) and a client cert. */
export interface TestPki {
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export function makePki(dir: string): TestPki {
  const f = (n: string) => join(dir, n);
  const ossl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ossl("req", "-x509", ...key, "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "1", "-subj", "/CN=tokenbroker test CA");
  const leaf = (name: string, cn: string, ext: string) => {
    writeFileSync(f(`${name}.ext`), ext);
    ossl("req", ...key, "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`), "-subj", `/CN=${cn}`);
    ossl(
      "x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.pem"), "-CAkey", f("ca.key"),
      "-set_serial", `0x${Date.now().toString(16)}${name.length}`, "-days", "1", "-out", f(`${name}.pem`),
      "-extfile", f(`${name}.ext`),
    );
  };
  leaf("server", "127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:tokenbroker.test\nextendedKeyUsage=serverAuth\n");
  leaf("client", "test-client", "extendedKeyUsage=clientAuth\n");
  return {
    caFile: f("ca.pem"),
    serverCert: f("server.pem"),
    serverKey: f("server.key"),
    clientCert: f("client.pem"),
    clientKey: f("client.key"),
  };
}
