import type { AlertSeverity, AlertView } from '@agentpod/contracts';
import { podPath } from '../format.ts';

/* How alerts read in the console (the alerts page and the overview's firing alerts). Pure; alerts.unit.test.ts. */

const SEVERITY_RANK: Record<AlertSeverity, number> = { critical: 0, warning: 1, info: 2 };

/** The most severe first, then the newest. */
export const bySeverityThenNewest = (a: AlertView, b: AlertView): number =>
  (SEVERITY_RANK[a.severity] ?? 3) - (SEVERITY_RANK[b.severity] ?? 3) || b.firedAt.localeCompare(a.firedAt);

/** The overview's few: firing only, most severe and newest first. */
export const topFiring = (alerts: readonly AlertView[], count = 5): AlertView[] =>
  alerts
    .filter((alert) => alert.state === 'firing')
    .sort(bySeverityThenNewest)
    .slice(0, count);

/** What the alert is about, in words, and the console page of it (none for a platform-wide alert). */
export function targetOf(alert: Pick<AlertView, 'target'>): { label: string; href: string | null } {
  const { tenantId, podId, nodeId } = alert.target;
  if (tenantId && podId) return { label: `${tenantId}/${podId}`, href: podPath(tenantId, podId) };
  if (nodeId) return { label: `node ${nodeId}`, href: `/nodes/${encodeURIComponent(nodeId)}` };
  if (tenantId) return { label: `tenant ${tenantId}`, href: null };
  return { label: 'the platform', href: null };
}

/** Whether a live event (its type) may change the list of alerts: the page then fetches it again. */
export const changesAlerts = (type: string): boolean => type.startsWith('Alert');

/** Silence presets of the alerts page; any other length is typed as a duration ("90m", "3d"). */
export const SILENCE_PRESETS = ['1h', '8h', '24h'] as const;

/** The longest silence the API takes (contracts' MAX_SILENCE_MS; a unit test keeps the two equal). */
export const MAX_SILENCE_DAYS = 30;

/**
 * A silence length as the API takes it (SilenceDuration: 1–6 digits then m, h or d, at most 30 days), or a
 * message saying why it is not one. (The page applies the contract's schema as well; this gives the words.)
 */
export function parseSilence(text: string): { ok: true; value: string } | { ok: false; message: string } {
  const value = text.trim().toLowerCase().replace(/\s+/g, '');
  const match = /^([1-9][0-9]{0,5})([mhd])$/.exec(value);
  if (!match) return { ok: false, message: 'Enter a number followed by m, h or d, such as 90m, 3h or 2d.' };
  const amount = Number(match[1]);
  const minutes = amount * (match[2] === 'd' ? 1_440 : match[2] === 'h' ? 60 : 1);
  if (minutes > MAX_SILENCE_DAYS * 1_440)
    return { ok: false, message: `A silence lasts at most ${MAX_SILENCE_DAYS} days.` };
  return { ok: true, value };
}

/** `silencedUntil` in the future, or none: still silenced at `now`. */
export const silencedAt = (until: string | null | undefined, now = Date.now()): boolean =>
  typeof until === 'string' && Date.parse(until) > now;
