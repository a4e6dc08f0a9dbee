/* How numbers, times and states read in the console. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  let amount = value;
  let unit = 0;
  while (amount >= 1024 && unit < UNITS.length - 1) {
    amount /= 1024;
    unit += 1;
  }
  return `${amount >= 10 || unit === 0 ? Math.round(amount) : amount.toFixed(1)} ${UNITS[unit]}`;
}

/** "3 min ago", "in 5 s"; the exact time is for a title attribute. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  const abs = Math.abs(seconds);
  const [amount, unit] =
    abs < 60
      ? [abs, 's']
      : abs < 3600
        ? [Math.floor(abs / 60), 'min']
        : abs < 86_400
          ? [Math.floor(abs / 3600), 'h']
          : [Math.floor(abs / 86_400), 'd'];
  return seconds >= 0 ? `${amount} ${unit} ago` : `in ${amount} ${unit}`;
}

export const dateTime = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

/** The tone of a pod, node or alert state: a CSS class of the badge. */
export function tone(state: string): 'ok' | 'warn' | 'bad' | 'idle' {
  switch (state) {
    case 'running':
    case 'healthy':
    case 'online':
    case 'resolved':
    case 'active':
    case 'accepted':
      return 'ok';
    case 'pending':
    case 'creating':
    case 'starting':
    case 'deleting':
    case 'exited':
      return 'warn';
    case 'failed':
    case 'failing':
    case 'unhealthy':
    case 'unreachable':
    case 'offline':
    case 'firing':
    case 'revoked':
    case 'expired':
      return 'bad';
    default:
      return 'idle';
  }
}

export const podPath = (tenantId: string, podId: string): string => `/pods/${tenantId}/${podId}`;

/** A pod's aggregate id in the PODS and RECONCILER streams (its timeline). */
export const podAggregate = (tenantId: string, podId: string): string => `pod_${tenantId}_${podId}`;
