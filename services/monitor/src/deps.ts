import type { alertEvents, alertRuleEvents, deliveryEvents, emailEvents, webhookEvents } from '@agentpod/contracts';
import { AggregateRepository, type EventStore, type Keyring, type ServiceRuntime } from '@agentpod/kit';
import { type AlertSeries, alertSeries } from './alert/series.ts';
import type { MonitorDb } from './db.ts';
import { type Delivery, deliveryAggregate } from './delivery/aggregate.ts';
import type { RetryPolicy } from './delivery/backoff.ts';
import type { MonitorEnv } from './env.ts';
import { type EmailDelivery, emailAggregate } from './notify/aggregate.ts';
import { type Rule, ruleAggregate } from './rules/aggregate.ts';
import { type Webhook, webhookAggregate } from './webhook/aggregate.ts';

export type MonitorRuntime = ServiceRuntime<MonitorDb, MonitorEnv>;

export type Repositories = {
  series: AggregateRepository<AlertSeries, typeof alertEvents>;
  webhooks: AggregateRepository<Webhook, typeof webhookEvents>;
  deliveries: AggregateRepository<Delivery, typeof deliveryEvents>;
  rules: AggregateRepository<Rule, typeof alertRuleEvents>;
  emails: AggregateRepository<EmailDelivery, typeof emailEvents>;
};

export function createRepositories(store: EventStore): Repositories {
  return {
    series: new AggregateRepository(store, alertSeries),
    webhooks: new AggregateRepository(store, webhookAggregate),
    deliveries: new AggregateRepository(store, deliveryAggregate),
    rules: new AggregateRepository(store, ruleAggregate),
    emails: new AggregateRepository(store, emailAggregate),
  };
}

/** Everything a handler or the sender uses, built once at start-up. */
export type MonitorDeps = {
  runtime: MonitorRuntime;
  repos: Repositories;
  keyring: Keyring;
  retry: RetryPolicy;
};

/** The cipher contexts (additional authenticated data) of a webhook's URL and secret: a copy elsewhere fails. */
export const urlContext = (webhookId: string): string => `webhook/${webhookId}/url`;
export const secretContext = (webhookId: string): string => `webhook/${webhookId}/secret`;
