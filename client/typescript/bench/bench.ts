// Cached-token calls/s of ONE sequential async caller (await in a loop)
// through the SDK, against a local tokenbroker + ims-emulator (loopback).
// Not part of the tests: `npm run bench` (BENCH_SECONDS per case, default 5).
import { loadavg } from "node:os";
import { AuthMethod, TokenbrokerClient } from "@tokenbroker/client";
import { CLIENT_ID, CLIENT_SECRET, Emulator, ORG_ID, startBroker, tempDir } from "../test/harness.js";

// The VM's 2 cores are shared with other work, so each case runs in rounds
// and reports the best and the median round, plus this process's CPU time
// per call (the SDK's own cost, which contention inflates less).
const seconds = Number(process.env["BENCH_SECONDS"] ?? "5");
const rounds = Number(process.env["BENCH_ROUNDS"] ?? "5");

async function measure(label: string, fn: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 500; i++) await fn(); // warm-up
  const rates: number[] = [];
  let calls = 0;
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    const end = start + (seconds * 1000) / rounds;
    let n = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 50; i++) await fn();
      n += 50;
    }
    rates.push(n / ((performance.now() - start) / 1000));
    calls += n;
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuUsPerCall = (cpu.user + cpu.system) / calls;
  rates.sort((a, b) => a - b);
  const best = rates[rates.length - 1]!;
  const median = rates[Math.floor(rates.length / 2)]!;
  const fmt = (x: number) => Math.round(x).toString().padStart(9);
  console.log(
    `${label.padEnd(52)} best ${fmt(best)}/s  median ${fmt(median)}/s  ` +
      `client CPU ${cpuUsPerCall.toFixed(cpuUsPerCall < 10 ? 2 : 0).padStart(6)} µs/call  (${calls} calls)`,
  );
}

const dir = tempDir("tb-ts-bench-");
const ims = await Emulator.start(dir);
const broker = await startBroker(dir, ims, ["--log-level=warning"]);
const client = new TokenbrokerClient({ target: `127.0.0.1:${broker.port}`, plaintext: true });
try {
  await client.createIntegration("bench", {
    authMethod: AuthMethod.AUTH_METHOD_OAUTH_SERVER_TO_SERVER,
    clientId: CLIENT_ID,
    orgId: ORG_ID,
    scopes: ["openid", "AdobeID"],
    credentials: { clientSecrets: [CLIENT_SECRET] },
  });
  console.log(
    `node ${process.version}, ${seconds} s per case, one sequential caller, server on 127.0.0.1:${broker.port}, ` +
      `load average ${loadavg()[0]!.toFixed(2)}`,
  );
  // The raw generated stub, for the SDK's overhead.
  const raw = client.tokenService;
  await measure("raw grpc-js stub getAccessToken (callback → promise)", () =>
    new Promise((resolve, reject) => raw.getAccessToken({ name: "integrations/bench" }, (e, r) => (e ? reject(e) : resolve(r)))),
  );
  await measure("client.getAccessToken (RPC, server-cached token)", () => client.getAccessToken("bench"));
  await measure("client.getRequestHeaders (RPC, server-cached token)", () => client.getRequestHeaders("bench"));
  const source = client.tokenSource("bench");
  await measure("tokenSource.token() (client-cached, no RPC)", () => source.token());
  await measure("tokenSource.headers() (client-cached, no RPC)", () => source.headers());
  console.log(`IMS exchanges during the run: ${(await ims.stats()).total_exchanges}; load average ${loadavg()[0]!.toFixed(2)}`);
} finally {
  client.close();
  await broker.stop();
  await ims.proc.stop();
}
