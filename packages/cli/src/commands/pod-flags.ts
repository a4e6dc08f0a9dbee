import {
  AppError,
  EnvKey,
  EnvValue,
  type HealthCheck,
  type Limits,
  MemoryBytes,
  MountPath,
  NodeRef,
  type PodId,
  type PortSpec,
  parseHealthFlag,
  parseMemory,
  parsePodRef,
  RestartPolicy,
  type TenantId,
} from '@agentpod/contracts';
import { z } from 'zod';
import { usageError } from '../args.ts';

/*
 * The pod flags of the command line turned into the API's values, pure and unit-tested. Each bad value fails with
 * the flag and the value named (exit 2), before anything is sent; a secret's value is never repeated in a message.
 */

const fail = (flag: string, value: string, problem: string) => usageError(`invalid ${flag} ${value}: ${problem}`);

function checked<T>(schema: z.ZodType<T>, value: unknown, flag: string, shown: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw fail(flag, shown, parsed.error.issues[0]?.message ?? 'is not valid');
}

/** `<tenant>/<pod>`. */
export function podRefArg(text: string): { tenantId: TenantId; podId: PodId } {
  try {
    return parsePodRef(text);
  } catch {
    throw usageError(`invalid <tenant>/<pod> ${JSON.stringify(text)}: must be <tenant>/<pod>, e.g. acme/web`);
  }
}

/** `8080`, `8080/udp`, `8080:public`, `8080/udp:public`. */
export function parsePortFlag(text: string): PortSpec {
  const match = /^([0-9]{1,6})(?:\/(tcp|udp))?(?::(public))?$/.exec(text);
  if (!match) throw fail('--port', text, 'must be PORT[/tcp|/udp][:public], e.g. 8080, 53/udp or 8080:public');
  const containerPort = Number(match[1]);
  if (containerPort < 1 || containerPort > 65_535) throw fail('--port', text, 'must be a port number 1-65535');
  return { containerPort, protocol: match[2] === 'udp' ? 'udp' : 'tcp', public: match[3] === 'public' };
}

export function parsePortFlags(values: readonly string[]): PortSpec[] {
  const ports = values.map(parsePortFlag);
  const seen = new Set<string>();
  for (const port of ports) {
    const key = `${port.containerPort}/${port.protocol}`;
    if (seen.has(key)) throw usageError(`invalid --port: ${key} is given twice`);
    seen.add(key);
  }
  return ports;
}

/** `KEY=VALUE` (the value may contain `=`), or `KEY` alone when `allowBare` (a secret read from stdin). */
export function parseAssignment(
  flag: '--env' | '--secret',
  text: string,
  allowBare = false,
): { key: string; value: string | undefined } {
  const equals = text.indexOf('=');
  const key = equals < 0 ? text : text.slice(0, equals);
  // A secret's value must not be echoed: messages about a --secret show its key only.
  const shown = flag === '--secret' ? key : text;
  if (equals < 0 && !allowBare) throw fail(flag, shown, 'must be KEY=VALUE');
  checked(EnvKey, key, flag, shown);
  if (equals < 0) return { key, value: undefined };
  const value = text.slice(equals + 1);
  checked(EnvValue, value, flag, shown);
  return { key, value };
}

/** Repeated `--env K=V`: a key given twice is a mistake, not an override. */
export function parseEnvFlags(values: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const text of values) {
    const { key, value } = parseAssignment('--env', text);
    if (Object.hasOwn(env, key)) throw usageError(`invalid --env: ${key} is given twice`);
    env[key] = value ?? '';
  }
  return env;
}

/** Repeated `--secret K=V` or `--secret K`; `missing` lists the keys whose values come from stdin. */
export function parseSecretFlags(values: readonly string[]): { secrets: Record<string, string>; missing: string[] } {
  const secrets: Record<string, string> = {};
  const missing: string[] = [];
  for (const text of values) {
    const { key, value } = parseAssignment('--secret', text, true);
    if (Object.hasOwn(secrets, key) || missing.includes(key)) {
      throw usageError(`invalid --secret: ${key} is given twice`);
    }
    if (value === undefined) missing.push(key);
    else secrets[key] = value;
  }
  return { secrets, missing };
}

/** `256m`, `1g`, `512Mi`, bytes. */
export function parseMemoryFlag(text: string): number {
  let bytes: number;
  try {
    bytes = parseMemory(text);
  } catch {
    throw fail('--memory', text, 'must be a size such as 256m or 1g');
  }
  return checked(MemoryBytes, bytes, '--memory', text);
}

export function parseCpusFlag(text: string): number {
  if (!/^[0-9]{1,3}(?:\.[0-9]{1,3})?$/.test(text)) throw fail('--cpus', text, 'must be a number of CPUs, e.g. 0.5');
  return checked(
    z.number().min(0.01, 'must be at least 0.01').max(64, 'must be at most 64'),
    Number(text),
    '--cpus',
    text,
  );
}

export function parsePidsFlag(text: string): number {
  if (!/^[0-9]{1,6}$/.test(text)) throw fail('--pids', text, 'must be a whole number, e.g. 256');
  return checked(
    z.number().int().min(16, 'must be at least 16').max(32_768, 'must be at most 32768'),
    Number(text),
    '--pids',
    text,
  );
}

/** The limits the flags set (only those: an update keeps the others); undefined when none is given. */
export function limitsFrom(options: {
  memory?: string | undefined;
  cpus?: string | undefined;
  pids?: string | undefined;
}): Partial<Limits> | undefined {
  const limits: Partial<Limits> = {
    ...(options.memory === undefined ? {} : { memoryBytes: parseMemoryFlag(options.memory) }),
    ...(options.cpus === undefined ? {} : { cpus: parseCpusFlag(options.cpus) }),
    ...(options.pids === undefined ? {} : { pids: parsePidsFlag(options.pids) }),
  };
  return Object.keys(limits).length === 0 ? undefined : limits;
}

export const parseVolumeFlag = (text: string): { mountPath: string } => ({
  mountPath: checked(MountPath, text, '--volume', text),
});

export const parseNodeFlag = (text: string): string => checked(NodeRef, text, '--node', text);

export const parseRestartFlag = (text: string): RestartPolicy =>
  checked(RestartPolicy, text, '--restart', text) as RestartPolicy;

export function parseHealth(text: string): HealthCheck {
  try {
    return parseHealthFlag(text);
  } catch (error) {
    const detail = error instanceof AppError ? error.message.replace(/^invalid /, '') : String(error);
    throw usageError(`invalid --health ${text}: ${detail}`);
  }
}

/**
 * Splits `--cmd` into argv the way a shell would split words, and nothing more: whitespace separates, single
 * quotes keep everything literally, double quotes keep spaces and let `\"` and `\\` through, a backslash outside
 * quotes escapes the next character. No variables, globs or substitutions: nothing here is ever run by a shell.
 */
export function splitCommand(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let started = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const char = text[i] ?? '';
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else current += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) current += text[++i];
      else current += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      started = true;
    } else if (char === '\\') {
      if (i + 1 >= text.length) throw fail('--cmd', JSON.stringify(text), 'ends with a lone backslash');
      current += text[++i];
      started = true;
    } else if (/\s/.test(char)) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (quote)
    throw fail('--cmd', JSON.stringify(text), `has an unbalanced ${quote === "'" ? 'single' : 'double'} quote`);
  if (started) args.push(current);
  return args;
}

export function parseCmdFlag(text: string): string[] {
  const argv = splitCommand(text);
  if (argv.length === 0) throw fail('--cmd', JSON.stringify(text), 'is empty');
  return argv;
}

/** `--timeout` in seconds for `--wait`. */
export function parseTimeoutFlag(text: string | undefined): number {
  if (text === undefined) return 120;
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 86_400) {
    throw fail('--timeout', text, 'must be a number of seconds, 1-86400');
  }
  return Number(text);
}
