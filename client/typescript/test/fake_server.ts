// An in-process grpc-js TokenService for unit tests of the client's own
// behaviour (retries, deadlines, metadata, TLS options, the token source),
// where the real server cannot be steered precisely enough.
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

export class FakeTokenServer {
  readonly calls: FakeCalls = { getAccessToken: [], getRequestHeaders: 0, watch: 0 };
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
