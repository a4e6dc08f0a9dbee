type ServiceHealth = { status: string; error?: string; uptimeSeconds?: number; version?: string };
type PlatformHealth = { status: string; services: Record<string, ServiceHealth> };

/** `agentpod status`: asks the gateway for the health of every service; exit 0 only when all are ok. */
export async function runStatus(options: { baseUrl: string; json: boolean }): Promise<number> {
  let health: PlatformHealth;
  try {
    const response = await fetch(new URL('/healthz', options.baseUrl), { signal: AbortSignal.timeout(5_000) });
    health = (await response.json()) as PlatformHealth;
  } catch (error) {
    const message = `cannot reach the gateway at ${options.baseUrl}: ${(error as Error).message}`;
    if (options.json) process.stdout.write(`${JSON.stringify({ error: { code: 'unavailable', message } })}\n`);
    else process.stderr.write(`agentpod: ${message}\n`);
    return 1;
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(health, null, 2)}\n`);
  } else {
    for (const [name, service] of Object.entries(health.services)) {
      const detail = service.status === 'ok' ? `up ${service.uptimeSeconds ?? 0}s` : (service.error ?? '');
      process.stdout.write(`${name.padEnd(12)} ${service.status.padEnd(12)} ${detail}\n`);
    }
    process.stdout.write(`\nplatform: ${health.status}\n`);
  }
  return health.status === 'ok' ? 0 : 1;
}
