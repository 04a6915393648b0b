// The library's logger. The package prints nothing by itself: by default its
// messages go to `util.debuglog("tokenbroker")`, which is silent unless the
// process runs with NODE_DEBUG=tokenbroker. An application routes them to its
// own logger with setLogger(). No message holds a token or a secret.
import { debuglog } from "node:util";

/** Where the package's log messages go. */
export interface Logger {
  /** Something went wrong in the background and was handled (e.g. a watch stream restarted). */
  warn(message: string): void;
}

const nodeDebug = debuglog("tokenbroker");
const defaultLogger: Logger = { warn: (message) => nodeDebug("warning: %s", message) };
let current: Logger = defaultLogger;

/** Routes the package's log messages to `logger`; undefined restores the default (NODE_DEBUG). */
export function setLogger(logger: Logger | undefined): void {
  current = logger ?? defaultLogger;
}

/** The logger in use. */
export function logger(): Logger {
  return current;
}
