import { AppError } from '@agentpod/contracts';
import { z } from 'zod';
import { defineCommand } from '../args.ts';
import { EXIT, formatTable } from '../output.ts';

/** What /healthz answers; lenient, as it reports whatever each service says about itself. */
const PlatformHealth = z.object({
  status: z.string(),
  services: z.record(
    z.string(),
    z.looseObject({ status: z.string(), error: z.string().optional(), uptimeSeconds: z.number().optional() }),
  ),
});

export const statusCommand = defineCommand({
  path: ['status'],
  summary: 'Health of the gateway and every service',
  details: 'Exits 0 only when every service is ok, 1 when the platform is degraded.',
  async run(ctx) {
    const client = await ctx.client();
    const response = await client.get('/healthz');
    const parsed = PlatformHealth.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) {
      throw new AppError('internal', `the gateway answered ${response.status} to GET /healthz without a health report`);
    }
    const health = parsed.data;
    ctx.out.result(health, () => {
      const rows = Object.entries(health.services).map(([name, service]) => [
        name,
        service.status,
        service.status === 'ok' ? `up ${service.uptimeSeconds ?? 0}s` : (service.error ?? ''),
      ]);
      return `${formatTable(['service', 'status', 'detail'], rows)}\nplatform: ${health.status}\n`;
    });
    return health.status === 'ok' ? EXIT.ok : EXIT.failure;
  },
});
