import {
  HealthReport,
  healthSubject,
  newId,
  type RequestMeta,
  SERVICES,
  type ServiceName,
  systemActor,
} from '@agentpod/contracts';
import { request } from '@agentpod/kit';
import type { NatsConnection } from '@nats-io/nats-core';

export type ServiceHealth = HealthReport | { service: string; status: 'unreachable'; error: string };

export type PlatformHealth = {
  status: 'ok' | 'degraded';
  services: Record<string, ServiceHealth>;
};

/** Services behind the gateway, whose health queries the gateway aggregates. */
export const BACKEND_SERVICES = SERVICES.filter((s): s is Exclude<ServiceName, 'gateway'> => s !== 'gateway');

/** Asks every service for its health at once; a service that does not answer in time is `unreachable`. */
export async function platformHealth(nc: NatsConnection, timeoutMs = 2_000): Promise<PlatformHealth> {
  const meta: RequestMeta = { actor: systemActor('gateway'), correlationId: newId() };
  const entries = await Promise.all(
    BACKEND_SERVICES.map(async (service): Promise<[string, ServiceHealth]> => {
      try {
        const report = HealthReport.parse(await request(nc, healthSubject(service), {}, meta, { timeoutMs }));
        return [service, report];
      } catch (error) {
        return [service, { service, status: 'unreachable', error: (error as Error).message }];
      }
    }),
  );
  const services = Object.fromEntries(entries);
  const ok = entries.every(([, health]) => health.status === 'ok');
  return { status: ok ? 'ok' : 'degraded', services };
}
