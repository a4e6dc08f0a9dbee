import {
  AlertRuleCommands,
  type AlertRuleDefinition,
  AlertRuleQueries,
  type AlertRuleResult,
  type AlertRuleView,
  type AlertTarget,
  AppError,
  BUILTIN_POD_FAILING,
  BUILTIN_POD_FAILING_RULE,
  commandSubject,
  durationMs,
  hasPlatformAdmin,
  querySubject,
  type RequestMeta,
  ruleDefinition,
} from '@agentpod/contracts';
import { type CommandOutcome, executeCommand, handler, randomId } from '@agentpod/kit';
import type { z } from 'zod';
import { requireTenant } from '../access.ts';
import type { MonitorDeps } from '../deps.ts';
import { decideAddRule, decideRemoveRule, decideSilenceRule, type Rule, type RuleEvent } from './aggregate.ts';

/** Rules are evaluated every few seconds: a cap keeps one tenant from making that expensive. */
export const MAX_RULES_PER_TENANT = 50;
export const MAX_PLATFORM_RULES = 100;

export const newRuleId = (): string => randomId('rul_');

/** Who acted, for the record: the user (or the service). */
export const actorName = (meta: RequestMeta): string => meta.principal?.userId ?? meta.actor.id;

/** Platform rules: a platform admin (a session, or an unscoped admin token) or a service. */
export function requirePlatformAdmin(meta: RequestMeta, action: string): void {
  if (meta.actor.kind === 'system' && meta.principal === undefined) return;
  if (!meta.principal) throw new AppError('unauthenticated', 'this request needs a signed-in caller');
  if (!hasPlatformAdmin(meta.principal)) throw new AppError('forbidden', `${action} needs a platform admin`);
}

async function settle(deps: MonitorDeps, outcome: CommandOutcome<unknown>): Promise<void> {
  const seq = Math.max(0, ...outcome.events.map((event) => event.seq));
  if (seq > 0) await deps.runtime.caughtUp('monitor', seq);
}

/** The built-in rule has no events of its own; for silencing it is live like any other platform rule. */
const withBuiltIn = (ruleId: string, state: Rule): Rule =>
  ruleId === BUILTIN_POD_FAILING_RULE ? { status: 'live', rule: BUILTIN_POD_FAILING } : state;

/** The rules of a tenant (or the platform's, the built-in one first), with the silences in force. */
export async function listRules(deps: MonitorDeps, tenantId: string | null, ruleId?: string): Promise<AlertRuleView[]> {
  const { db, clock } = deps.runtime;
  const rows = await db
    .selectFrom('alert_rules')
    .select(['rule_id', 'definition', 'created_at'])
    .where('removed_at', 'is', null)
    .where((eb) => (tenantId === null ? eb('tenant_id', 'is', null) : eb('tenant_id', '=', tenantId)))
    .$if(ruleId !== undefined, (q) => q.where('rule_id', '=', ruleId ?? ''))
    .orderBy('created_at')
    .orderBy('rule_id')
    .execute();
  const listed = rows.map((row) => ({
    definition: row.definition as AlertRuleDefinition,
    createdAt: row.created_at.toISOString() as string | null,
  }));
  if (tenantId === null && (ruleId === undefined || ruleId === BUILTIN_POD_FAILING_RULE)) {
    listed.unshift({ definition: BUILTIN_POD_FAILING, createdAt: null });
  }
  if (listed.length === 0) return [];
  const silences = await db
    .selectFrom('rule_silences')
    .select(['rule_id', 'target', 'until'])
    .where(
      'rule_id',
      'in',
      listed.map((r) => r.definition.ruleId),
    )
    .where('until', '>', clock())
    .orderBy('until')
    .execute();
  return listed.map(({ definition, createdAt }) => ({
    ...definition,
    scope: definition.tenantId === null ? 'platform' : 'tenant',
    builtIn: definition.ruleId === BUILTIN_POD_FAILING_RULE,
    silences: silences
      .filter((s) => s.rule_id === definition.ruleId)
      .map((s) => ({ target: (s.target as AlertTarget | null) ?? null, until: s.until.toISOString() })),
    createdAt,
  }));
}

/** `monitor.cmd.{addAlertRule,removeAlertRule,silenceAlertRule}`, `monitor.qry.listAlertRules`. */
export function registerRuleHandlers(deps: MonitorDeps): void {
  const { runtime } = deps;
  const serve = <I, O>(subject: string, input: z.ZodType<I>, handle: (i: I, m: RequestMeta) => Promise<O>) =>
    runtime.serve(subject, handler(input, handle));
  const execute = (ruleId: string, meta: RequestMeta, decide: (state: Rule, now: Date) => RuleEvent[] | AppError) =>
    executeCommand({
      store: runtime.store,
      repository: deps.repos.rules,
      aggregateId: ruleId,
      meta,
      decide,
      clock: runtime.clock,
    });
  const authorise = async (tenantId: string | undefined, meta: RequestMeta, action: string) => {
    if (tenantId === undefined) requirePlatformAdmin(meta, action);
    else await requireTenant(runtime, meta, tenantId, 'admin', action);
  };
  const one = async (tenantId: string | null, ruleId: string): Promise<AlertRuleView> => {
    const [view] = await listRules(deps, tenantId, ruleId);
    if (!view) throw new AppError('not_found', `no alert rule ${ruleId}`);
    return view;
  };

  serve(
    commandSubject('monitor', 'addAlertRule'),
    AlertRuleCommands.addAlertRule,
    async (input, meta): Promise<AlertRuleResult<'addAlertRule'>> => {
      const { tenantId, ...fields } = input;
      await authorise(tenantId, meta, 'adding an alert rule');
      const existing = await runtime.db
        .selectFrom('alert_rules')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .where('removed_at', 'is', null)
        .where((eb) => (tenantId === undefined ? eb('tenant_id', 'is', null) : eb('tenant_id', '=', tenantId)))
        .executeTakeFirstOrThrow();
      const cap = tenantId === undefined ? MAX_PLATFORM_RULES : MAX_RULES_PER_TENANT;
      if (Number(existing.count) >= cap) {
        throw new AppError('conflict', `${tenantId ?? 'the platform'} has ${cap} alert rules, the most it may have`);
      }
      const ruleId = newRuleId();
      const definition = ruleDefinition(ruleId, tenantId ?? null, fields);
      await settle(deps, await execute(ruleId, meta, (state) => decideAddRule(state, definition)));
      return one(definition.tenantId, ruleId);
    },
  );

  serve(commandSubject('monitor', 'removeAlertRule'), AlertRuleCommands.removeAlertRule, async (input, meta) => {
    const { tenantId, ruleId } = input;
    await authorise(tenantId, meta, 'removing an alert rule');
    if (ruleId === BUILTIN_POD_FAILING_RULE) {
      throw new AppError('conflict', 'the built-in pod-failing rule cannot be removed; silence it instead');
    }
    await settle(deps, await execute(ruleId, meta, (state) => decideRemoveRule(state, tenantId ?? null, ruleId)));
    return { removed: true } as const;
  });

  serve(
    commandSubject('monitor', 'silenceAlertRule'),
    AlertRuleCommands.silenceAlertRule,
    async (input, meta): Promise<AlertRuleResult<'silenceAlertRule'>> => {
      const { tenantId, ruleId, podId, nodeId } = input;
      await authorise(tenantId, meta, 'silencing an alert rule');
      if (podId !== undefined && tenantId === undefined) {
        throw new AppError('invalid', 'podId: only a tenant rule can be silenced about one pod');
      }
      if (nodeId !== undefined && tenantId !== undefined) {
        throw new AppError('invalid', 'nodeId: only a platform rule can be silenced about one node');
      }
      const target: AlertTarget | null =
        podId !== undefined
          ? { tenantId: tenantId ?? null, podId, nodeId: null }
          : nodeId !== undefined
            ? { tenantId: null, podId: null, nodeId }
            : null;
      const by = actorName(meta);
      await settle(
        deps,
        await execute(ruleId, meta, (state, now) =>
          decideSilenceRule(withBuiltIn(ruleId, state), {
            tenantId: tenantId ?? null,
            ruleId,
            target,
            until: new Date(now.getTime() + durationMs(input.for)).toISOString(),
            by,
          }),
        ),
      );
      return one(tenantId ?? null, ruleId);
    },
  );

  serve(
    querySubject('monitor', 'listAlertRules'),
    AlertRuleQueries.listAlertRules,
    async ({ tenantId }, meta): Promise<AlertRuleResult<'listAlertRules'>> => {
      if (tenantId === undefined) requirePlatformAdmin(meta, 'listing the platform alert rules');
      else await requireTenant(runtime, meta, tenantId, 'viewer', 'listing alert rules');
      return { rules: await listRules(deps, tenantId ?? null) };
    },
  );
}
