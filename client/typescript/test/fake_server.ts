// An in-process grpc-js TokenService and IntegrationService for unit tests of
// the client's own behaviour (retries, deadlines, metadata, TLS options, the
// token source, the integration calls), where the real server cannot be
// steered precisely enough.
import * as grpc from "@grpc/grpc-js";
import { stubs } from "@tokenbroker/client";

export type UnaryHandler = (
  call: grpc.ServerUnaryCall<{ name: string; minRemainingValidity?: { seconds: number; nanos: number } }, unknown>,
) => Promise<unknown>;

/** A rich error, as the real server sends it (ErrorInfo in grpc-status-details-bin). */
export function richError(
  code: grpc.status,
  message: string,
  reason: string,
  metadata: Record<string, string> = {},
  retryDelayMs?: number,
): grpc.ServiceError {
  const details = [
    {
      typeUrl: "type.googleapis.com/google.rpc.ErrorInfo",
      value: Buffer.from(stubs.ErrorInfo.encode({ reason, domain: "tokenbroker.dev", metadata }).finish()),
    },
  ];
  if (retryDelayMs !== undefined) {
    details.push({
      typeUrl: "type.googleapis.com/google.rpc.RetryInfo",
      value: Buffer.from(stubs.RetryInfo.encode({
        retryDelay: { seconds: Math.floor(retryDelayMs / 1000), nanos: (retryDelayMs % 1000) * 1e6 },
      }).finish()),
    });
  }
  const md = new grpc.Metadata();
  md.set("grpc-status-details-bin", Buffer.from(stubs.Status.encode({ code, message, details }).finish()));
  return Object.assign(new Error(message), { code, details: message, metadata: md });
}

export interface FakeCalls {
  getAccessToken: Array<{ name: string; minRemainingValidityMs?: number; metadata: grpc.Metadata }>;
  getRequestHeaders: number;
  watch: number;
}

/** The IntegrationService methods, as grpc-js names them. */
export const INTEGRATION_METHODS = [
  "createIntegration",
  "getIntegration",
  "listIntegrations",
  "updateIntegration",
  "deleteIntegration",
  "importIntegrations",
  "listClientSecrets",
  "rotateClientSecret",
  "migrateIntegration",
] as const;
export type IntegrationMethod = (typeof INTEGRATION_METHODS)[number];

/** One IntegrationService call the fake received. */
export interface IntegrationCall {
  method: IntegrationMethod;
  request: Record<string, unknown>;
  metadata: grpc.Metadata;
  /** The call's deadline as the server saw it (ms since the epoch; Infinity: none). */
  deadlineMs: number;
}

type MessageFns = { fromPartial(o: unknown): unknown };
const RESPONSES: Record<IntegrationMethod, MessageFns> = {
  createIntegration: stubs.CreateIntegrationResponse,
  getIntegration: stubs.GetIntegrationResponse,
  listIntegrations: stubs.ListIntegrationsResponse,
  updateIntegration: stubs.UpdateIntegrationResponse,
  deleteIntegration: stubs.DeleteIntegrationResponse,
  importIntegrations: stubs.ImportIntegrationsResponse,
  listClientSecrets: stubs.ListClientSecretsResponse,
  rotateClientSecret: stubs.RotateClientSecretResponse,
  migrateIntegration: stubs.MigrateIntegrationResponse,
} as Record<IntegrationMethod, MessageFns>;

/** An integration as the fake stores it: `name`, the rest defaults. */
export function storedIntegration(name: string, fields: Record<string, unknown> = {}): stubs.Integration {
  return stubs.Integration.fromPartial({ name, etag: "e1", ...fields });
}

/** What the fake answers by default: a plausible response of each method (partial; completed with fromPartial). */
function defaultAnswer(method: IntegrationMethod, req: Record<string, unknown>): unknown {
  switch (method) {
    case "createIntegration":
      return { integration: storedIntegration(`integrations/${String(req["integrationId"])}`) };
    case "getIntegration":
    case "migrateIntegration":
      return { integration: storedIntegration(String(req["name"])) };
    case "updateIntegration":
      return { integration: storedIntegration(String((req["integration"] as { name: string }).name)) };
    case "listIntegrations":
      return { integrations: [storedIntegration("integrations/a")], nextPageToken: "" };
    case "deleteIntegration":
      return {};
    case "importIntegrations":
      return {
        imported: [{
          integration: storedIntegration(`integrations/${String(req["integrationId"]) || "billing-s2s"}`),
          action: stubs.ImportIntegrationsResponse_Imported_Action.ACTION_CREATED,
          jsonPath: "project.workspace.details.credentials[0]",
        }],
        skipped: [],
      };
    case "listClientSecrets":
      return {
        clientSecrets: [{ uuid: "u1", createTime: new Date(0), held: true, inUse: true, fingerprint: "sha256:0123456789abcdef" }],
        heldUnmatchedCount: 0,
      };
    case "rotateClientSecret":
      return {
        state: stubs.RotateClientSecretResponse_State.STATE_DONE,
        detail: "rotated",
        fingerprint: "sha256:fedcba9876543210",
        consoleUuid: "u2",
        deletedConsoleUuids: ["u1"],
      };
  }
}

export class FakeTokenServer {
  readonly calls: FakeCalls = { getAccessToken: [], getRequestHeaders: 0, watch: 0 };
  /** Every IntegrationService call, in arrival order. */
  readonly integrationCalls: IntegrationCall[] = [];
  /**
   * Override per test: the answer (a partial response message; undefined: a
   * plausible default response of the method) or a thrown error.
   */
  onIntegrationCall: (method: IntegrationMethod, request: Record<string, unknown>) => Promise<unknown> = async () =>
    undefined;
  /** Override per test. Default: a token valid for `lifetimeMs`. */
  onGetAccessToken: UnaryHandler = async () => ({ token: this.mint() });
  onWatch: (call: grpc.ServerWritableStream<unknown, unknown>) => void = () => {};
  lifetimeMs = 60_000;
  private seq = 0;
  private lastIssue = 0;
  private server = new grpc.Server();
  port = 0;

  /**
   * A new token. Each one is issued at least 1 ms after the previous one, so
   * that a successor of the same lifetime always expires later (as the real
   * server's do), even when both are minted within one millisecond.
   */
  mint(lifetimeMs = this.lifetimeMs) {
    const now = Math.max(Date.now(), this.lastIssue + 1);
    this.lastIssue = now;
    return {
      accessToken: `tok-${++this.seq}`,
      tokenType: "bearer",
      issueTime: new Date(now),
      expireTime: new Date(now + lifetimeMs),
      integration: "integrations/x",
    };
  }

  async start(creds = grpc.ServerCredentials.createInsecure()): Promise<this> {
    const impl: stubs.TokenServiceServer = {
      getAccessToken: (call, cb) => {
        const d = call.request.minRemainingValidity;
        this.calls.getAccessToken.push({
          name: call.request.name,
          ...(d ? { minRemainingValidityMs: d.seconds * 1000 + d.nanos / 1e6 } : {}),
          metadata: call.metadata,
        });
        this.onGetAccessToken(call as never).then(
          (res) => cb(null, res as stubs.GetAccessTokenResponse),
          (err) => cb(err),
        );
      },
      getRequestHeaders: (_call, cb) => {
        this.calls.getRequestHeaders++;
        const t = this.mint();
        cb(null, {
          headers: [
            { name: "Authorization", value: `Bearer ${t.accessToken}` },
            { name: "x-api-key", value: "client-id" },
          ],
          expireTime: t.expireTime,
        });
      },
      refreshAccessToken: (_call, cb) => cb(null, { token: this.mint() }),
      watchAccessTokens: (call) => {
        this.calls.watch++;
        this.onWatch(call as never);
      },
    };
    this.server.addService(stubs.TokenServiceService, impl as unknown as grpc.UntypedServiceImplementation);
    const integrations: grpc.UntypedServiceImplementation = {};
    for (const method of INTEGRATION_METHODS) {
      integrations[method] = (
        call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>,
        cb: grpc.sendUnaryData<unknown>,
      ) => {
        const d = call.getDeadline();
        this.integrationCalls.push({
          method,
          request: call.request,
          metadata: call.metadata,
          deadlineMs: d instanceof Date ? d.getTime() : d,
        });
        this.onIntegrationCall(method, call.request).then(
          (res) => cb(null, RESPONSES[method].fromPartial(res ?? defaultAnswer(method, call.request))),
          (err) => cb(err),
        );
      };
    }
    this.server.addService(stubs.IntegrationServiceService, integrations);
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync("127.0.0.1:0", creds, (err, port) => (err ? reject(err) : resolve(port))),
    );
    return this;
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}
