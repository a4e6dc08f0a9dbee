import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { type RouteName, routes } from '@agentpod/contracts';
import { createExamples, pathOf } from './role-matrix/examples.ts';
import { type Matrix, setupMatrix } from './role-matrix/fixtures.ts';
import { CALLERS, docHeader, docRow, expectedOutcome } from './role-matrix/policy.ts';

/*
 * The role matrix, generated from the route table: every route, called as every kind of caller, against the real
 * identity, tenants, pods, monitor and ai services behind a real gateway, must answer what docs/roles.md says. A
 * new route without an example, or without its row in the doc, fails here.
 */

const ROUTE_NAMES = Object.keys(routes) as RouteName[];

/** A markdown table row with each cell trimmed: `|  a  | b |` → `| a | b |`. */
const normaliseRow = (line: string): string =>
  line.trim().startsWith('|')
    ? `| ${line
        .trim()
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim())
        .join(' | ')} |`
    : line;

describe('role matrix: every route as every caller', () => {
  let matrix: Matrix;
  const examples = createExamples();

  before(async () => {
    matrix = await setupMatrix();
  });
  after(() => matrix?.world.stop());

  test('docs/roles.md states exactly this matrix, one row per route', async () => {
    const doc = await readFile(new URL('../docs/roles.md', import.meta.url), 'utf8');
    // Compared cell by cell, so the formatter's column padding does not matter.
    const lines = doc.split('\n').map(normaliseRow);
    const [heading] = docHeader();
    assert.ok(lines.includes(normaliseRow(heading ?? '')), `docs/roles.md lacks the heading row:\n${heading}`);
    const documented = lines.filter((line) => /^\| `(GET|POST|PATCH|DELETE) \//.test(line));
    const expected = ROUTE_NAMES.map((name) => normaliseRow(docRow(name)));
    const missing = expected.filter((row) => !documented.includes(row));
    const stale = documented.filter((row) => !expected.includes(row));
    assert.deepEqual({ missing, stale }, { missing: [], stale: [] }, 'update the route table in docs/roles.md');
  });

  test('every route of the table has an example request', () => {
    assert.deepEqual(
      ROUTE_NAMES.filter((name) => typeof examples[name] !== 'function'),
      [],
    );
  });

  for (const name of ROUTE_NAMES) {
    const route = routes[name];
    test(`${route.method} ${route.path}`, async () => {
      const mismatches: string[] = [];
      for (const caller of CALLERS) {
        const example = await examples[name](matrix, caller);
        const response = await matrix.world.call({
          method: route.method,
          url: pathOf(route.path, example.params) + (example.query ? `?${example.query}` : ''),
          as: example.as ?? matrix.credential(caller),
          body: example.body,
          headers: example.headers,
        });
        await example.after?.(response);
        const success = example.success ?? ('status' in route ? route.status : 200);
        const actual = response.statusCode === success ? 'ok' : String(response.statusCode);
        const expected = expectedOutcome(name, caller);
        if (actual !== expected) {
          mismatches.push(`${caller}: expected ${expected}, got ${response.statusCode} ${response.body.slice(0, 240)}`);
        }
      }
      assert.deepEqual(mismatches, []);
    });
  }
});
