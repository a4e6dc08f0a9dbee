import { createMailer } from '@agentpod/kit';
import { registerAlertCommands } from '../alert/commands.ts';
import type { MonitorDeps } from '../deps.ts';
import { LeaderLoop } from '../leader-loop.ts';
import { EMAIL_SENDER_LOCK, EmailSender } from '../notify/email-sender.ts';
import { EMAILS_CHANNEL } from '../read-model/projection.ts';
import { natsClusterSource } from './cluster.ts';
import { RuleEvaluator } from './evaluator.ts';
import { registerRuleHandlers } from './handlers.ts';

/** The evaluator's lock: one monitor instance evaluates the rules at a time. */
export const EVALUATOR_LOCK = 'agentpod.monitor.alert-evaluator';

/**
 * Alert rules and their notifications: the rule, acknowledge and silence handlers, the rule evaluator and the
 * email sender (each led by one instance), stopped with the service.
 */
export async function startAlertRules(deps: MonitorDeps): Promise<void> {
  const { runtime } = deps;
  const { config, logger, store, db, locks, clock } = runtime;
  registerRuleHandlers(deps);
  registerAlertCommands(deps);

  const evaluator = new RuleEvaluator({
    db,
    store,
    repos: deps.repos,
    cluster: natsClusterSource(runtime.nc),
    clock,
    logger,
    renotifyMs: config.AGENTPOD_ALERT_RENOTIFY,
    hourlyCap: config.AGENTPOD_ALERT_TENANT_HOURLY_CAP,
  });
  const evaluating = new LeaderLoop({
    locks,
    key: EVALUATOR_LOCK,
    what: 'alert rule evaluator',
    logger,
    intervalMs: config.AGENTPOD_ALERT_EVAL_SECONDS * 1_000,
    tick: (signal) => evaluator.tick(signal),
  });

  const mailer = createMailer(config, logger);
  const emails = new EmailSender({
    db,
    store,
    repos: deps.repos,
    mailer,
    retry: deps.retry,
    publicUrl: config.AGENTPOD_PUBLIC_URL,
    clock,
    logger,
    caughtUp: (seq) => runtime.caughtUp('monitor', seq),
  });
  const sending = new LeaderLoop({
    locks,
    key: EMAIL_SENDER_LOCK,
    what: 'alert email sender',
    logger,
    intervalMs: config.AGENTPOD_WEBHOOK_POLL_MS,
    tick: (signal) => emails.tick(signal),
  });
  const due = await runtime.sql.listen(EMAILS_CHANNEL, () => sending.poke());
  runtime.onStop(async () => {
    await Promise.all([evaluating.stop(), sending.stop()]);
    await due.unlisten().catch(() => {});
    mailer.close();
  });
  evaluating.start();
  sending.start();
}
