import { commandSubject, querySubject } from '@agentpod/contracts';
import type { RouteHandlers } from './context.ts';

type AlertRuleHandlers = Pick<
  RouteHandlers,
  | 'ackAlert'
  | 'silenceAlert'
  | 'listAlertEmails'
  | 'listTenantAlertRules'
  | 'addTenantAlertRule'
  | 'removeTenantAlertRule'
  | 'silenceTenantAlertRule'
  | 'listPlatformAlertRules'
  | 'addPlatformAlertRule'
  | 'removePlatformAlertRule'
  | 'silencePlatformAlertRule'
>;

const monitorCmd = (name: string) => commandSubject('monitor', name);
const monitorQry = (name: string) => querySubject('monitor', name);

/* Changes wait for the monitor's read model before answering. */
const CHANGE = { timeoutMs: 15_000 };

/**
 * Alert rules, acknowledgements and silences: the monitor answers, authorising again from its own records (a
 * tenant's alert: members act, viewers read; platform rules and alerts: platform admins).
 */
export const alertRuleHandlers: AlertRuleHandlers = {
  ackAlert: ({ params, call }) => call(monitorCmd('ackAlert'), { alertId: params.alert }, CHANGE),

  silenceAlert: ({ params, body, call }) =>
    call(monitorCmd('silenceAlert'), { alertId: params.alert, for: body.for }, CHANGE),

  listAlertEmails: ({ params, query, call }) =>
    call(monitorQry('listAlertEmails'), { alertId: params.alert, limit: query.limit }),

  listTenantAlertRules: ({ params, call }) => call(monitorQry('listAlertRules'), { tenantId: params.tenant }),

  addTenantAlertRule: ({ params, body, call }) =>
    call(monitorCmd('addAlertRule'), { ...body, tenantId: params.tenant }, CHANGE),

  removeTenantAlertRule: ({ params, call }) =>
    call(monitorCmd('removeAlertRule'), { tenantId: params.tenant, ruleId: params.rule }, CHANGE),

  silenceTenantAlertRule: ({ params, body, call }) =>
    call(monitorCmd('silenceAlertRule'), { ...body, tenantId: params.tenant, ruleId: params.rule }, CHANGE),

  listPlatformAlertRules: ({ call }) => call(monitorQry('listAlertRules'), {}),

  addPlatformAlertRule: ({ body, call }) => call(monitorCmd('addAlertRule'), body, CHANGE),

  removePlatformAlertRule: ({ params, call }) => call(monitorCmd('removeAlertRule'), { ruleId: params.rule }, CHANGE),

  silencePlatformAlertRule: ({ params, body, call }) =>
    call(monitorCmd('silenceAlertRule'), { ...body, ruleId: params.rule }, CHANGE),
};
