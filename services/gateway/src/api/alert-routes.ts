import { commandSubject, querySubject } from '@agentpod/contracts';
import { alertRuleHandlers } from './alert-rule-routes.ts';
import type { RouteHandlers } from './context.ts';

type AlertHandlers = Pick<
  RouteHandlers,
  'listAlerts' | 'listWebhooks' | 'addWebhook' | 'removeWebhook' | 'testWebhook' | 'listWebhookDeliveries'
> &
  typeof alertRuleHandlers;

const monitorCmd = (name: string) => commandSubject('monitor', name);
const monitorQry = (name: string) => querySubject('monitor', name);

/* Adding a webhook resolves its host (refusing private addresses) and waits for the read model: more than 5 s. */
const CHANGE = { timeoutMs: 15_000 };

const keyOf = (params: { tenant: string; webhook: string }) => ({ tenantId: params.tenant, webhookId: params.webhook });

/**
 * Alerts and webhooks (and, from alert-rule-routes.ts, alert rules, acknowledgements and silences): the monitor
 * service answers, scoping and authorising again from its own records.
 */
export const alertHandlers: AlertHandlers = {
  ...alertRuleHandlers,
  listAlerts: ({ query, call }) =>
    call(monitorQry('listAlerts'), {
      ...(query.tenant ? { tenantId: query.tenant } : {}),
      ...(query.state ? { state: query.state } : {}),
      limit: query.limit,
    }),

  listWebhooks: ({ params, call }) => call(monitorQry('listWebhooks'), { tenantId: params.tenant }),

  addWebhook: ({ params, body, call }) => call(monitorCmd('addWebhook'), { ...body, tenantId: params.tenant }, CHANGE),

  removeWebhook: ({ params, call }) => call(monitorCmd('removeWebhook'), keyOf(params), CHANGE),

  testWebhook: ({ params, call }) => call(monitorCmd('testWebhook'), keyOf(params), CHANGE),

  listWebhookDeliveries: ({ params, query, call }) =>
    call(monitorQry('listDeliveries'), { ...keyOf(params), limit: query.limit }),
};
