// Typed errors: every failed call of this package rejects with a
// TokenbrokerError, which decodes gRPC's rich error model (the
// `grpc-status-details-bin` trailer, a serialized google.rpc.Status) into
// plain fields.
import { Metadata, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { BadRequest, ErrorInfo, RetryInfo } from "./gen/google/rpc/error_details.js";
import { Status } from "./gen/google/rpc/status.js";

/** The domain of tokenbroker's ErrorInfo details. */
export const ERROR_DOMAIN = "tokenbroker.dev";

const TYPE_PREFIX = "type.googleapis.com/";
// Shared by the ESM and CJS builds (Symbol.for is process-wide), so that
// `instanceof TokenbrokerError` holds whichever build made the error.
const BRAND = Symbol.for("@tokenbroker/client/TokenbrokerError");
const STATUS_DETAILS_KEY = "grpc-status-details-bin";

/** One violation of a google.rpc.BadRequest detail. */
export interface FieldViolation {
  field: string;
  description: string;
}

/**
 * A failed tokenbroker call.
 *
 * `code` is the gRPC status code (compare with `status` from @grpc/grpc-js or
 * the `Code` re-export). `reason`, `imsError`, `xDebugId`, `httpStatus` and
 * `field` come from the google.rpc.ErrorInfo detail, when the server sent one;
 * `retryDelayMs` from google.rpc.RetryInfo and `fieldViolations` from
 * google.rpc.BadRequest. The message never contains a secret or a token.
 */
export class TokenbrokerError extends Error {
  override readonly name = "TokenbrokerError";
  /** The gRPC status code, e.g. 5 (NOT_FOUND). */
  readonly code: GrpcStatus;
  /** The code's name, e.g. "NOT_FOUND". */
  readonly codeName: string;
  /** The server's message, without the "5 NOT_FOUND: " prefix grpc-js adds. */
  readonly details: string;
  /** ErrorInfo.reason, e.g. "IMS_REJECTED", "INTEGRATION_NOT_FOUND". */
  readonly reason: string | undefined;
  /** ErrorInfo.domain, "tokenbroker.dev" for the server's errors. */
  readonly domain: string | undefined;
  /** ErrorInfo.metadata, e.g. { ims_error: "invalid_client", x_debug_id: "..." }. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The error IMS answered, e.g. "invalid_client" (metadata `ims_error`). */
  readonly imsError: string | undefined;
  /** IMS's x-debug-id, what Adobe support asks for (metadata `x_debug_id`). */
  readonly xDebugId: string | undefined;
  /** The HTTP status IMS answered (metadata `http_status`). */
  readonly httpStatus: number | undefined;
  /** The request field at fault (metadata `field`). */
  readonly field: string | undefined;
  /** RetryInfo.retry_delay in milliseconds, when the server suggested one. */
  readonly retryDelayMs: number | undefined;
  /** BadRequest.field_violations. */
  readonly fieldViolations: readonly FieldViolation[];
  /** The response trailers, when there were any. */
  readonly trailers: Metadata | undefined;

  constructor(init: {
    code: GrpcStatus;
    details: string;
    errorInfo?: ErrorInfo;
    retryDelayMs?: number;
    fieldViolations?: FieldViolation[];
    trailers?: Metadata;
    cause?: unknown;
  }) {
    const codeName = GrpcStatus[init.code] ?? `CODE_${init.code}`;
    const info = init.errorInfo;
    const metadata = { ...(info?.metadata ?? {}) };
    const imsError = metadata["ims_error"] || undefined;
    const xDebugId = metadata["x_debug_id"] || undefined;
    // Name the reason and IMS's answer unless the server's message already does.
    const suffix = [
      info?.reason ? `reason=${info.reason}` : "",
      imsError && !init.details.includes(imsError) ? `ims_error=${imsError}` : "",
      xDebugId && !init.details.includes(xDebugId) ? `x_debug_id=${xDebugId}` : "",
    ]
      .filter(Boolean)
      .join(" ");
    super(`${codeName}: ${init.details}${suffix ? ` (${suffix})` : ""}`, { cause: init.cause });
    this.code = init.code;
    this.codeName = codeName;
    this.details = init.details;
    this.reason = info?.reason || undefined;
    this.domain = info?.domain || undefined;
    this.metadata = Object.freeze(metadata);
    this.imsError = imsError;
    this.xDebugId = xDebugId;
    const http = Number.parseInt(metadata["http_status"] ?? "", 10);
    this.httpStatus = Number.isFinite(http) ? http : undefined;
    this.field = metadata["field"] || undefined;
    this.retryDelayMs = init.retryDelayMs;
    this.fieldViolations = Object.freeze(init.fieldViolations ?? []);
    this.trailers = init.trailers;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True for errors of either build (ESM or CJS) of this package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** Whether retrying the same call may succeed (UNAVAILABLE). */
  get retryable(): boolean {
    return this.code === GrpcStatus.UNAVAILABLE;
  }

  /**
   * Converts anything a grpc-js call rejected with into a TokenbrokerError,
   * decoding the rich error details. Returns `err` itself when it already is
   * one.
   */
  static from(err: unknown): TokenbrokerError {
    if (err instanceof TokenbrokerError) return err;
    if (!isServiceError(err)) {
      return new TokenbrokerError({
        code: GrpcStatus.UNKNOWN,
        details: err instanceof Error ? err.message : String(err),
        cause: err,
      });
    }
    const decoded = decodeStatusDetails(err.metadata);
    return new TokenbrokerError({
      code: err.code,
      details: decoded?.message || err.details || err.message,
      ...(decoded?.errorInfo ? { errorInfo: decoded.errorInfo } : {}),
      ...(decoded?.retryDelayMs !== undefined ? { retryDelayMs: decoded.retryDelayMs } : {}),
      fieldViolations: decoded?.fieldViolations ?? [],
      ...(err.metadata ? { trailers: err.metadata } : {}),
      cause: err,
    });
  }
}

function isServiceError(err: unknown): err is ServiceError {
  return (
    err instanceof Error &&
    typeof (err as Partial<ServiceError>).code === "number" &&
    "details" in err
  );
}

/** What decodeStatusDetails found in `grpc-status-details-bin`. */
export interface DecodedStatusDetails {
  code: number;
  message: string;
  errorInfo?: ErrorInfo;
  retryDelayMs?: number;
  fieldViolations: FieldViolation[];
}

/**
 * Decodes the `grpc-status-details-bin` trailer (a google.rpc.Status) of a
 * failed call. Returns undefined when there is none or it does not parse;
 * unknown detail types are skipped.
 */
export function decodeStatusDetails(trailers: Metadata | undefined): DecodedStatusDetails | undefined {
  const raw = trailers?.get(STATUS_DETAILS_KEY)[0];
  if (raw === undefined || typeof raw === "string") return undefined;
  let status: Status;
  try {
    status = Status.decode(raw);
  } catch {
    return undefined;
  }
  const out: DecodedStatusDetails = { code: status.code, message: status.message, fieldViolations: [] };
  for (const any of status.details) {
    const type = any.typeUrl.startsWith(TYPE_PREFIX) ? any.typeUrl.slice(TYPE_PREFIX.length) : any.typeUrl;
    try {
      if (type === "google.rpc.ErrorInfo") {
        out.errorInfo ??= ErrorInfo.decode(any.value);
      } else if (type === "google.rpc.RetryInfo") {
        const d = RetryInfo.decode(any.value).retryDelay;
        if (d) out.retryDelayMs = d.seconds * 1000 + Math.floor(d.nanos / 1e6);
      } else if (type === "google.rpc.BadRequest") {
        for (const v of BadRequest.decode(any.value).fieldViolations) {
          out.fieldViolations.push({ field: v.field, description: v.description });
        }
      }
    } catch {
      // A detail that does not parse is skipped: the code and message remain.
    }
  }
  return out;
}
