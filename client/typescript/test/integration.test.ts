// The SDK against the real binaries (ims-emulator + tokenbroker on free
// loopback ports, started and stopped here): tokens, headers, rotation on
// the watch stream, error mapping, integrations, TLS and mTLS.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  AuthMethod,
  Code,
  ImportAction,
  TokenbrokerClient,
  TokenbrokerError,
  createAdobeFetch,
  type ClientOptions,
  type Token,
} from "@tokenbroker/client";
import {
  CLIENT_ID,
  CLIENT_SECRET,
  Emulator,
  ORG_ID,
  SHORT_CLIENT_ID,
  createCallerToken,
  makePki,
  startBroker,
  tempDir,
  type Proc,
} from "./harness.js";

const s2s = (clientId: string, secret: string) => ({
  authMethod: AuthMethod.AUTH_METHOD_OAUTH_SERVER_TO_SERVER,
  clientId,
  orgId: ORG_ID,
  scopes: ["openid", "AdobeID"],
  credentials: { clientSecrets: [secret] },
});

// One emulator for the whole file (it takes ~1 s to start: it makes its keys).
const dir = tempDir();
let ims: Emulator;
before(async () => {
  ims = await Emulator.start(dir);
});
after(async () => {
  await ims?.proc.stop();
});

describe("against the real tokenbroker", () => {
  let broker: Proc;
  let client: TokenbrokerClient;
  const clientFor = (opts: ClientOptions = {}) =>
    new TokenbrokerClient({ target: `127.0.0.1:${broker.port}`, plaintext: true, ...opts });

  before(async () => {
    // One IMS attempt per exchange, so "IMS down" surfaces at once.
    broker = await startBroker(dir, ims, ["--ims-max-attempts=1"]);
    client = clientFor();
    await client.createIntegration("good", s2s(CLIENT_ID, CLIENT_SECRET));
    await client.createIntegration("short", s2s(SHORT_CLIENT_ID, CLIENT_SECRET));
    await client.createIntegration("rejected", s2s(CLIENT_ID, "not-the-secret"));
  });

  after(async () => {
    client?.close();
    await broker?.stop();
  });

  test("getAccessToken: a token valid for the emulator's lifetime", async () => {
    const t = await client.getAccessToken("good");
    assert.match(t.accessToken, /^ey/);
    assert.equal(t.tokenType, "bearer");
    assert.equal(t.integration, "integrations/good");
    assert.ok(t.expireTime.getTime() - Date.now() > 23 * 3600_000);
    // Cached on the server: the same token again, one exchange in all.
    assert.equal((await client.getAccessToken("integrations/good")).accessToken, t.accessToken);
  });

  test("getRequestHeaders: Authorization and x-api-key", async () => {
    const t = await client.getAccessToken("good");
    const { headers, expireTime } = await client.getRequestHeaders("good");
    assert.equal(headers["Authorization"], `Bearer ${t.accessToken}`);
    assert.equal(headers["x-api-key"], CLIENT_ID);
    assert.equal(expireTime.getTime(), t.expireTime.getTime());
  });

  test("TokenSource: 200 concurrent cold callers → one GetAccessToken, one IMS exchange", async () => {
    await client.createIntegration("cold", s2s(CLIENT_ID, CLIENT_SECRET));
    const before = (await ims.stats()).exchanges[CLIENT_ID] ?? 0;
    const source = client.tokenSource("cold");
    try {
      const tokens = await Promise.all(Array.from({ length: 200 }, () => source.token()));
      assert.equal(new Set(tokens.map((t) => t.accessToken)).size, 1);
      assert.equal(source.stats.fetches, 1);
      assert.equal(((await ims.stats()).exchanges[CLIENT_ID] ?? 0) - before, 1);
      const headers = await source.headers();
      assert.equal(headers["Authorization"], `Bearer ${tokens[0]!.accessToken}`);
      assert.equal(headers["x-api-key"], CLIENT_ID);
    } finally {
      source.close();
    }
  });

  test("rotation (3 s tokens): the stream brings a successor before expiry, the source serves it", async () => {
    const arrivals: Array<{ token: Token; at: number }> = [];
    const source = client.tokenSource("short", { onToken: (token) => arrivals.push({ token, at: Date.now() }) });
    // The raw stream alongside: its first two tokens.
    const ac = new AbortController();
    const streamed: Token[] = [];
    const watching = (async () => {
      for await (const t of client.watchAccessTokens("short", { signal: ac.signal })) {
        streamed.push(t);
        if (streamed.length === 2) ac.abort();
      }
    })();
    try {
      const first = await source.token();
      await waitFor(() => arrivals.some((a) => a.token.accessToken !== first.accessToken), 8000);
      const next = arrivals.find((a) => a.token.accessToken !== first.accessToken)!;
      assert.ok(next.at < first.expireTime.getTime(), "successor arrived before the first token expired");
      assert.ok(next.token.expireTime > first.expireTime);
      const served = await source.token();
      assert.equal(served.accessToken, next.token.accessToken);
      assert.ok(source.stats.streamTokens >= 2, `stream tokens: ${source.stats.streamTokens}`);
      // At most the first fetch and one ahead-of-expiry fallback.
      assert.ok(source.stats.fetches <= 2, `fetches: ${source.stats.fetches}`);
      await Promise.race([watching, sleep(8000, { unref: true })]);
      assert.equal(streamed.length, 2);
      assert.notEqual(streamed[0]!.accessToken, streamed[1]!.accessToken);
    } finally {
      ac.abort();
      source.close();
    }
  });

  test("rotation without the stream: the fallback asks GetAccessToken before expiry", async () => {
    const arrivals: Array<{ token: Token; at: number }> = [];
    const source = client.tokenSource("short", { watch: false, onToken: (token) => arrivals.push({ token, at: Date.now() }) });
    try {
      const first = await source.token();
      await waitFor(() => arrivals.some((a) => a.token.expireTime > first.expireTime), 8000);
      const next = arrivals.find((a) => a.token.expireTime > first.expireTime)!;
      assert.ok(next.at < first.expireTime.getTime(), "successor arrived before the first token expired");
      assert.equal(source.stats.streamsOpened, 0);
      assert.equal(source.stats.fetches, 2);
    } finally {
      source.close();
    }
  });

  test("TokenSource: deleting the integration ends the stream with NOT_FOUND and drops the cached token", async () => {
    await client.createIntegration("doomed", s2s(CLIENT_ID, CLIENT_SECRET));
    const errors: TokenbrokerError[] = [];
    const source = client.tokenSource("doomed", { onError: (e) => errors.push(e) });
    try {
      await source.token();
      await waitFor(() => source.stats.streamTokens >= 1, 5000);
      await client.deleteIntegration("doomed");
      await waitFor(() => errors.length >= 1, 5000);
      assert.equal(errors[0]!.code, Code.NOT_FOUND);
      await assert.rejects(source.token(), { code: Code.NOT_FOUND });
    } finally {
      source.close();
    }
  });

  test("errors: unknown integration → NOT_FOUND (INTEGRATION_NOT_FOUND)", async () => {
    await assert.rejects(client.getAccessToken("no-such-integration"), (e: unknown) => {
      assert.ok(e instanceof TokenbrokerError);
      assert.equal(e.code, Code.NOT_FOUND);
      assert.equal(e.codeName, "NOT_FOUND");
      assert.equal(e.reason, "INTEGRATION_NOT_FOUND");
      assert.equal(e.domain, "tokenbroker.dev");
      assert.match(e.message, /no-such-integration/);
      return true;
    });
  });

  test("errors: a wrong secret → FAILED_PRECONDITION with imsError and xDebugId", async () => {
    await assert.rejects(client.getAccessToken("rejected"), (e: unknown) => {
      assert.ok(e instanceof TokenbrokerError);
      assert.equal(e.code, Code.FAILED_PRECONDITION);
      assert.equal(e.reason, "IMS_REJECTED");
      assert.equal(e.imsError, "invalid_client");
      assert.match(e.xDebugId ?? "", /^[0-9a-f]{8,}$/);
      assert.equal(e.httpStatus, 401);
      assert.ok(!e.message.includes("not-the-secret"), "no secret in the message");
      return true;
    });
  });

  test("errors: IMS down and no cached token → UNAVAILABLE after the client's retries; a cached token is still served", async () => {
    await client.createIntegration("cold-down", s2s(CLIENT_ID, CLIENT_SECRET));
    const c = clientFor({ retry: { maxAttempts: 3, initialBackoffMs: 20, maxBackoffMs: 100 } });
    const cached = await c.getAccessToken("good");
    await ims.setDown(true);
    try {
      const start = Date.now();
      await assert.rejects(c.getAccessToken("cold-down"), (e: unknown) => {
        assert.ok(e instanceof TokenbrokerError);
        assert.equal(e.code, Code.UNAVAILABLE);
        assert.equal(e.reason, "IMS_UNAVAILABLE");
        assert.equal(e.retryable, true);
        assert.ok(e.xDebugId);
        return true;
      });
      assert.ok(Date.now() - start < 5000);
      assert.equal((await c.getAccessToken("good")).accessToken, cached.accessToken);
    } finally {
      await ims.setDown(false);
      c.close();
    }
  });

  test("errors: a bad integration id → INVALID_ARGUMENT naming the field", async () => {
    await assert.rejects(client.createIntegration("Not_Valid", s2s(CLIENT_ID, CLIENT_SECRET)), (e: unknown) => {
      assert.ok(e instanceof TokenbrokerError);
      assert.equal(e.code, Code.INVALID_ARGUMENT);
      assert.equal(e.reason, "INVALID_FIELD");
      assert.equal(e.field, "integration_id");
      assert.equal(e.fieldViolations[0]?.field, "integration_id");
      return true;
    });
  });

  test("integrations: get, list, update with etag, delete", async () => {
    const created = await client.createIntegration("crud", { ...s2s(CLIENT_ID, CLIENT_SECRET), displayName: "CRUD" });
    assert.equal(created.name, "integrations/crud");
    assert.deepEqual(created.credentials, undefined, "no secrets returned");
    assert.match(created.credentialInfo?.clientSecretFingerprints[0] ?? "", /^sha256:/);
    assert.equal((await client.getIntegration("crud")).displayName, "CRUD");
    const names: string[] = [];
    for await (const i of client.listAllIntegrations({ pageSize: 2 })) names.push(i.name);
    assert.ok(names.includes("integrations/crud") && names.includes("integrations/good"));
    const updated = await client.updateIntegration({ name: "crud", displayName: "Renamed", etag: created.etag }, ["display_name"]);
    assert.equal(updated.displayName, "Renamed");
    await assert.rejects(client.deleteIntegration("crud", { etag: created.etag }), { code: Code.ABORTED });
    await client.deleteIntegration("crud", { etag: updated.etag });
    await assert.rejects(client.getIntegration("crud"), { code: Code.NOT_FOUND });
  });

  test("importIntegrations: validateOnly writes nothing; then an import creates the integration, once", async () => {
    // A Developer Console "Download JSON" of a workspace with one S2S credential and one JWT-only one.
    const download = JSON.stringify({
      project: {
        id: "4566",
        name: "billing",
        org: { id: "25591412", name: "Acme", ims_org_id: ORG_ID },
        workspace: {
          id: "1356",
          name: "Production",
          details: {
            credentials: [
              {
                id: "17950",
                name: "Billing S2S",
                integration_type: "oauth_server_to_server",
                oauth_server_to_server: {
                  client_id: CLIENT_ID,
                  client_secrets: [CLIENT_SECRET],
                  technical_account_id: "T@techacct.adobe.com",
                  technical_account_email: "t@techacct.adobe.com",
                  scopes: ["openid", "AdobeID"],
                },
              },
              { id: "17951", name: "Old JWT", integration_type: "service", jwt: { client_id: "c9", technical_account_id: "T9@techacct.adobe.com" } },
            ],
          },
        },
      },
    });
    const dry = await client.importIntegrations({ credentialFile: download, validateOnly: true });
    assert.equal(dry.imported.length, 1);
    assert.equal(dry.imported[0]!.action, ImportAction.ACTION_CREATED);
    assert.equal(dry.imported[0]!.integration?.name, "integrations/billing-s2s");
    assert.equal(dry.imported[0]!.integration?.clientId, CLIENT_ID);
    assert.equal(dry.imported[0]!.integration?.credentials, undefined, "no secrets returned");
    assert.equal(dry.imported[0]!.jsonPath, "project.workspace.details.credentials[0]");
    assert.deepEqual(dry.skipped.map((x) => x.credentialName), ["Old JWT"]);
    await assert.rejects(client.getIntegration("billing-s2s"), { code: Code.NOT_FOUND }, "validateOnly wrote nothing");

    const done = await client.importIntegrations({ credentialFile: Buffer.from(download), credentialName: "Billing S2S" });
    assert.equal(done.imported[0]!.action, ImportAction.ACTION_CREATED);
    assert.equal((await client.getIntegration("billing-s2s")).clientId, CLIENT_ID);
    assert.match((await client.getAccessToken("billing-s2s")).accessToken, /^ey/);
    await assert.rejects(client.importIntegrations({ credentialFile: download }), (e: unknown) => {
      assert.ok(e instanceof TokenbrokerError);
      assert.equal(e.code, Code.ALREADY_EXISTS);
      return true;
    });
    await assert.rejects(client.importIntegrations({ credentialFile: "{}", validateOnly: true }), { code: Code.INVALID_ARGUMENT });
    await client.deleteIntegration("billing-s2s");
  });

  test("secrets and migration: the server's refusals arrive as typed errors", async () => {
    // "good" was created by hand: no Developer Console ids, and already OAuth S2S.
    await assert.rejects(client.listClientSecrets("good"), { code: Code.FAILED_PRECONDITION });
    await assert.rejects(client.rotateClientSecret("integrations/good", { immediate: true }), { code: Code.FAILED_PRECONDITION });
    await assert.rejects(client.listClientSecrets("missing"), { code: Code.NOT_FOUND });
    await assert.rejects(client.migrateIntegration("good", { scopes: ["openid"] }), (e: unknown) => {
      assert.ok(e instanceof TokenbrokerError);
      assert.equal(e.code, Code.FAILED_PRECONDITION);
      return true;
    });
    await assert.rejects(client.migrateIntegration("missing", { scopes: ["openid"] }), { code: Code.NOT_FOUND });
  });

  test("createAdobeFetch: an Adobe API call carries the broker's headers", async () => {
    const api: Server = createServer((req, res) => res.end(JSON.stringify(req.headers)));
    await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
    const source = client.tokenSource("good", { watch: false });
    try {
      const adobeFetch = createAdobeFetch(source);
      const port = (api.address() as { port: number }).port;
      const echoed = (await (await adobeFetch(`http://127.0.0.1:${port}/data/foundation/catalog/dataSets`)).json()) as IncomingHttpHeaders;
      assert.equal(echoed.authorization, `Bearer ${(await source.token()).accessToken}`);
      assert.equal(echoed["x-api-key"], CLIENT_ID);
    } finally {
      source.close();
      api.close();
    }
  });
});

describe("against the real tokenbroker over TLS", () => {
  const procs: Proc[] = [];
  let pki: ReturnType<typeof makePki>;

  before(() => {
    pki = makePki(tempDir());
  });
  after(async () => {
    for (const p of procs) await p.stop();
  });

  test("TLS (openssl-made cert, SAN IP:127.0.0.1): caFile verifies the server", async () => {
    const broker = await startBroker(dir, ims, [`--tls-cert=${pki.serverCert}`, `--tls-key=${pki.serverKey}`]);
    procs.push(broker);
    const target = `127.0.0.1:${broker.port}`;
    const c = new TokenbrokerClient({ target, tls: { caFile: pki.caFile } });
    const plain = new TokenbrokerClient({ target, plaintext: true, retry: false, callTimeoutMs: 3000 });
    try {
      await c.createIntegration("tls", s2s(CLIENT_ID, CLIENT_SECRET));
      assert.match((await c.getAccessToken("tls")).accessToken, /^ey/);
      await assert.rejects(plain.getAccessToken("tls"), { code: Code.UNAVAILABLE });
    } finally {
      c.close();
      plain.close();
    }
  });

  test("mTLS: a client certificate is required and accepted", async () => {
    const broker = await startBroker(dir, ims, [
      `--tls-cert=${pki.serverCert}`,
      `--tls-key=${pki.serverKey}`,
      `--client-ca-file=${pki.caFile}`,
    ]);
    procs.push(broker);
    const target = `127.0.0.1:${broker.port}`;
    const c = new TokenbrokerClient({
      target,
      tls: { caFile: pki.caFile, certFile: pki.clientCert, keyFile: pki.clientKey },
    });
    const noCert = new TokenbrokerClient({ target, tls: { caFile: pki.caFile }, retry: false, callTimeoutMs: 3000 });
    try {
      await c.createIntegration("mtls", s2s(CLIENT_ID, CLIENT_SECRET));
      assert.match((await c.getAccessToken("mtls")).accessToken, /^ey/);
      await assert.rejects(noCert.getAccessToken("mtls"), { code: Code.UNAVAILABLE });
    } finally {
      c.close();
      noCert.close();
    }
  });
});

describe("against the real tokenbroker with a caller policy", () => {
  let broker: Proc | undefined;
  let admin: { token: string; entry: object };
  let reader: { token: string; entry: object };
  const tokenFile = join(dir, "admin.token");

  before(async () => {
    admin = createCallerToken("svc-admin");
    reader = createCallerToken("svc-reader");
    writeFileSync(tokenFile, `${admin.token}\n`);
    const policy = join(dir, "policy.json");
    writeFileSync(
      policy,
      JSON.stringify({
        version: 1,
        caller_tokens: [admin.entry, reader.entry],
        bindings: [
          { identity: "svc-admin", role: "admin" },
          { identity: "svc-reader", role: "reader", integrations: ["ct-*"] },
        ],
      }),
    );
    broker = await startBroker(dir, ims, [`--policy-file=${policy}`]);
  });
  after(async () => {
    await broker?.stop();
  });

  const target = () => `127.0.0.1:${broker!.port}`;

  test("callerTokenFile / callerToken: sent as 'authorization: Bearer', authorized by role", async () => {
    const adminClient = new TokenbrokerClient({ target: target(), plaintext: true, callerTokenFile: tokenFile });
    const readerClient = new TokenbrokerClient({ target: target(), plaintext: true, callerToken: reader.token });
    try {
      await adminClient.createIntegration("ct-one", s2s(CLIENT_ID, CLIENT_SECRET));
      await adminClient.createIntegration("other", s2s(CLIENT_ID, CLIENT_SECRET));
      assert.match((await readerClient.getAccessToken("ct-one")).accessToken, /^ey/);
      const source = readerClient.tokenSource("ct-one");
      assert.equal((await source.headers())["x-api-key"], CLIENT_ID);
      await assert.rejects(readerClient.getAccessToken("other"), { code: Code.PERMISSION_DENIED });
      await assert.rejects(readerClient.createIntegration("ct-two", s2s(CLIENT_ID, CLIENT_SECRET)), {
        code: Code.PERMISSION_DENIED,
      });
    } finally {
      adminClient.close();
      readerClient.close();
    }
  });

  test("no caller token, or a wrong one → UNAUTHENTICATED", async () => {
    const none = new TokenbrokerClient({ target: target(), plaintext: true });
    const wrong = new TokenbrokerClient({ target: target(), plaintext: true, callerToken: "tbk_not-a-real-token" });
    try {
      await assert.rejects(none.getAccessToken("ct-one"), { code: Code.UNAUTHENTICATED });
      await assert.rejects(wrong.getAccessToken("ct-one"), { code: Code.UNAUTHENTICATED });
    } finally {
      none.close();
      wrong.close();
    }
  });
});

function sleep(ms: number, opts: { unref?: boolean } = {}): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    if (opts.unref) t.unref();
  });
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}
