import assert from 'node:assert/strict';
import type { EventEnvelope } from '@agentpod/contracts';
import type { SmtpSink } from '@agentpod/kit/testing';
import type { CliResult } from './cli.ts';

/* Assertions on what the CLI printed (and what its events add up to), and on what reached the SMTP sink. */

/** Exit codes of the CLI (packages/cli/README.md). */
export const EXIT = { ok: 0, failure: 1, usage: 2, auth: 3, denied: 4 } as const;

export type ErrorJson = { error: { code: string; message: string } };

/** Fails showing what the CLI printed, so a wrong exit code explains itself. */
export function exited(result: CliResult, code: number): void {
  assert.equal(
    result.code,
    code,
    `exit ${result.code}, expected ${code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
  );
}

/** The JSON error document of a failed --json command, checked for its code. */
export function failed(result: CliResult, exit: number, code: string): ErrorJson['error'] {
  exited(result, exit);
  const { error } = result.json<ErrorJson>();
  assert.equal(error.code, code, error.message);
  assert.ok(error.message.length > 0);
  return error;
}

/** A human error: one line on stderr, naming the cause, and nothing on stdout. */
export function oneLineError(result: CliResult, exit: number, pattern: RegExp): void {
  exited(result, exit);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^agentpod: [^\n]+\n$/);
  assert.match(result.stderr, pattern);
}

const linkIn = (text: string, prefix: string): string | undefined =>
  text.match(/https?:\/\/\S+/g)?.find((candidate) => candidate.startsWith(prefix));

/** The link starting with `prefix` in the next email to `to` that has one (other mail to them is passed over). */
export async function mailedLink(smtp: SmtpSink, to: string, prefix: string): Promise<string> {
  for (;;) {
    const link = linkIn((await smtp.next(to)).text, prefix);
    if (link) return link;
  }
}

/** The token in a link's fragment (`…#token=apl_…`). */
export const fragmentToken = (link: string) => new URL(link).hash.replace(/^#token=/, '');

/** `--json` output of `agentpod events`: one envelope per line. */
export const ndjson = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as EventEnvelope);

/** Host port → the pod holding it, folded from a node aggregate's events (placed, changed, released). */
export function heldPorts(events: readonly EventEnvelope[]): Map<number, string> {
  const byPod = new Map<string, number[]>();
  for (const event of events) {
    const data = event.data as { tenantId?: string; podId?: string; ports?: { hostPort: number }[] };
    const pod = `${data.tenantId}/${data.podId}`;
    if (event.type === 'PodPlaced' || event.type === 'PodPlacementChanged')
      byPod.set(
        pod,
        (data.ports ?? []).map((p) => p.hostPort),
      );
    else if (event.type === 'PodReleased') byPod.delete(pod);
  }
  return new Map([...byPod].flatMap(([pod, ports]) => ports.map((port) => [port, pod] as const)));
}
