import { aiEvents, type Encrypted, type EventOf } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';

/*
 * A tenant's provider override (`ai.evt.aicfg_<tenant>`): each TenantAiConfigured carries the whole override
 * after the change (null: the platform's provider again), so the state is simply the last one. Pure.
 */

export const configEvents = { TenantAiConfigured: aiEvents.TenantAiConfigured };

/** Each field null: the platform's. */
export type Override = { baseUrl: string | null; model: string | null; apiKey: Encrypted | null };
export type TenantConfig = { override: Override | null };

export const configAggregate: AggregateDefinition<TenantConfig, typeof configEvents> = {
  context: 'ai',
  events: configEvents,
  initialState: { override: null },
  evolve(_state, event) {
    return { override: event.data.override };
  },
};

/** What an owner asked for: absent fields keep their value, `apiKey: null` removes the tenant's key. */
export type ConfigChange = {
  baseUrl?: string;
  model?: string;
  /** Already encrypted; null removes it. */
  apiKey?: Encrypted | null;
  reset: boolean;
};

/** The override after `change`; null when nothing is overridden any more. */
export function nextOverride(current: Override | null, change: ConfigChange): Override | null {
  if (change.reset) return null;
  const next: Override = {
    baseUrl: change.baseUrl ?? current?.baseUrl ?? null,
    model: change.model ?? current?.model ?? null,
    apiKey: change.apiKey === undefined ? (current?.apiKey ?? null) : change.apiKey,
  };
  return next.baseUrl === null && next.model === null && next.apiKey === null ? null : next;
}

export function decideConfigure(
  state: TenantConfig,
  tenantId: string,
  change: ConfigChange,
): EventOf<typeof configEvents>[] {
  const override = nextOverride(state.override, change);
  if (override === null && state.override === null) return [];
  return [{ type: 'TenantAiConfigured', tenantId, data: { tenantId, override } }];
}
