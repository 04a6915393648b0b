// The client's own behaviour against an in-process fake server and local
// HTTP servers (loopback only): errors, retries, deadlines, cancellation,
// caller tokens, TLS/mTLS options, the token source, fetch and axios.
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import axios from "axios";
import {
  Code,
  TokenbrokerClient,
  TokenbrokerError,
  adobeAxiosInterceptor,
  adobeHeaders,
  backoffDelayMs,
  createAdobeFetch,
  DEFAULT_RETRY,
  installAdobeAxiosInterceptor,
  type Token,
} from "@tokenbroker/client";
import { FakeTokenServer, richError } from "./fake_server.js";
import { makePki, tempDir } from "./harness.js";

const fast = { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 50 };

describe("TokenbrokerError", () => {
  test("from: decodes ErrorInfo, RetryInfo and the message from grpc-status-details-bin", () => {
    const e = TokenbrokerError.from(
      richError(Code.FAILED_PRECONDITION, "IMS rejected the credentials", "IMS_REJECTED", {
        ims_error: "invalid_client",
        x_debug_id: "dbg-1",
        http_status: "401",
      }, 1500),
    );
    assert.equal(e.code, Code.FAILED_PRECONDITION);
    assert.equal(e.codeName, "FAILED_PRECONDITION");
    assert.equal(e.reason, "IMS_REJECTED");
    assert.equal(e.domain, "tokenbroker.dev");
    assert.equal(e.imsError, "invalid_client");
    assert.equal(e.xDebugId, "dbg-1");
    assert.equal(e.httpStatus, 401);
    assert.equal(e.retryDelayMs, 1500);
    assert.equal(e.retryable, false);
    assert.match(e.message, /^FAILED_PRECONDITION: IMS rejected the credentials \(reason=IMS_REJECTED ims_error=invalid_client x_debug_id=dbg-1\)$/);
    assert.ok(e instanceof Error);
  });

  test("from: a non-gRPC error becomes UNKNOWN and keeps its cause", () => {
    const cause = new Error("boom");
    const e = TokenbrokerError.from(cause);
    assert.equal(e.code, Code.UNKNOWN);
    assert.equal(e.cause, cause);
    assert.equal(TokenbrokerError.from(e), e);
  });
});

describe("backoffDelayMs", () => {
  test("grows exponentially under full jitter, is capped, and honours a larger server hint", () => {
    const r = { ...DEFAULT_RETRY, initialBackoffMs: 100, maxBackoffMs: 1000, multiplier: 2 };
    assert.equal(backoffDelayMs(1, r, undefined, () => 1), 100);
    assert.equal(backoffDelayMs(3, r, undefined, () => 1), 400);
    assert.equal(backoffDelayMs(10, r, undefined, () => 1), 1000);
    assert.equal(backoffDelayMs(2, r, undefined, () => 0.5), 100);
    assert.equal(backoffDelayMs(1, r, 700, () => 0.5), 700);
    assert.equal(backoffDelayMs(1, r, 5000, () => 0.5), 1000);
  });
});

describe("TokenbrokerClient against a fake server", () => {
  let fake: FakeTokenServer;
  let dir: string;
  before(async () => {
    fake = await new FakeTokenServer().start();
    dir = tempDir();
  });
  after(() => fake.stop());

  const client = (opts: ConstructorParameters<typeof TokenbrokerClient>[0] = {}) =>
    new TokenbrokerClient({ target: fake.target, retry: fast, ...opts });

  test("getAccessToken: retries UNAVAILABLE, then succeeds", async () => {
    let n = 0;
    fake.onGetAccessToken = async () => {
      if (++n <= 2) throw richError(Code.UNAVAILABLE, "IMS unavailable", "IMS_UNAVAILABLE");
      return { token: fake.mint() };
    };
    const c = client();
    try {
      const t = await c.getAccessToken("x");
      assert.match(t.accessToken, /^tok-/);
      assert.equal(n, 3);
      assert.equal(fake.calls.getAccessToken.at(-1)!.name, "integrations/x");
    } finally {
      c.close();
    }
  });

  test("getAccessToken: gives up after maxAttempts with the last UNAVAILABLE", async () => {
    let n = 0;
    fake.onGetAccessToken = async () => {
      n++;
      throw richError(Code.UNAVAILABLE, "IMS unavailable", "IMS_UNAVAILABLE");
    };
    const c = client({ retry: { ...fast, maxAttempts: 2 } });
    try {
      await assert.rejects(c.getAccessToken("x"), (e: TokenbrokerError) => {
        assert.ok(e instanceof TokenbrokerError);
        assert.equal(e.code, Code.UNAVAILABLE);
        assert.equal(e.reason, "IMS_UNAVAILABLE");
        return true;
      });
      assert.equal(n, 2);
    } finally {
      c.close();
    }
  });

  test("getAccessToken: does not retry NOT_FOUND", async () => {
    let n = 0;
    fake.onGetAccessToken = async () => {
      n++;
      throw richError(Code.NOT_FOUND, "no integration x", "INTEGRATION_NOT_FOUND");
    };
    const c = client();
    try {
      await assert.rejects(c.getAccessToken("x"), { code: Code.NOT_FOUND, reason: "INTEGRATION_NOT_FOUND" });
      assert.equal(n, 1);
    } finally {
      c.close();
    }
  });

  test("timeoutMs: a slow call fails with DEADLINE_EXCEEDED", async () => {
    // A server slower than the deadline: the delay is what the test is about.
    fake.onGetAccessToken = () => new Promise((r) => setTimeout(() => r({ token: fake.mint() }), 1000));
    const c = client();
    try {
      const start = Date.now();
      await assert.rejects(c.getAccessToken("x", { timeoutMs: 100 }), { code: Code.DEADLINE_EXCEEDED });
      assert.ok(Date.now() - start < 900);
    } finally {
      c.close();
    }
  });

  test("signal: aborting cancels the call with CANCELLED", async () => {
    const ac = new AbortController();
    // Aborted once the call has reached the server, which has not answered yet.
    fake.onGetAccessToken = () => {
      ac.abort();
      return new Promise((r) => setTimeout(() => r({ token: fake.mint() }), 1000));
    };
    const c = client();
    try {
      await assert.rejects(c.getAccessToken("x", { signal: ac.signal }), { code: Code.CANCELLED });
    } finally {
      c.close();
    }
  });

  test("minRemainingValidityMs: sent as a Duration", async () => {
    fake.onGetAccessToken = async () => ({ token: fake.mint() });
    const c = client();
    try {
      await c.getAccessToken("integrations/x", { minRemainingValidityMs: 90_500 });
      assert.equal(fake.calls.getAccessToken.at(-1)!.minRemainingValidityMs, 90_500);
    } finally {
      c.close();
    }
  });

  test("callerToken: sent as 'authorization: Bearer <token>'", async () => {
    fake.onGetAccessToken = async () => ({ token: fake.mint() });
    const c = client({ callerToken: "caller-secret" });
    try {
      await c.getAccessToken("x");
      assert.deepEqual(fake.calls.getAccessToken.at(-1)!.metadata.get("authorization"), ["Bearer caller-secret"]);
    } finally {
      c.close();
    }
  });

  test("callerTokenFile: read from the file and re-read after it changes", async () => {
    fake.onGetAccessToken = async () => ({ token: fake.mint() });
    const file = join(dir, "caller-token");
    writeFileSync(file, "first\n");
    const c = client({ callerTokenFile: file, callerTokenRefreshMs: 0 });
    try {
      await c.getAccessToken("x");
      assert.deepEqual(fake.calls.getAccessToken.at(-1)!.metadata.get("authorization"), ["Bearer first"]);
      writeFileSync(file, "second\n");
      await c.getAccessToken("x");
      assert.deepEqual(fake.calls.getAccessToken.at(-1)!.metadata.get("authorization"), ["Bearer second"]);
    } finally {
      c.close();
    }
  });

  test("callerTokenFile: a missing file fails at construction", () => {
    assert.throws(() => client({ callerTokenFile: join(dir, "missing") }), /ENOENT/);
  });
});

describe("TLS options against a fake TLS server", () => {
  let dir: string;
  let pki: ReturnType<typeof makePki>;
  let tlsServer: FakeTokenServer;
  let mtlsServer: FakeTokenServer;
  before(async () => {
    dir = tempDir();
    pki = makePki(dir);
    const keyPair = [{ private_key: readFileSync(pki.serverKey), cert_chain: readFileSync(pki.serverCert) }];
    tlsServer = await new FakeTokenServer().start(grpc.ServerCredentials.createSsl(null, keyPair, false));
    mtlsServer = await new FakeTokenServer().start(
      grpc.ServerCredentials.createSsl(readFileSync(pki.caFile), keyPair, true),
    );
  });
  after(() => {
    tlsServer.stop();
    mtlsServer.stop();
  });

  test("tls.caFile: verifies the server by IP SAN", async () => {
    const c = new TokenbrokerClient({ target: tlsServer.target, tls: { caFile: pki.caFile }, retry: false });
    try {
      assert.match((await c.getAccessToken("x")).accessToken, /^tok-/);
    } finally {
      c.close();
    }
  });

  test("tls.serverNameOverride: verifies the certificate for that name", async () => {
    const ok = new TokenbrokerClient({
      target: tlsServer.target,
      tls: { ca: readFileSync(pki.caFile), serverNameOverride: "tokenbroker.test" },
      retry: false,
    });
    const wrong = new TokenbrokerClient({
      target: tlsServer.target,
      tls: { caFile: pki.caFile, serverNameOverride: "other.test" },
      retry: false,
      timeoutMs: 3000,
    });
    try {
      assert.match((await ok.getAccessToken("x")).accessToken, /^tok-/);
      await assert.rejects(wrong.getAccessToken("x"), { code: Code.UNAVAILABLE });
    } finally {
      ok.close();
      wrong.close();
    }
  });

  test("tls: an unknown CA is refused with UNAVAILABLE", async () => {
    const c = new TokenbrokerClient({ target: tlsServer.target, tls: true, retry: false, timeoutMs: 3000 });
    try {
      await assert.rejects(c.getAccessToken("x"), { code: Code.UNAVAILABLE });
    } finally {
      c.close();
    }
  });

  test("mTLS: a client certificate is accepted, none is refused", async () => {
    const ok = new TokenbrokerClient({
      target: mtlsServer.target,
      tls: { caFile: pki.caFile, certFile: pki.clientCert, keyFile: pki.clientKey },
      retry: false,
    });
    const bare = new TokenbrokerClient({ target: mtlsServer.target, tls: { caFile: pki.caFile }, retry: false, timeoutMs: 3000 });
    try {
      assert.match((await ok.getAccessToken("x")).accessToken, /^tok-/);
      await assert.rejects(bare.getAccessToken("x"), { code: Code.UNAVAILABLE });
    } finally {
      ok.close();
      bare.close();
    }
  });

  test("mTLS: a certificate without its key is a usage error", () => {
    assert.throws(
      () => new TokenbrokerClient({ target: mtlsServer.target, tls: { certFile: pki.clientCert } }),
      /both a client certificate and its key/,
    );
  });
});

describe("TokenSource against a fake server", () => {
  let fake: FakeTokenServer;
  before(async () => {
    fake = await new FakeTokenServer().start();
  });
  after(() => fake.stop());

  test("token: 100 concurrent callers of a cold source share one GetAccessToken", async () => {
    // The call is held open until all 100 callers have asked.
    let release: (() => void) | undefined;
    fake.onGetAccessToken = () => new Promise((r) => (release = () => r({ token: fake.mint() })));
    const before = fake.calls.getAccessToken.length;
    const c = new TokenbrokerClient({ target: fake.target });
    const source = c.tokenSource("x", { watch: false });
    try {
      const all = Promise.all(Array.from({ length: 100 }, () => source.token()));
      await waitFor(() => release !== undefined, 5000);
      release!();
      const tokens = await all;
      assert.equal(new Set(tokens.map((t) => t.accessToken)).size, 1);
      assert.equal(fake.calls.getAccessToken.length - before, 1);
      await source.token(); // cached: no call
      assert.equal(fake.calls.getAccessToken.length - before, 1);
      assert.equal(source.stats.fetches, 1);
    } finally {
      c.close();
    }
  });

  test("token: ahead of expiry, asks for a successor with half a lifetime of validity", async () => {
    fake.lifetimeMs = 1000;
    fake.onGetAccessToken = async () => ({ token: fake.mint() });
    const c = new TokenbrokerClient({ target: fake.target });
    const seen: Token[] = [];
    const source = c.tokenSource("x", { watch: false, onToken: (t) => seen.push(t) });
    try {
      const first = await source.token();
      const before = fake.calls.getAccessToken.length;
      // The refresh timer fires at 80 % of the lifetime (800 ms).
      await waitFor(() => seen.length >= 2, 3000);
      assert.ok(Date.now() < first.expireTime.getTime(), "successor arrived before expiry");
      assert.equal(fake.calls.getAccessToken.at(before)!.minRemainingValidityMs, 500);
      assert.notEqual((await source.token()).accessToken, first.accessToken);
    } finally {
      fake.lifetimeMs = 60_000;
      c.close();
    }
  });

  test("token: the stream's tokens replace the cache; a failed stream reconnects", async () => {
    fake.onGetAccessToken = async () => ({ token: fake.mint() });
    let streams = 0;
    fake.onWatch = (call) => {
      if (++streams === 1) {
        call.emit("error", { code: Code.UNAVAILABLE, details: "going away" });
        return;
      }
      call.write({ token: fake.mint() });
    };
    const c = new TokenbrokerClient({ target: fake.target });
    const errors: TokenbrokerError[] = [];
    const seen: Token[] = [];
    const source = c.tokenSource("x", { onError: (e) => errors.push(e), onToken: (t) => seen.push(t) });
    try {
      const first = await source.token();
      await waitFor(() => seen.length >= 2, 5000);
      const now = await source.token();
      assert.notEqual(now.accessToken, first.accessToken);
      assert.equal(source.stats.fetches, 1);
      assert.equal(source.stats.streamsOpened, 2);
      assert.equal(errors[0]?.code, Code.UNAVAILABLE);
    } finally {
      fake.onWatch = () => {};
      c.close();
    }
  });

  test("headers: Authorization carries the source's token; other headers from GetRequestHeaders", async () => {
    fake.onGetAccessToken = async () => ({ token: fake.mint() });
    const c = new TokenbrokerClient({ target: fake.target });
    const source = c.tokenSource("x", { watch: false });
    try {
      const t = await source.token();
      const h = await source.headers();
      assert.deepEqual(h, { Authorization: `Bearer ${t.accessToken}`, "x-api-key": "client-id" });
      await source.headers();
      assert.equal(source.stats.headerFetches, 1);
    } finally {
      c.close();
    }
  });

  test("close: later calls reject with CANCELLED", async () => {
    const c = new TokenbrokerClient({ target: fake.target });
    const source = c.tokenSource("x", { watch: false });
    source.close();
    await assert.rejects(source.token(), { code: Code.CANCELLED });
    c.close();
  });
});

describe("HTTP helpers", () => {
  let server: Server;
  let url: string;
  const source = { headers: async () => ({ Authorization: "Bearer t0k", "x-api-key": "c1" }) };
  before(async () => {
    server = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(req.headers));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/echo`;
  });
  after(() => server.close());

  test("adobeHeaders: sets the headers over the caller's", async () => {
    const h = await adobeHeaders(source, { authorization: "old", accept: "application/json" });
    assert.equal(h.get("authorization"), "Bearer t0k");
    assert.equal(h.get("accept"), "application/json");
  });

  test("createAdobeFetch: every request carries the headers", async () => {
    const adobeFetch = createAdobeFetch(source);
    const echoed = (await (await adobeFetch(url, { headers: { "x-extra": "1" } })).json()) as IncomingHttpHeaders;
    assert.equal(echoed.authorization, "Bearer t0k");
    assert.equal(echoed["x-api-key"], "c1");
    assert.equal(echoed["x-extra"], "1");
  });

  test("adobeAxiosInterceptor: axios requests carry the headers", async () => {
    const ax = axios.create();
    const eject = installAdobeAxiosInterceptor(ax, source);
    const res = await ax.get<IncomingHttpHeaders>(url, { headers: { "x-extra": "2" } });
    assert.equal(res.data.authorization, "Bearer t0k");
    assert.equal(res.data["x-api-key"], "c1");
    assert.equal(res.data["x-extra"], "2");
    eject();
    const plain = await ax.get<IncomingHttpHeaders>(url);
    assert.equal(plain.data.authorization, undefined);
    // The bare interceptor also works on a plain-object config.
    const cfg = await adobeAxiosInterceptor(source)({ headers: { a: "b" } });
    assert.deepEqual(cfg.headers, { a: "b", Authorization: "Bearer t0k", "x-api-key": "c1" });
  });
});

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
