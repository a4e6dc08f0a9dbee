export { type Command, defineCommand, dispatch, parseCommandLine } from './args.ts';
export { COMMANDS, run } from './cli.ts';
export { ApiClient } from './client.ts';
export {
  type OutputStream,
  type TerminalEnd,
  TerminalSocket,
  type TerminalSocketOptions,
} from './commands/terminal-client-socket.ts';
export type { Context, Io } from './context.ts';
export { CookieJar } from './cookies.ts';
export { loadCredential, type SavedCredential, saveCredential } from './credentials.ts';
export { type CliEnv, parseEnv } from './env.ts';
export { EXIT, exitCodeFor } from './output.ts';
export { buildRequest, joinUrl, type RouteInput, type RouteOutput } from './request.ts';
