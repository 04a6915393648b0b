// The SDK's per-call overhead: cached GetAccessToken through
// TokenbrokerClient.getAccessToken against the bare generated grpc-js stub
// (TokenServiceClient, same channel options, same server), one sequential
// async caller (await in a loop), after warm-up. Run by overhead.sh.
//
// A third loop, the stub given the SDK's 10 s deadline, splits the overhead
// into what the contract asks of every call (a deadline: a grpc-js timer
// here, a grpc-timeout header and a server-side alarm) and the SDK's own code.
//
// The machine is shared and its load drifts within seconds, so the loops
// alternate in small batches (rotating which goes first) and each batch is
// compared with the stub's batch of the same round: the figures are totals
// over all batches, and the median of the per-round ratios shows how much
// noise moved the totals.
import { loadavg } from "node:os";
import { credentials, Metadata } from "@grpc/grpc-js";
import { AuthMethod, CHANNEL_DEFAULTS, DEFAULT_CALL_TIMEOUT_MS, TokenbrokerClient, stubs } from "@tokenbroker/client";
import { CLIENT_ID, CLIENT_SECRET, Emulator, ORG_ID, startBroker, tempDir } from "../test/harness.js";

const warmup = Number(process.env["OVERHEAD_WARMUP"] ?? "3000");
const batches = Number(process.env["OVERHEAD_BATCHES"] ?? "300");
const batchSize = Number(process.env["OVERHEAD_BATCH"] ?? "50");
const NAME = "integrations/bench";

interface Case {
  label: string;
  call: () => Promise<unknown>;
  wallMs: number;
  cpuUs: number;
  ratios: number[]; // batch wall time / the bare stub's in the same round
}

function newCase(label: string, call: () => Promise<unknown>): Case {
  return { label, call, wallMs: 0, cpuUs: 0, ratios: [] };
}

/** Wall ms of `n` sequential calls; adds them to the case's totals. */
async function batch(c: Case, n: number): Promise<number> {
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await c.call();
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu0);
  c.wallMs += wall;
  c.cpuUs += used.user + used.system;
  return wall;
}

/** cases[0] is the baseline. */
async function compare(cases: Case[]): Promise<void> {
  for (const c of cases) for (let i = 0; i < warmup; i++) await c.call();
  for (let b = 0; b < batches; b++) {
    const walls = new Map<Case, number>();
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(b + i) % cases.length]!;
      walls.set(c, await batch(c, batchSize));
    }
    for (const c of cases) c.ratios.push(walls.get(c)! / walls.get(cases[0]!)!);
  }
}

function report(cases: Case[]): void {
  const calls = batches * batchSize;
  const base = cases[0]!;
  const pct = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)} %`;
  for (const c of cases) {
    const sorted = [...c.ratios].sort((x, y) => x - y);
    const overhead = c === base ? "" :
      `  overhead ${pct((c.wallMs - base.wallMs) / base.wallMs)} (median round ${pct(sorted[sorted.length >> 1]! - 1)})`;
    console.log(
      `${c.label.padEnd(44)} ${String(Math.round((calls * 1000) / c.wallMs)).padStart(6)} calls/s ` +
        `${((c.wallMs * 1000) / calls).toFixed(1).padStart(7)} µs/call ${(c.cpuUs / calls).toFixed(1).padStart(6)} µs CPU/call${overhead}`,
    );
  }
  console.log("overhead = (t - t_stub) / t_stub per call, wall time; target for the SDK <= 10 %");
}

const dir = tempDir("tb-ts-overhead-");
const ims = await Emulator.start(dir);
const broker = await startBroker(dir, ims, ["--log-level=warning"]);
const target = `127.0.0.1:${broker.port}`;
const client = new TokenbrokerClient({ target, plaintext: true });
// The same channel options as the SDK's client.
const stub = new stubs.TokenServiceClient(target, credentials.createInsecure(), { ...CHANNEL_DEFAULTS });
try {
  await client.createIntegration("bench", {
    authMethod: AuthMethod.AUTH_METHOD_OAUTH_SERVER_TO_SERVER,
    clientId: CLIENT_ID,
    orgId: ORG_ID,
    scopes: ["openid", "AdobeID"],
    credentials: { clientSecrets: [CLIENT_SECRET] },
  });
  await client.getAccessToken("bench"); // the server caches it: every call below is a cache hit
  console.log(
    `TypeScript SDK overhead: node ${process.version}, one sequential caller, ${warmup} warm-up calls each, ` +
      `${batches} rounds of ${batchSize} calls per case, server 127.0.0.1:${broker.port}, load ${loadavg()[0]!.toFixed(2)}`,
  );
  const cases = [
    newCase("bare generated stub", () =>
      new Promise((resolve, reject) => stub.getAccessToken({ name: NAME }, (e, r) => (e ? reject(e) : resolve(r))))),
    newCase("bare generated stub + the SDK's 10 s deadline", () =>
      new Promise((resolve, reject) =>
        stub.getAccessToken({ name: NAME }, new Metadata(), { deadline: Date.now() + DEFAULT_CALL_TIMEOUT_MS }, (e, r) =>
          e ? reject(e) : resolve(r)))),
    newCase("SDK TokenbrokerClient.getAccessToken", () => client.getAccessToken("bench")),
  ];
  await compare(cases);
  report(cases);
  const exchanges = (await ims.stats()).total_exchanges;
  if (exchanges !== 1) throw new Error(`IMS saw ${exchanges} exchanges: the token was not cached`);
} finally {
  stub.close();
  client.close();
  await broker.stop();
  await ims.proc.stop();
}
