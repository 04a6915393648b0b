// The client's own behaviour against an in-process fake server and local
// HTTP servers (loopback only): errors, retries, deadlines, cancellation,
// caller tokens, TLS/mTLS options, the token source, fetch and axios.
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, mock, test } from "node:test";
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
  ImportAction,
  installAdobeAxiosInterceptor,
  RotationState,
  setLogger,
  type Token,
} from "@tokenbroker/client";
import { FakeTokenServer, richError, storedIntegration, type IntegrationMethod } from "./fake_server.js";
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
  test("draws from [b/2, b] of a nominal wait that doubles from 100 ms up to 2 s", () => {
    const r = DEFAULT_RETRY;
    assert.equal(backoffDelayMs(1, r, undefined, () => 0), 50);
    assert.equal(backoffDelayMs(1, r, undefined, () => 1), 100);
    assert.equal(backoffDelayMs(3, r, undefined, () => 0), 200);
    assert.equal(backoffDelayMs(3, r, undefined, () => 1), 400);
    assert.equal(backoffDelayMs(10, r, undefined, () => 0), 1000);
    assert.equal(backoffDelayMs(10, r, undefined, () => 1), 2000);
  });

  test("a longer RetryInfo delay wins, uncapped; a shorter one does not", () => {
    assert.equal(backoffDelayMs(1, DEFAULT_RETRY, 700, () => 0.5), 700);
    assert.equal(backoffDelayMs(1, DEFAULT_RETRY, 5000, () => 0.5), 5000);
    assert.equal(backoffDelayMs(2, DEFAULT_RETRY, 10, () => 1), 200);
  });
});

describe("defaults (client/BEHAVIOUR.md)", () => {
  test("a client with no options: TLS, 10 s deadline, 4 attempts 100 ms x2 up to 2 s, caller-token file read every 5 s", () => {
    const c = new TokenbrokerClient({ target: "127.0.0.1:1" });
    try {
      assert.equal(c.settings.plaintext, false);
      assert.equal(c.settings.callTimeoutMs, 10_000);
      assert.deepEqual({ ...c.settings.retry }, { maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 2000, multiplier: 2 });
      assert.equal(c.settings.callerTokenReloadMs, 5000);
      assert.equal(c.tokenSource("x").minValidityMs, undefined);
    } finally {
      c.close();
    }
  });

  test("plaintext only when asked for; never with tls; tls: false is refused", () => {
    const c = new TokenbrokerClient({ target: "127.0.0.1:1", plaintext: true });
    assert.equal(c.settings.plaintext, true);
    c.close();
    assert.throws(() => new TokenbrokerClient({ plaintext: true, tls: {} }), /plaintext or tls/);
    assert.throws(() => new TokenbrokerClient({ tls: false as never }), /plaintext: true/);
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
    new TokenbrokerClient({ target: fake.target, plaintext: true, retry: fast, ...opts });

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

  test("getAccessToken: a retry that the deadline ends returns the UNAVAILABLE it was made for, not DEADLINE_EXCEEDED", async () => {
    // Attempt 1: UNAVAILABLE; attempt 2 is held until the client has given up.
    let n = 0;
    let release: (() => void) | undefined;
    fake.onGetAccessToken = () => {
      if (++n === 1) return Promise.reject(richError(Code.UNAVAILABLE, "IMS unavailable", "IMS_UNAVAILABLE", {}, 20));
      return new Promise((r) => (release = () => r({ token: fake.mint() })));
    };
    const c = client();
    try {
      await assert.rejects(c.getAccessToken("x", { timeoutMs: 300 }), (e: unknown) => {
        assert.ok(e instanceof TokenbrokerError);
        assert.equal(e.code, Code.UNAVAILABLE);
        assert.equal(e.reason, "IMS_UNAVAILABLE");
        assert.equal(e.retryDelayMs, 20);
        return true;
      });
      assert.equal(n, 2);
    } finally {
      release?.();
      c.close();
    }
  });

  test("getAccessToken: a deadline that passes during the backoff returns the UNAVAILABLE; the retry is not sent", async () => {
    let n = 0;
    fake.onGetAccessToken = async () => {
      n++;
      throw richError(Code.UNAVAILABLE, "IMS unavailable", "IMS_UNAVAILABLE", {}, 50);
    };
    // A fake clock: it jumps past the deadline as the backoff sleep starts,
    // after the check that the retry could finish in time. Math.random (the
    // backoff's jitter) is drawn just before that check, once attempt 1 failed.
    const realNow = Date.now.bind(Date);
    let skewMs = 0;
    const now = mock.method(Date, "now", () => realNow() + skewMs);
    const random = mock.method(Math, "random", () => {
      if (n === 1) queueMicrotask(() => (skewMs = 10_000));
      return 0;
    });
    const c = client();
    try {
      const start = realNow();
      await assert.rejects(c.getAccessToken("x", { timeoutMs: 300 }), { code: Code.UNAVAILABLE, reason: "IMS_UNAVAILABLE" });
      assert.equal(n, 1);
      assert.equal(skewMs, 10_000);
      assert.ok(realNow() - start >= 45, "the client slept its 50 ms backoff before giving up");
    } finally {
      now.mock.restore();
      random.mock.restore();
      c.close();
    }
  });

  test("getAccessToken: other codes of a retry attempt are returned as they are", async () => {
    for (const code of [Code.NOT_FOUND, Code.DEADLINE_EXCEEDED]) {
      let n = 0;
      fake.onGetAccessToken = async () => {
        if (++n === 1) throw richError(Code.UNAVAILABLE, "IMS unavailable", "IMS_UNAVAILABLE");
        throw richError(code, "second answer", "SECOND");
      };
      const c = client();
      try {
        // DEADLINE_EXCEEDED from the server, long before the call's deadline, is an answer too.
        await assert.rejects(c.getAccessToken("x", { timeoutMs: 10_000 }), { code, reason: "SECOND" });
        assert.equal(n, 2);
      } finally {
        c.close();
      }
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

  test("callerTokenFile: re-read once the copy in memory is older than callerTokenReloadMs", async () => {
    fake.onGetAccessToken = async () => ({ token: fake.mint() });
    const file = join(dir, "caller-token");
    writeFileSync(file, "first\n");
    const eager = client({ callerTokenFile: file, callerTokenReloadMs: 0 });
    const lazy = client({ callerTokenFile: file, callerTokenReloadMs: 60_000 });
    const sent = () => fake.calls.getAccessToken.at(-1)!.metadata.get("authorization");
    try {
      await eager.getAccessToken("x");
      assert.deepEqual(sent(), ["Bearer first"]);
      await lazy.getAccessToken("x");
      assert.deepEqual(sent(), ["Bearer first"]);
      writeFileSync(file, "second\n");
      await eager.getAccessToken("x");
      assert.deepEqual(sent(), ["Bearer second"]);
      await lazy.getAccessToken("x");
      assert.deepEqual(sent(), ["Bearer first"], "still within its reload interval");
    } finally {
      eager.close();
      lazy.close();
    }
  });

  test("callerTokenFile: an unreadable or empty file fails the call with UNAUTHENTICATED naming the file", async () => {
    const file = join(dir, "rotating-token");
    writeFileSync(file, "secret-caller-token\n");
    const c = client({ callerTokenFile: file, callerTokenReloadMs: 0 });
    const missing = client({ callerTokenFile: join(dir, "missing") });
    try {
      await c.getAccessToken("x");
      const before = fake.calls.getAccessToken.length;
      rmSync(file);
      await assert.rejects(c.getAccessToken("x"), (e: TokenbrokerError) => {
        assert.equal(e.code, Code.UNAUTHENTICATED);
        assert.ok(e.message.includes(file), e.message);
        assert.match(e.message, /ENOENT/);
        assert.ok(!e.message.includes("secret-caller-token"));
        return true;
      });
      writeFileSync(file, " \n");
      await assert.rejects(c.getAccessToken("x"), { code: Code.UNAUTHENTICATED, message: /is empty/ });
      await assert.rejects(missing.getAccessToken("x"), { code: Code.UNAUTHENTICATED, message: /missing/ });
      assert.equal(fake.calls.getAccessToken.length, before, "no call reached the server");
    } finally {
      c.close();
      missing.close();
    }
  });
});

describe("IntegrationService calls against a fake server", () => {
  let fake: FakeTokenServer;
  before(async () => {
    fake = await new FakeTokenServer().start();
  });
  after(() => fake.stop());

  const consoleFile = JSON.stringify({ project: { workspace: { details: { credentials: [] } } } });
  const client = (opts: ConstructorParameters<typeof TokenbrokerClient>[0] = {}) =>
    new TokenbrokerClient({ target: fake.target, plaintext: true, retry: fast, callerToken: "caller-secret", ...opts });

  // Each call as the SDK makes it, and the request the server must receive
  // (as the generated code decodes it: every field present).
  const cases: Array<{
    label: string;
    method: IntegrationMethod;
    call: (c: TokenbrokerClient, o: { timeoutMs?: number; retry?: object }) => Promise<unknown>;
    request: Record<string, unknown>;
    retried: boolean;
  }> = [
    {
      label: "createIntegration",
      method: "createIntegration",
      call: (c, o) => c.createIntegration("app", { displayName: "App" }, o),
      request: { integrationId: "app", integration: storedIntegration("", { displayName: "App", etag: "" }) },
      retried: false,
    },
    {
      label: "getIntegration",
      method: "getIntegration",
      call: (c, o) => c.getIntegration("app", o),
      request: { name: "integrations/app" },
      retried: true,
    },
    {
      label: "listIntegrations",
      method: "listIntegrations",
      call: (c, o) => c.listIntegrations({ pageSize: 7, pageToken: "p2" }, o),
      request: { pageSize: 7, pageToken: "p2" },
      retried: true,
    },
    {
      label: "updateIntegration",
      method: "updateIntegration",
      call: (c, o) => c.updateIntegration({ name: "app", displayName: "New", etag: "e1" }, ["display_name"], o),
      request: {
        integration: storedIntegration("integrations/app", { displayName: "New", etag: "e1" }),
        updateMask: ["display_name"],
      },
      retried: false,
    },
    {
      label: "deleteIntegration",
      method: "deleteIntegration",
      call: (c, o) => c.deleteIntegration("integrations/app", { ...o, etag: "e1" }),
      request: { name: "integrations/app", etag: "e1" },
      retried: false,
    },
    {
      label: "importIntegrations",
      method: "importIntegrations",
      call: (c, o) =>
        c.importIntegrations(
          { credentialFile: consoleFile, integrationId: "billing", credentialName: "Billing S2S", validateOnly: true, allowUpdate: true, secretRotationPeriodMs: 90 * 86_400_000 },
          o,
        ),
      request: {
        credentialFile: Buffer.from(consoleFile),
        integrationId: "billing",
        credentialName: "Billing S2S",
        validateOnly: true,
        allowUpdate: true,
        secretRotationPeriod: { seconds: 90 * 86_400, nanos: 0 },
      },
      retried: false,
    },
    {
      label: "listClientSecrets",
      method: "listClientSecrets",
      call: (c, o) => c.listClientSecrets("app", o),
      request: { parent: "integrations/app" },
      retried: true,
    },
    {
      label: "rotateClientSecret",
      method: "rotateClientSecret",
      call: (c, o) => c.rotateClientSecret("app", o),
      request: { parent: "integrations/app", immediate: false },
      retried: true,
    },
    {
      label: "rotateClientSecret (immediate)",
      method: "rotateClientSecret",
      call: (c, o) => c.rotateClientSecret("integrations/app", { ...o, immediate: true }),
      request: { parent: "integrations/app", immediate: true },
      retried: true,
    },
    {
      label: "migrateIntegration",
      method: "migrateIntegration",
      call: (c, o) => c.migrateIntegration("app", { scopes: ["openid", "AdobeID"], clientSecret: "s2s-secret", etag: "e1" }, o),
      request: { name: "integrations/app", scopes: ["openid", "AdobeID"], clientSecret: "s2s-secret", etag: "e1" },
      retried: false,
    },
    {
      label: "migrateIntegration (defaults)",
      method: "migrateIntegration",
      call: (c, o) => c.migrateIntegration("integrations/app", { scopes: ["openid"] }, o),
      request: { name: "integrations/app", scopes: ["openid"], clientSecret: "", etag: "" },
      retried: false,
    },
  ];

  for (const k of cases) {
    test(`${k.label}: sends its request with the caller token and the deadline`, async () => {
      fake.onIntegrationCall = async () => undefined; // the default answer
      const c = client();
      try {
        const before = fake.integrationCalls.length;
        const start = Date.now();
        await k.call(c, { timeoutMs: 7_000 });
        const end = Date.now();
        const calls = fake.integrationCalls.slice(before);
        assert.equal(calls.length, 1);
        const got = calls[0]!;
        assert.equal(got.method, k.method);
        assert.deepEqual(got.request, k.request);
        assert.deepEqual(got.metadata.get("authorization"), ["Bearer caller-secret"]);
        // grpc-timeout travels with ms (or coarser) precision and is measured on arrival.
        assert.ok(got.deadlineMs >= start + 7_000 - 50 && got.deadlineMs <= end + 7_000 + 50, `deadline ${got.deadlineMs - start} ms`);
      } finally {
        c.close();
      }
    });
  }

  test("the client's default deadline (callTimeoutMs) applies to the integration calls", async () => {
    fake.onIntegrationCall = async () => undefined;
    const c = client({ callTimeoutMs: 4_000 });
    try {
      const start = Date.now();
      await c.rotateClientSecret("app");
      await c.importIntegrations({ credentialFile: consoleFile });
      const end = Date.now();
      for (const got of fake.integrationCalls.slice(-2)) {
        assert.ok(got.deadlineMs >= start + 4_000 - 50 && got.deadlineMs <= end + 4_000 + 50, `${got.method}: ${got.deadlineMs - start} ms`);
      }
    } finally {
      c.close();
    }
  });

  for (const k of cases.filter((x) => x.retried)) {
    test(`${k.label}: UNAVAILABLE is retried with the same request, then succeeds`, async () => {
      let n = 0;
      fake.onIntegrationCall = async () => {
        if (++n <= 2) throw richError(Code.UNAVAILABLE, "the Console is unreachable", "CONSOLE_UNAVAILABLE");
        return undefined;
      };
      const c = client();
      try {
        const before = fake.integrationCalls.length;
        await k.call(c, {});
        const calls = fake.integrationCalls.slice(before);
        assert.equal(n, 3);
        assert.equal(calls.length, 3);
        for (const got of calls) {
          assert.deepEqual(got.request, k.request);
          assert.deepEqual(got.metadata.get("authorization"), ["Bearer caller-secret"]);
        }
      } finally {
        c.close();
      }
    });
  }

  for (const k of cases.filter((x) => !x.retried)) {
    test(`${k.label}: made once; UNAVAILABLE is returned, even with retry options`, async () => {
      fake.onIntegrationCall = async () => {
        throw richError(Code.UNAVAILABLE, "IMS is unreachable", "IMS_UNAVAILABLE");
      };
      const c = client();
      try {
        const before = fake.integrationCalls.length;
        await assert.rejects(k.call(c, { retry: { maxAttempts: 4, initialBackoffMs: 1 } }), (e: unknown) => {
          assert.ok(e instanceof TokenbrokerError);
          assert.equal(e.code, Code.UNAVAILABLE);
          assert.equal(e.reason, "IMS_UNAVAILABLE");
          return true;
        });
        assert.equal(fake.integrationCalls.length - before, 1);
      } finally {
        c.close();
      }
    });
  }

  test("listClientSecrets / rotateClientSecret: give up after maxAttempts with the last UNAVAILABLE", async () => {
    fake.onIntegrationCall = async () => {
      throw richError(Code.UNAVAILABLE, "IMS does not accept the new secret yet", "IMS_UNAVAILABLE");
    };
    const c = client();
    try {
      const before = fake.integrationCalls.length;
      await assert.rejects(c.rotateClientSecret("app"), { code: Code.UNAVAILABLE, reason: "IMS_UNAVAILABLE" });
      await assert.rejects(c.listClientSecrets("app", { retry: false }), { code: Code.UNAVAILABLE });
      const methods = fake.integrationCalls.slice(before).map((x) => x.method);
      assert.deepEqual(methods, ["rotateClientSecret", "rotateClientSecret", "rotateClientSecret", "listClientSecrets"]);
    } finally {
      c.close();
    }
  });

  test("typed errors: the server's codes and details, each returned at once", async () => {
    const errors: Array<[IntegrationMethod, () => grpc.ServiceError, (c: TokenbrokerClient) => Promise<unknown>, (e: TokenbrokerError) => void]> = [
      [
        "importIntegrations",
        () => richError(Code.INVALID_ARGUMENT, "project.workspace.details.credentials[1].oauth_server_to_server.client_secrets: empty", "INVALID_FIELD", { field: "credential_file" }),
        (c) => c.importIntegrations({ credentialFile: Buffer.from(consoleFile) }),
        (e) => {
          assert.equal(e.code, Code.INVALID_ARGUMENT);
          assert.equal(e.field, "credential_file");
          assert.match(e.details, /credentials\[1\]/);
        },
      ],
      [
        "importIntegrations",
        () => richError(Code.ALREADY_EXISTS, "integration billing-s2s exists", "INTEGRATION_EXISTS"),
        (c) => c.importIntegrations({ credentialFile: consoleFile }),
        (e) => assert.equal(e.code, Code.ALREADY_EXISTS),
      ],
      [
        "listClientSecrets",
        () => richError(Code.FAILED_PRECONDITION, "the Console answered 403: add the I/O Management API to the project", "CONSOLE_REJECTED", { http_status: "403" }),
        (c) => c.listClientSecrets("app"),
        (e) => {
          assert.equal(e.code, Code.FAILED_PRECONDITION);
          assert.equal(e.reason, "CONSOLE_REJECTED");
          assert.equal(e.httpStatus, 403);
        },
      ],
      [
        "rotateClientSecret",
        () => richError(Code.ABORTED, "a concurrent rotation", "CONCURRENT_ROTATION"),
        (c) => c.rotateClientSecret("app", { immediate: true }),
        (e) => assert.equal(e.code, Code.ABORTED),
      ],
      [
        "rotateClientSecret",
        () => richError(Code.NOT_FOUND, "no integration app", "INTEGRATION_NOT_FOUND"),
        (c) => c.rotateClientSecret("app"),
        (e) => assert.equal(e.reason, "INTEGRATION_NOT_FOUND"),
      ],
      [
        "migrateIntegration",
        () => richError(Code.FAILED_PRECONDITION, "IMS refused the S2S credential", "IMS_REJECTED", { ims_error: "invalid_scope", x_debug_id: "dbg-7" }),
        (c) => c.migrateIntegration("app", { scopes: ["openid"] }),
        (e) => {
          assert.equal(e.code, Code.FAILED_PRECONDITION);
          assert.equal(e.imsError, "invalid_scope");
          assert.equal(e.xDebugId, "dbg-7");
          assert.ok(!e.message.includes("s2s-secret"));
        },
      ],
      [
        "migrateIntegration",
        () => richError(Code.PERMISSION_DENIED, "caller reader lacks the admin role", "PERMISSION_DENIED"),
        (c) => c.migrateIntegration("app", { scopes: ["openid"], clientSecret: "s2s-secret" }),
        (e) => {
          assert.equal(e.code, Code.PERMISSION_DENIED);
          assert.ok(!e.message.includes("s2s-secret"));
        },
      ],
    ];
    const c = client();
    try {
      for (const [method, error, call, check] of errors) {
        fake.onIntegrationCall = async () => {
          throw error();
        };
        const before = fake.integrationCalls.length;
        await assert.rejects(call(c), (e: unknown) => {
          assert.ok(e instanceof TokenbrokerError, `${method}: ${String(e)}`);
          check(e);
          return true;
        });
        assert.equal(fake.integrationCalls.length - before, 1, `${method}: not retried`);
        assert.equal(fake.integrationCalls.at(-1)!.method, method);
      }
    } finally {
      c.close();
    }
  });

  test("results: the server's answers, decoded", async () => {
    fake.onIntegrationCall = async () => undefined;
    const c = client();
    try {
      const imported = await c.importIntegrations({ credentialFile: consoleFile });
      assert.equal(imported.imported.length, 1);
      assert.equal(imported.imported[0]!.action, ImportAction.ACTION_CREATED);
      assert.equal(imported.imported[0]!.integration!.name, "integrations/billing-s2s");
      assert.equal(imported.imported[0]!.jsonPath, "project.workspace.details.credentials[0]");
      const secrets = await c.listClientSecrets("app");
      assert.equal(secrets.clientSecrets[0]!.uuid, "u1");
      assert.equal(secrets.clientSecrets[0]!.inUse, true);
      assert.deepEqual(secrets.clientSecrets[0]!.createTime, new Date(0));
      assert.equal(secrets.heldUnmatchedCount, 0);
      const rotated = await c.rotateClientSecret("app");
      assert.equal(rotated.state, RotationState.STATE_DONE);
      assert.deepEqual(rotated.deletedConsoleUuids, ["u1"]);
      fake.onIntegrationCall = async () => ({ state: RotationState.STATE_WAITING, detail: "waiting for the grace period" });
      assert.equal((await c.rotateClientSecret("app")).state, RotationState.STATE_WAITING);
      fake.onIntegrationCall = async (_m, r) => ({ integration: storedIntegration(String(r["name"]), { scopes: ["openid"] }) });
      const migrated = await c.migrateIntegration("app", { scopes: ["openid"] });
      assert.equal(migrated.name, "integrations/app");
      assert.deepEqual(migrated.scopes, ["openid"]);
    } finally {
      c.close();
    }
  });

  test("importIntegrations: the file as text or bytes; a rotation period of 0 is sent, unset is not", async () => {
    fake.onIntegrationCall = async () => undefined;
    const c = client();
    try {
      const bytes = new TextEncoder().encode(consoleFile);
      await c.importIntegrations({ credentialFile: bytes, secretRotationPeriodMs: 0 });
      await c.importIntegrations({ credentialFile: consoleFile });
      const [a, b] = fake.integrationCalls.slice(-2);
      assert.deepEqual(a!.request["credentialFile"], Buffer.from(consoleFile));
      assert.deepEqual(b!.request["credentialFile"], Buffer.from(consoleFile));
      assert.deepEqual(a!.request["secretRotationPeriod"], { seconds: 0, nanos: 0 });
      assert.equal(b!.request["secretRotationPeriod"], undefined);
      assert.deepEqual(
        { ...b!.request, credentialFile: undefined },
        { credentialFile: undefined, integrationId: "", credentialName: "", validateOnly: false, allowUpdate: false, secretRotationPeriod: undefined },
      );
      await assert.rejects(c.importIntegrations({ credentialFile: consoleFile, secretRotationPeriodMs: -1 }), RangeError);
    } finally {
      c.close();
    }
  });

  test("rotateClientSecret: a call slower than its deadline fails with DEADLINE_EXCEEDED", async () => {
    // The server holds the call until the client has given up.
    let release: (() => void) | undefined;
    fake.onIntegrationCall = () => new Promise((r) => (release = () => r(undefined)));
    const c = client();
    try {
      await assert.rejects(c.rotateClientSecret("app", { timeoutMs: 100 }), { code: Code.DEADLINE_EXCEEDED });
    } finally {
      release?.();
      c.close();
    }
  });

  test("migrateIntegration: aborting the signal cancels it with CANCELLED", async () => {
    const ac = new AbortController();
    let release: (() => void) | undefined;
    fake.onIntegrationCall = () => {
      ac.abort();
      return new Promise((r) => (release = () => r(undefined)));
    };
    const c = client();
    try {
      await assert.rejects(c.migrateIntegration("app", { scopes: ["openid"] }, { signal: ac.signal }), { code: Code.CANCELLED });
    } finally {
      release?.();
      c.close();
    }
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
      callTimeoutMs: 3000,
    });
    try {
      assert.match((await ok.getAccessToken("x")).accessToken, /^tok-/);
      await assert.rejects(wrong.getAccessToken("x"), { code: Code.UNAVAILABLE });
    } finally {
      ok.close();
      wrong.close();
    }
  });

  test("default: TLS with the system roots, which refuse the test CA with UNAVAILABLE", async () => {
    const c = new TokenbrokerClient({ target: tlsServer.target, retry: false, callTimeoutMs: 3000 });
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
    const bare = new TokenbrokerClient({ target: mtlsServer.target, tls: { caFile: pki.caFile }, retry: false, callTimeoutMs: 3000 });
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
    const c = new TokenbrokerClient({ target: fake.target, plaintext: true });
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
    const c = new TokenbrokerClient({ target: fake.target, plaintext: true });
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

  test("minimum validity unset: none sent at first; a token is served until the server's rule (60 s) is left", async () => {
    fake.lifetimeMs = 3600_000;
    fake.onGetAccessToken = async () => ({ token: fake.mint() });
    let offset = 0; // the source's clock, ahead of the real one
    const c = new TokenbrokerClient({ target: fake.target, plaintext: true });
    const source = c.tokenSource("x", { watch: false, refreshAheadFraction: 0.001, now: () => Date.now() + offset });
    const before = fake.calls.getAccessToken.length;
    try {
      const first = await source.token();
      assert.equal(fake.calls.getAccessToken.at(-1)!.minRemainingValidityMs, undefined);
      offset = first.expireTime.getTime() - Date.now() - 61_000;
      assert.equal((await source.token()).accessToken, first.accessToken);
      assert.equal(fake.calls.getAccessToken.length - before, 1, "61 s left: served from memory");
      offset = first.expireTime.getTime() - Date.now() - 59_000;
      assert.notEqual((await source.token()).accessToken, first.accessToken);
      assert.equal(fake.calls.getAccessToken.length - before, 2);
      assert.equal(fake.calls.getAccessToken.at(-1)!.minRemainingValidityMs, 60_000, "the server's rule, made explicit");
    } finally {
      fake.lifetimeMs = 60_000;
      c.close();
    }
  });

  test("minimum validity unset, short tokens: 10 % of the lifetime", async () => {
    fake.lifetimeMs = 100_000;
    fake.onGetAccessToken = async () => ({ token: fake.mint() });
    let offset = 0;
    const c = new TokenbrokerClient({ target: fake.target, plaintext: true });
    const source = c.tokenSource("x", { watch: false, refreshAheadFraction: 0.001, now: () => Date.now() + offset });
    try {
      const first = await source.token();
      offset = first.expireTime.getTime() - Date.now() - 11_000;
      assert.equal((await source.token()).accessToken, first.accessToken);
      offset = first.expireTime.getTime() - Date.now() - 9_000;
      assert.notEqual((await source.token()).accessToken, first.accessToken);
      assert.equal(fake.calls.getAccessToken.at(-1)!.minRemainingValidityMs, 10_000);
    } finally {
      fake.lifetimeMs = 60_000;
      c.close();
    }
  });

  test("minimum validity set: sent as min_remaining_validity, and no token with less left is served", async () => {
    fake.lifetimeMs = 3600_000;
    fake.onGetAccessToken = async () => ({ token: fake.mint() });
    let offset = 0;
    const c = new TokenbrokerClient({ target: fake.target, plaintext: true });
    const source = c.tokenSource("x", { watch: false, minValidityMs: 300_000, now: () => Date.now() + offset });
    try {
      const first = await source.token();
      assert.equal(fake.calls.getAccessToken.at(-1)!.minRemainingValidityMs, 300_000);
      offset = first.expireTime.getTime() - Date.now() - 299_000;
      assert.notEqual((await source.token()).accessToken, first.accessToken);
      assert.equal(fake.calls.getAccessToken.at(-1)!.minRemainingValidityMs, 300_000);
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
    const c = new TokenbrokerClient({ target: fake.target, plaintext: true });
    const errors: TokenbrokerError[] = [];
    const seen: Token[] = [];
    const logged: string[] = [];
    setLogger({ warn: (m) => logged.push(m) });
    const source = c.tokenSource("x", { onError: (e) => errors.push(e), onToken: (t) => seen.push(t) });
    try {
      const first = await source.token();
      await waitFor(() => seen.length >= 2, 5000);
      const now = await source.token();
      assert.notEqual(now.accessToken, first.accessToken);
      assert.equal(source.stats.fetches, 1);
      assert.equal(source.stats.streamsOpened, 2);
      assert.equal(source.stats.watchRestarts, 1);
      assert.equal(errors[0]?.code, Code.UNAVAILABLE);
      assert.equal(logged.length, 1);
      assert.match(logged[0]!, /^integrations\/x: watch stream ended \(UNAVAILABLE\), reopening in \d+ ms$/);
    } finally {
      setLogger(undefined);
      fake.onWatch = () => {};
      c.close();
    }
  });

  test("headers: Authorization carries the source's token; other headers from GetRequestHeaders", async () => {
    fake.onGetAccessToken = async () => ({ token: fake.mint() });
    const c = new TokenbrokerClient({ target: fake.target, plaintext: true });
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
    const c = new TokenbrokerClient({ target: fake.target, plaintext: true });
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
