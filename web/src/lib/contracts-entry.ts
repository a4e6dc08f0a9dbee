/*
 * What `@agentpod/contracts` resolves to in the console's bundle (web/vite.config.ts). zod compiles object
 * parsers with `new Function` unless told not to, and decides when each schema is built — when the contracts
 * load — so the switch must come first. The console's CSP forbids eval: jitless parsing is the same result
 * without a CSP violation report.
 */
import './zod-jitless.ts';

export * from '../../../packages/contracts/src/index.ts';
