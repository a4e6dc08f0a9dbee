import {
  type AlertRuleDefinition,
  type AlertTarget,
  BUILTIN_POD_FAILING_RULE,
  podRef,
  type RequestMeta,
  systemActor,
} from '@agentpod/contracts';
import { ConcurrencyError, type EventStore, type Logger } from '@agentpod/kit';
import type { Kysely } from 'kysely';
import { budgetLeft, ruleSilencedUntil, tenantKey } from '../alert/context.ts';
import { noticeFor } from '../alert/notice.ts';
import { type AlertEvent, type AlertSeries, decideReminder } from '../alert/series.ts';
import type { MonitorDb } from '../db.ts';
import type { Repositories } from '../deps.ts';
import { derivedEventId } from '../ids.ts';
import type { ClusterSnapshot, ClusterSource } from './cluster.ts';
import { decideRuleAlert, evaluationId, ruleSeriesId } from './decide.ts';
import { judge, type Verdict } from './judge.ts';
import { observe, SinceTracker } from './observe.ts';

/*
 * The rule evaluator: every AGENTPOD_ALERT_EVAL_SECONDS the leader (LeaderLoop) evaluates every live rule against
 * what it observes now, fires and resolves alerts in the log, and sends due reminders.
 *
 *   alert_rules ─► observe (raw samples, recoveries, the pods service's snapshot) ─► judge ─► decideRuleAlert
 *        firing alerts (read model) ─┘                                      series (log) ─► AlertFired / Resolved
 *
 * The read model's firing alerts only spare work (a series is loaded when its verdict could change it); the
 * decision is made on the series loaded from the log, and appended conditionally with ids derived from the
 * evaluation, so a lagging read model or two leaders for a moment never make a second alert.
 */

const ATTEMPTS = 5;

export type EvaluatorOptions = {
  db: Kysely<MonitorDb>;
  store: EventStore;
  repos: Pick<Repositories, 'series'>;
  cluster: ClusterSource;
  clock: () => Date;
  logger: Logger;
  renotifyMs: number;
  hourlyCap: number;
};

type FiringRow = { alert_id: string; series: string; rule_id: string; target: AlertTarget };

/** What is left of each tenant's hourly cap during one evaluation: read once, spent as notifications are made. */
class Budgets {
  readonly #left = new Map<string, number>();
  readonly #db: Kysely<MonitorDb>;
  readonly #now: Date;
  readonly #cap: number;

  constructor(db: Kysely<MonitorDb>, now: Date, cap: number) {
    this.#db = db;
    this.#now = now;
    this.#cap = cap;
  }

  async left(tenantId: string | null): Promise<number> {
    const key = tenantKey(tenantId);
    const known = this.#left.get(key);
    if (known !== undefined) return known;
    const left = await budgetLeft(this.#db, key, this.#now, this.#cap);
    this.#left.set(key, left);
    return left;
  }

  spend(tenantId: string | null): void {
    const key = tenantKey(tenantId);
    this.#left.set(key, (this.#left.get(key) ?? this.#cap) - 1);
  }
}

const labelOf = (target: AlertTarget): string =>
  target.tenantId && target.podId ? podRef(target.tenantId, target.podId) : `node ${target.nodeId ?? '-'}`;

export class RuleEvaluator {
  readonly #options: EvaluatorOptions;
  readonly #since = new SinceTracker();

  constructor(options: EvaluatorOptions) {
    this.#options = options;
  }

  /** One evaluation of every rule, then the reminders; answers nothing (the loop's interval sets the pace). */
  async tick(signal: AbortSignal): Promise<undefined> {
    const { db, clock, logger, cluster } = this.#options;
    const now = clock();
    const rows = await db.selectFrom('alert_rules').select(['definition', 'removed_at']).execute();
    const rules = rows.map((row) => ({
      rule: row.definition as AlertRuleDefinition,
      removed: row.removed_at !== null,
    }));
    const tenants = new Set((await db.selectFrom('tenants').select('id').execute()).map((row) => row.id));
    const firing = (await db
      .selectFrom('alerts')
      .select(['alert_id', 'series', 'rule_id', 'target'])
      .where('state', '=', 'firing')
      .where('rule_id', '!=', BUILTIN_POD_FAILING_RULE)
      .execute()) as FiringRow[];
    const firingSeries = new Set(firing.map((row) => row.series));
    let fetched: Promise<ClusterSnapshot> | undefined;
    const snapshot = () => {
      fetched ??= cluster();
      return fetched;
    };
    const budgets = new Budgets(db, now, this.#options.hourlyCap);
    const evaluated = new Set<string>();

    for (const { rule, removed } of rules) {
      if (signal.aborted) return undefined;
      // A deleted tenant's rules lie dormant: their alerts resolve below, like a removed rule's.
      if (removed || (rule.tenantId !== null && !tenants.has(rule.tenantId))) continue;
      let observed: Awaited<ReturnType<typeof observe>>;
      try {
        observed = await observe(db, rule, now, snapshot);
      } catch (error) {
        // Not knowing is not "back to normal": nothing fires or resolves for this rule until it can be observed.
        logger.warn({ err: error, ruleId: rule.ruleId }, 'alert rule not evaluated: its data is not available');
        evaluated.add(rule.ruleId);
        continue;
      }
      evaluated.add(rule.ruleId);
      const seen = new Set<string>();
      for (const { target, label, observation } of observed) {
        const series = ruleSeriesId(rule.ruleId, target);
        seen.add(series);
        let judged = observation;
        if (judged.kind === 'state') {
          const tracked = this.#since.since(`${rule.ruleId}|${series}`, judged.active, now);
          judged = { ...judged, since: judged.since ?? tracked };
        }
        const verdict = judge(rule, judged, now);
        const isFiring = firingSeries.has(series);
        if ((verdict.verdict === 'firing' && !isFiring) || (verdict.verdict === 'ok' && isFiring)) {
          await this.#act(rule, target, label, verdict, now, budgets);
        }
      }
      for (const row of firing) {
        if (row.rule_id !== rule.ruleId || seen.has(row.series)) continue;
        const gone: Verdict = { verdict: 'ok', value: null, reason: 'no longer observed (no recent data, or gone)' };
        await this.#act(rule, row.target, labelOf(row.target), gone, now, budgets);
      }
    }
    // Alerts of removed rules (or of a deleted tenant's) resolve.
    const byId = new Map(rules.map(({ rule }) => [rule.ruleId, rule]));
    for (const row of firing) {
      const rule = byId.get(row.rule_id);
      if (!rule || evaluated.has(row.rule_id)) continue;
      const removed: Verdict = { verdict: 'ok', value: null, reason: 'its rule was removed' };
      await this.#act(rule, row.target, labelOf(row.target), removed, now, budgets);
    }
    this.#since.retain(evaluated);
    await this.#remind(now, budgets, signal);
    return undefined;
  }

  /** Decides on the series (loaded from the log) and appends, deciding again after a concurrent write. */
  async #act(
    rule: AlertRuleDefinition,
    target: AlertTarget,
    label: string,
    verdict: Verdict,
    now: Date,
    budgets: Budgets,
  ): Promise<void> {
    const { db } = this.#options;
    const seriesId = ruleSeriesId(rule.ruleId, target);
    const silenced = await ruleSilencedUntil(db, rule.ruleId, target, now);
    const budget = await budgets.left(target.tenantId);
    const source = evaluationId(rule.ruleId, target, now);
    const events = await this.#append(seriesId, source, target.tenantId, now, (state) => {
      const notice = noticeFor({ now, ruleSilencedUntil: silenced, budget }, state.firing?.silencedUntil ?? null);
      return decideRuleAlert({ rule, target, label, verdict, now, notice }, state);
    });
    for (const event of events) if ('notify' in event.data && event.data.notify) budgets.spend(target.tenantId);
  }

  /** Reminders of firing alerts (every rule's, the built-in one's too) nobody acknowledged or silenced. */
  async #remind(now: Date, budgets: Budgets, signal: AbortSignal): Promise<void> {
    const { db, renotifyMs } = this.#options;
    const due = await db
      .selectFrom('alerts')
      .select(['alert_id', 'series', 'rule_id', 'target', 'tenant_id'])
      .where('state', '=', 'firing')
      .where('acknowledged_by', 'is', null)
      .where((eb) => eb.or([eb('silenced_until', 'is', null), eb('silenced_until', '<=', now)]))
      .where((eb) =>
        eb.or([eb('last_notified_at', 'is', null), eb('last_notified_at', '<=', new Date(now.getTime() - renotifyMs))]),
      )
      .orderBy('fired_at')
      .limit(500)
      .execute();
    for (const row of due) {
      if (signal.aborted) return;
      const target = row.target as AlertTarget;
      const budget = await budgets.left(row.tenant_id);
      if (budget <= 0) continue;
      const silenced = await ruleSilencedUntil(db, row.rule_id, target, now);
      const events = await this.#append(row.series, null, row.tenant_id, now, (state) =>
        decideReminder(state, { now, ruleSilencedUntil: silenced, budget }, renotifyMs),
      );
      if (events.length > 0) budgets.spend(row.tenant_id);
    }
  }

  /**
   * Load → decide → append on one series, with event ids derived from the cause (an evaluation, or the reminder's
   * number), so the same decision appended twice is stored once.
   */
  async #append(
    seriesId: string,
    source: string | null,
    tenantId: string | null,
    now: Date,
    decide: (state: AlertSeries) => AlertEvent[],
  ): Promise<AlertEvent[]> {
    const { store, repos } = this.#options;
    for (let attempt = 1; ; attempt++) {
      const loaded = await repos.series.load(seriesId);
      const events = decide(loaded.state);
      if (events.length === 0) return [];
      const cause = source ?? `reminder:${loaded.state.firing?.alertId}:${loaded.state.firing?.reminders ?? 0}`;
      const meta: RequestMeta = {
        actor: systemActor('monitor'),
        correlationId: derivedEventId(cause),
        ...(tenantId ? { tenantId } : {}),
      };
      try {
        const { stored } = await store.append('monitor', seriesId, events, {
          expected: loaded.position,
          meta,
          now,
          ids: events.map((_, index) => derivedEventId(cause, seriesId, String(index))),
        });
        repos.series.applyAppended(seriesId, loaded, stored);
        return events;
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || attempt >= ATTEMPTS) throw error;
      }
    }
  }
}
