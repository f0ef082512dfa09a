// How command modules run their action: `run` builds the context from the
// global options, runs `fn`, reports a failure the runc way, and sets the
// exit status (fn's result, if it returns one).
import type { Context } from '../context.js';

export type CommandRunner = (fn: (ctx: Context) => Promise<number | void>) => Promise<void>;
