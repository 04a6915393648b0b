// The shared client conformance scenarios (client/conformance/scenarios.json)
// against the real tokenbroker and ims-emulator, one test per scenario id,
// executed as client/conformance/README.md specifies. An op or a key this
// runner does not know (setup, step, client option, expectation, default)
// fails the test: it never skips.
import assert from "node:assert/strict";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  AuthMethod,
  Code,
  TokenbrokerClient,
  TokenbrokerError,
  type ClientOptions,
  type Token,
  type TokenSource,
} from "@tokenbroker/client";
import {
  Emulator,
  ORG_ID,
  REPO_ROOT,
  makePki,
  restartBroker,
  startBroker,
  tempDir,
  writePolicyFile,
  type EmulatorClient,
  type Proc,
  type TestPki,
} from "./harness.js";

type Json = Record<string, unknown>;

interface Scenario {
  id: string;
  broker?: { tls?: boolean; flags?: string[]; policy?: { caller_tokens: Record<string, string>; bindings: object[] } };
  emulator_clients?: EmulatorClient[];
  integrations?: Array<{ id: string; client_id: string; secret: string }>;
  faults?: object;
  setup_caller_token?: string;
  steps: Step[];
}

type Step = Json & { op: string };

const spec = JSON.parse(readFileSync(join(REPO_ROOT, "client", "conformance", "scenarios.json"), "utf8")) as {
  version: number;
  defaults: Json;
  scenarios: Array<Scenario & Json>;
};

const SCENARIO_KEYS = ["id", "rule", "doc", "broker", "emulator_clients", "integrations", "faults", "setup_caller_token", "steps"];
const BROKER_KEYS = ["tls", "flags", "policy"];

test("scenarios.json: version 1", () => {
  assert.equal(spec.version, 1);
});

for (const scenario of spec.scenarios) {
  test(scenario.id, async () => {
    checkKeys(`scenario ${scenario.id}`, scenario, SCENARIO_KEYS);
    checkKeys(`scenario ${scenario.id}: broker`, scenario.broker ?? {}, BROKER_KEYS);
    const world = await World.start(scenario);
    try {
      for (const [i, step] of scenario.steps.entries()) {
        try {
          await runStep(world, step);
        } catch (e) {
          throw new Error(`step ${i} (${step.op}): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        }
      }
    } finally {
      await world.stop();
    }
  });
}

function checkKeys(where: string, obj: object, known: string[]): void {
  for (const k of Object.keys(obj)) assert.ok(known.includes(k), `${where}: unknown key '${k}'`);
}

// ---- one scenario's processes and state ------------------------------------

/** The emulator, the broker and what the steps share. */
class World {
  broker!: Proc;
  readonly flags: string[] = [];
  client: TokenbrokerClient | undefined; // client_open's
  source: { client: TokenbrokerClient; source: TokenSource } | undefined;
  readonly saved = new Map<string, Token>();
  readonly callerTokenFile: string;

  private constructor(
    readonly scenario: Scenario,
    readonly dir: string,
    readonly ims: Emulator,
    readonly pki: TestPki | undefined,
  ) {
    this.callerTokenFile = join(dir, "caller-token");
  }

  static async start(scenario: Scenario): Promise<World> {
    const dir = tempDir("tb-ts-conformance-");
    const ims = await Emulator.start(dir, [
      { client_id: "c-day", secret: "s-day" },
      ...(scenario.emulator_clients ?? []),
    ]);
    const world = new World(scenario, dir, ims, scenario.broker?.tls ? makePki(dir) : undefined);
    try {
      world.flags.push(...world.brokerFlags());
      world.broker = await startBroker(dir, ims, world.flags);
      await world.createIntegrations();
      if (scenario.faults) await ims.setFaults(scenario.faults);
    } catch (e) {
      await world.stop();
      throw e;
    }
    return world;
  }

  private brokerFlags(): string[] {
    const b = this.scenario.broker ?? {};
    const flags: string[] = [];
    if (this.pki) flags.push(`--tls-cert=${this.pki.serverCert}`, `--tls-key=${this.pki.serverKey}`);
    if (b.policy) {
      const file = join(this.dir, "policy.json");
      writePolicyFile(file, b.policy.caller_tokens, b.policy.bindings);
      flags.push(`--policy-file=${file}`);
    }
    return [...flags, ...(b.flags ?? [])];
  }

  /**
   * Through the SDK's wrapped IntegrationService, as the setup caller.
   * Plaintext, except against a TLS broker (which speaks nothing else): the
   * test CA then.
   */
  async createIntegrations(): Promise<void> {
    const setup = this.scenario.setup_caller_token;
    const c = this.newClient({
      ...(this.pki ? { ca_file: true } : { plaintext: true }),
    }, setup !== undefined ? { callerToken: setup } : {});
    try {
      for (const i of this.scenario.integrations ?? []) {
        await c.createIntegration(i.id, {
          authMethod: AuthMethod.AUTH_METHOD_OAUTH_SERVER_TO_SERVER,
          clientId: i.client_id,
          orgId: ORG_ID,
          technicalAccountId: "T@techacct.adobe.com",
          scopes: ["openid", "AdobeID"],
          credentials: { clientSecrets: [i.secret] },
        });
      }
    } finally {
      c.close();
    }
  }

  async restartBroker(): Promise<void> {
    this.broker = await restartBroker(this.dir, this.ims, this.broker, this.flags);
    await this.createIntegrations();
  }

  /** A client of the scenario's broker with a step's `client` options. */
  newClient(options: Json, extra: ClientOptions = {}): TokenbrokerClient {
    return new TokenbrokerClient({ target: `127.0.0.1:${this.broker.port}`, ...this.clientOptions(options), ...extra });
  }

  private clientOptions(o: Json): ClientOptions {
    const out: ClientOptions = {};
    for (const [key, value] of Object.entries(o)) {
      switch (key) {
        case "plaintext":
          out.plaintext = value as boolean;
          break;
        case "ca_file":
          assert.ok(value === true && this.pki, "ca_file: true needs a TLS broker");
          out.tls = { caFile: this.pki.caFile };
          break;
        case "call_timeout_ms":
          out.callTimeoutMs = value as number;
          break;
        case "caller_token_file":
          assert.equal(value, true);
          out.callerTokenFile = this.callerTokenFile;
          break;
        case "caller_token_reload_ms":
          out.callerTokenReloadMs = value as number;
          break;
        default:
          assert.fail(`unknown client option '${key}'`);
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    this.source?.client.close();
    this.client?.close();
    await this.broker?.stop();
    await this.ims.proc.stop();
  }
}

// ---- ops ------------------------------------------------------------------

const STEP_KEYS: Record<string, string[]> = {
  check_defaults: [],
  get_access_token: ["integration", "client", "expect"],
  get_integration: ["integration", "client", "expect"],
  expect_emulator: ["token_requests"],
  client_open: ["client"],
  client_close: [],
  write_caller_token_file: ["token"],
  get_access_token_until_ok: ["integration", "client", "within_ms"],
  token_source_open: ["integration", "client"],
  token_source_close: [],
  token_source_token: ["save_as", "min_remaining_ms"],
  token_source_until_changed: ["from", "within_ms", "min_remaining_ms", "before_expiry_of"],
  restart_broker: [],
  refresh_access_token: ["integration", "client", "save_as"],
  token_source_until_equals: ["value", "within_ms"],
};

async function runStep(w: World, step: Step): Promise<void> {
  const keys = STEP_KEYS[step.op];
  assert.ok(keys, `unknown op '${step.op}'`);
  checkKeys(step.op, step, ["op", ...keys]);
  switch (step.op) {
    case "check_defaults":
      return checkDefaults();
    case "get_access_token":
      return expectCall(step, (c) => c.getAccessToken(str(step, "integration")).then(tokenText), w);
    case "get_integration":
      return expectCall(step, (c) => c.getIntegration(str(step, "integration")).then((i) => i.name), w);
    case "expect_emulator":
      return assert.equal((await w.ims.stats()).token_requests, step["token_requests"]);
    case "client_open":
      w.client = w.newClient(step["client"] as Json);
      return;
    case "client_close":
      w.client?.close();
      w.client = undefined;
      return;
    case "write_caller_token_file":
      writeFileSync(`${w.callerTokenFile}.tmp`, str(step, "token"));
      return renameSync(`${w.callerTokenFile}.tmp`, w.callerTokenFile);
    case "get_access_token_until_ok":
      return untilOk(w, step);
    case "token_source_open": {
      const client = w.newClient(step["client"] as Json);
      w.source = { client, source: client.tokenSource(str(step, "integration")) };
      return;
    }
    case "token_source_close":
      w.source?.client.close();
      w.source = undefined;
      return;
    case "token_source_token":
      return sourceToken(w, step);
    case "token_source_until_changed":
      return untilChanged(w, step);
    case "restart_broker":
      return w.restartBroker();
    case "refresh_access_token":
      w.saved.set(str(step, "save_as"), await withClient(w, step, (c) => c.refreshAccessToken(str(step, "integration"))));
      return;
    case "token_source_until_equals":
      return untilEquals(w, step);
  }
}

function checkDefaults(): void {
  const c = new TokenbrokerClient({ target: "127.0.0.1:1" });
  try {
    const s = c.settings;
    const source = c.tokenSource("defaults");
    const actual: Record<string, unknown> = {
      tls: !s.plaintext,
      call_timeout_ms: s.callTimeoutMs,
      retry: {
        max_attempts: s.retry.maxAttempts,
        initial_backoff_ms: s.retry.initialBackoffMs,
        multiplier: s.retry.multiplier,
        max_backoff_ms: s.retry.maxBackoffMs,
      },
      token_source_min_validity: source.minValidityMs === undefined ? "server" : source.minValidityMs,
      caller_token_reload_ms: s.callerTokenReloadMs,
    };
    for (const [key, expected] of Object.entries(spec.defaults)) {
      assert.ok(key in actual, `unknown default '${key}'`);
      assert.deepEqual(actual[key], expected, `default ${key}`);
    }
  } finally {
    c.close();
  }
}

/** The step's own client (closed after it), else client_open's. */
async function withClient<T>(w: World, step: Step, fn: (c: TokenbrokerClient) => Promise<T>): Promise<T> {
  if (step["client"] === undefined) {
    assert.ok(w.client, "no client: the step has no 'client' and none is open");
    return fn(w.client);
  }
  const c = w.newClient(step["client"] as Json);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** Runs the call, timing it, and checks `expect`. */
async function expectCall(step: Step, call: (c: TokenbrokerClient) => Promise<string>, w: World): Promise<void> {
  const expect = (step["expect"] ?? {}) as Json;
  let result: { value: string } | { error: unknown };
  const start = performance.now();
  try {
    result = { value: await withClient(w, step, call) };
  } catch (error) {
    result = { error };
  }
  checkExpect(expect, result, performance.now() - start);
}

function checkExpect(expect: Json, result: { value: string } | { error: unknown }, elapsedMs: number): void {
  const err = "error" in result ? result.error : undefined;
  const te = err instanceof TokenbrokerError ? err : undefined;
  for (const [key, want] of Object.entries(expect)) {
    switch (key) {
      case "ok":
        assert.equal(want, true, "expect.ok must be true");
        assert.ok("value" in result && result.value !== "", `expected success, got ${String(err)}`);
        break;
      case "code":
        assert.ok(te, `expected ${String(want)}, got ${"value" in result ? "success" : String(err)}`);
        assert.equal(te.codeName, want, te.message);
        break;
      case "typed":
        assert.equal(want, true, "expect.typed must be true");
        assert.ok(te && te.code === Code[expect["code"] as keyof typeof Code], `not a TokenbrokerError of ${String(expect["code"])}`);
        break;
      case "reason":
        assert.equal(te?.reason, want);
        break;
      case "ims_error":
        assert.equal(te?.metadata["ims_error"], want);
        break;
      case "http_status":
        assert.equal(te?.metadata["http_status"], want);
        break;
      case "x_debug_id":
        assert.equal(want, "nonempty", "expect.x_debug_id must be 'nonempty'");
        assert.ok(te?.xDebugId, "no x-debug-id");
        break;
      case "retry_delay_min_ms":
        assert.ok((te?.retryDelayMs ?? -1) >= (want as number), `retry delay ${te?.retryDelayMs} ms < ${String(want)} ms`);
        break;
      case "message_excludes":
        assert.ok(te, "expected an error");
        assert.ok(!te.message.includes(want as string) && !String(te).includes(want as string), "the error holds the excluded text");
        break;
      case "min_elapsed_ms":
        assert.ok(elapsedMs >= (want as number), `took ${elapsedMs.toFixed(0)} ms < ${String(want)} ms`);
        break;
      case "max_elapsed_ms":
        assert.ok(elapsedMs <= (want as number), `took ${elapsedMs.toFixed(0)} ms > ${String(want)} ms`);
        break;
      default:
        assert.fail(`unknown expectation '${key}'`);
    }
  }
}

async function untilOk(w: World, step: Step): Promise<void> {
  const deadline = Date.now() + num(step, "within_ms");
  for (;;) {
    try {
      await withClient(w, step, (c) => c.getAccessToken(str(step, "integration")));
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`no success within ${String(step["within_ms"])} ms; last: ${String(e)}`);
    }
    await pause(50);
  }
}

async function sourceToken(w: World, step: Step): Promise<void> {
  const t = await openSource(w).token();
  if (step["min_remaining_ms"] !== undefined) assertRemaining(t, num(step, "min_remaining_ms"));
  if (step["save_as"] !== undefined) w.saved.set(str(step, "save_as"), t);
}

async function untilChanged(w: World, step: Step): Promise<void> {
  const from = savedToken(w, str(step, "from"));
  const deadline = Date.now() + num(step, "within_ms");
  for (;;) {
    const t = await openSource(w).token();
    if (step["min_remaining_ms"] !== undefined) assertRemaining(t, num(step, "min_remaining_ms"));
    if (t.accessToken !== from.accessToken) {
      if (step["before_expiry_of"] !== undefined) {
        const old = savedToken(w, str(step, "before_expiry_of"));
        assert.ok(Date.now() < old.expireTime.getTime(), "the new token came after the old one expired");
      }
      return;
    }
    assert.ok(Date.now() <= deadline, `the token did not change within ${String(step["within_ms"])} ms`);
    await pause(50);
  }
}

async function untilEquals(w: World, step: Step): Promise<void> {
  const want = savedToken(w, str(step, "value"));
  const deadline = Date.now() + num(step, "within_ms");
  while ((await openSource(w).token()).accessToken !== want.accessToken) {
    assert.ok(Date.now() <= deadline, `the source did not return '${String(step["value"])}' within ${String(step["within_ms"])} ms`);
    await pause(50);
  }
}

// ---- small helpers -----------------------------------------------------------

function openSource(w: World): TokenSource {
  assert.ok(w.source, "no token source open");
  return w.source.source;
}

function savedToken(w: World, name: string): Token {
  const t = w.saved.get(name);
  assert.ok(t, `no token saved as '${name}'`);
  return t;
}

function assertRemaining(t: Token, minMs: number): void {
  const left = t.expireTime.getTime() - Date.now();
  assert.ok(left >= minMs, `a token with ${left} ms left (< ${minMs} ms)`);
}

function tokenText(t: Token): string {
  return t.accessToken;
}

function str(step: Step, key: string): string {
  const v = step[key];
  assert.equal(typeof v, "string", `'${key}' must be a string`);
  return v as string;
}

function num(step: Step, key: string): number {
  const v = step[key];
  assert.equal(typeof v, "number", `'${key}' must be a number`);
  return v as number;
}

/** The polling interval of the "until" ops (each has its own deadline). */
function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
