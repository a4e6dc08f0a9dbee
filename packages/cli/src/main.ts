#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { runStatus } from './status.ts';

const usage = `agentpod — the AgentPod command-line interface

Usage:
  agentpod status [--json]     health of the gateway and every service

Environment:
  AGENTPOD_URL                 the gateway (default http://127.0.0.1:8080)
`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
});

const [command] = positionals;
const baseUrl = process.env.AGENTPOD_URL ?? 'http://127.0.0.1:8080';
if (values.help || !command) {
  process.stdout.write(usage);
  process.exit(command || values.help ? 0 : 2);
}
switch (command) {
  case 'status':
    process.exit(await runStatus({ baseUrl, json: values.json }));
    break;
  default:
    process.stderr.write(`agentpod: unknown command "${command}"; run agentpod --help\n`);
    process.exit(2);
}
