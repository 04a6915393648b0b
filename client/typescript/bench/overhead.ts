// The SDK's per-call overhead: cached GetAccessToken through
// TokenbrokerClient.getAccessToken against the bare generated grpc-js stub
// (TokenServiceClient, same channel options, same server), one sequential
// async caller (await in a loop), after warm-up. Run by overhead.sh.
//
// The machine is shared and its load drifts within seconds, so the two
// loops alternate in small batches and every batch pair is compared under
// the same conditions: the figures are totals over all batches, and the
// median of the pairs' ratios shows how much noise moved the total.
import { loadavg } from "node:os";
import { credentials } from "@grpc/grpc-js";
import { AuthMethod, TokenbrokerClient, stubs } from "@tokenbroker/client";
import { CLIENT_ID, CLIENT_SECRET, Emulator, ORG_ID, startBroker, tempDir } from "../test/harness.js";

const warmup = Number(process.env["OVERHEAD_WARMUP"] ?? "3000");
const batches = Number(process.env["OVERHEAD_BATCHES"] ?? "400");
const batchSize = Number(process.env["OVERHEAD_BATCH"] ?? "50");
const NAME = "integrations/bench";

type Call = () => Promise<unknown>;

interface Result {
  stubMs: number;
  sdkMs: number;
  stubCpuUs: number;
  sdkCpuUs: number;
  calls: number;
  medianRatio: number;
}

/** Wall ms of `n` sequential calls; adds this process's CPU µs to `cpu[0]`. */
async function loop(fn: Call, n: number, cpu: [number] = [0]): Promise<number> {
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu0);
  cpu[0] += used.user + used.system;
  return wall;
}

async function compare(stub: Call, sdk: Call): Promise<Result> {
  await loop(stub, warmup);
  await loop(sdk, warmup);
  let stubMs = 0;
  let sdkMs = 0;
  const stubCpu: [number] = [0];
  const sdkCpu: [number] = [0];
  const ratios: number[] = [];
  for (let b = 0; b < batches; b++) {
    // Alternate which goes first, so neither always follows the other.
    const stubFirst = b % 2 === 0;
    const st0 = stubFirst ? await loop(stub, batchSize, stubCpu) : 0;
    const sd = await loop(sdk, batchSize, sdkCpu);
    const st = stubFirst ? st0 : await loop(stub, batchSize, stubCpu);
    stubMs += st;
    sdkMs += sd;
    ratios.push(sd / st);
  }
  ratios.sort((x, y) => x - y);
  const calls = batches * batchSize;
  return {
    stubMs,
    sdkMs,
    stubCpuUs: stubCpu[0] / calls,
    sdkCpuUs: sdkCpu[0] / calls,
    calls,
    medianRatio: ratios[Math.floor(ratios.length / 2)]!,
  };
}

function report(r: Result): void {
  const rate = (ms: number) => Math.round((r.calls * 1000) / ms);
  const perCall = (ms: number) => ((ms * 1000) / r.calls).toFixed(1);
  const pct = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)} %`;
  const cpu = (us: number) => `${us.toFixed(1)} µs client CPU/call`;
  console.log(`bare generated stub (TokenServiceClient.getAccessToken): ${rate(r.stubMs)} calls/s, ${perCall(r.stubMs)} µs/call, ${cpu(r.stubCpuUs)}`);
  console.log(`SDK (TokenbrokerClient.getAccessToken):                ${rate(r.sdkMs)} calls/s, ${perCall(r.sdkMs)} µs/call, ${cpu(r.sdkCpuUs)}`);
  console.log(
    `SDK overhead per call (t_sdk - t_stub) / t_stub: ${pct(((r.sdkMs - r.stubMs) / r.stubMs) * 100)} ` +
      `(median of ${batches} batch pairs: ${pct((r.medianRatio - 1) * 100)}; target <= 10 %)`,
  );
}

const dir = tempDir("tb-ts-overhead-");
const ims = await Emulator.start(dir);
const broker = await startBroker(dir, ims, ["--log-level=warning"]);
const target = `127.0.0.1:${broker.port}`;
const client = new TokenbrokerClient({ target, plaintext: true });
// The same channel options as the SDK's client (it adds none by default).
const stub = new stubs.TokenServiceClient(target, credentials.createInsecure(), {});
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
      `${batches} alternating batches of ${batchSize} calls each, server 127.0.0.1:${broker.port}, load ${loadavg()[0]!.toFixed(2)}`,
  );
  const stubCall: Call = () =>
    new Promise((resolve, reject) => stub.getAccessToken({ name: NAME }, (e, r) => (e ? reject(e) : resolve(r))));
  const sdkCall: Call = () => client.getAccessToken("bench");
  report(await compare(stubCall, sdkCall));
  const exchanges = (await ims.stats()).total_exchanges;
  if (exchanges !== 1) throw new Error(`IMS saw ${exchanges} exchanges: the token was not cached`);
} finally {
  stub.close();
  client.close();
  await broker.stop();
  await ims.proc.stop();
}
