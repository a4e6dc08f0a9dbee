/*
 * Whether the control plane can be reached, as the console last saw it: a request that found no gateway, or the
 * live socket closing, turns it off (the layout shows a banner); the live socket opening again turns it back on,
 * and pages reload what they show.
 */

class Connection {
  reachable = $state(true);
  /** When it was last found unreachable (ms since the epoch); null while reachable. */
  since = $state<number | null>(null);

  unreachable(): void {
    if (!this.reachable) return;
    this.reachable = false;
    this.since = Date.now();
  }

  reachableAgain(): void {
    this.reachable = true;
    this.since = null;
  }
}

export const connection = new Connection();
