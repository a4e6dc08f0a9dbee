import { live } from '../live.svelte.ts';
import { changesAlerts } from './alerts.ts';

/** Poll this often while the live socket is down (it carries the monitor's events when it is up). */
export const ALERTS_POLL_MS = 15_000;
/** An event is stored before the monitor's read model has applied it: ask at once and once more a second later. */
const AFTER_EVENT_MS = [150, 1_200];

/**
 * Calls `reload` when the live socket brings a monitor event `matches` accepts (alert changes by default), after a
 * reconnect (changes made meanwhile were not pushed), and every 15 s while the socket is down. Returns the stop.
 */
export function followAlerts(reload: () => void, matches: (type: string) => boolean = changesAlerts): () => void {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const soon = () => {
    for (const delay of AFTER_EVENT_MS) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        reload();
      }, delay);
      timers.add(timer);
    }
  };
  const poll = setInterval(() => {
    if (live.status !== 'open') reload();
  }, ALERTS_POLL_MS);
  const off = live.on((message) => {
    if (message.type === 'event' && message.context === 'monitor' && matches(message.event.type)) soon();
    if (message.type === 'ready' && live.generation > 1) soon();
  });
  return () => {
    clearInterval(poll);
    for (const timer of timers) clearTimeout(timer);
    off();
  };
}
