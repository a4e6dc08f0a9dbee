import type { DeliveryView } from '@agentpod/contracts';
import type { Kysely } from 'kysely';
import type { MonitorDb } from '../db.ts';
import { deliveryView } from '../read-model/views.ts';

/** A webhook's deliveries (or one of them), newest first, each with its attempts. */
export async function listDeliveries(
  db: Kysely<MonitorDb>,
  filter: { webhookId: string; deliveryId?: string; limit: number },
): Promise<DeliveryView[]> {
  const rows = await db
    .selectFrom('deliveries')
    .select([
      'delivery_id',
      'webhook_id',
      'tenant_id',
      'type',
      'alert_id',
      'status',
      'attempts',
      'next_attempt_at',
      'created_at',
      'updated_at',
    ])
    .where('webhook_id', '=', filter.webhookId)
    .$if(filter.deliveryId !== undefined, (q) => q.where('delivery_id', '=', filter.deliveryId ?? ''))
    .orderBy('created_at', 'desc')
    .orderBy('delivery_id', 'desc')
    .limit(filter.limit)
    .execute();
  if (rows.length === 0) return [];
  const attempts = await db
    .selectFrom('delivery_attempts')
    .selectAll()
    .where(
      'delivery_id',
      'in',
      rows.map((row) => row.delivery_id),
    )
    .orderBy('attempt')
    .execute();
  return rows.map((row) =>
    deliveryView(
      row,
      attempts.filter((attempt) => attempt.delivery_id === row.delivery_id),
    ),
  );
}
