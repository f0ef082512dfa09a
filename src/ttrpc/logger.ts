// The logging hook of the ttRPC client and server.
//
// Any pino logger fits (`logger: pino()`, or `parent.child({component: 'ttrpc'})`);
// so does anything else with these two methods. The library logs protocol
// events (dropped frames, closed connections) at debug level and unexpected
// failures at warn level; it never logs payloads.

export interface Logger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** A logger that discards everything: the default. */
export const silentLogger: Logger = {
  debug() {},
  warn() {},
};
