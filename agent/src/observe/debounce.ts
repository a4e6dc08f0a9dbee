/**
 * Calls `fire` once a burst of triggers has been quiet for `settleMs`, or `maxWaitMs` after the burst's first
 * trigger if it never quiets down (a container that restarts in a loop must not starve the inventory).
 */
export class Debouncer {
  private settle: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly fire: () => void,
    private readonly settleMs: number,
    private readonly maxWaitMs: number,
  ) {}

  get pending(): boolean {
    return this.settle !== undefined;
  }

  trigger(): void {
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.flush(), this.settleMs);
    this.deadline ??= setTimeout(() => this.flush(), this.maxWaitMs);
  }

  cancel(): void {
    clearTimeout(this.settle);
    clearTimeout(this.deadline);
    this.settle = undefined;
    this.deadline = undefined;
  }

  private flush(): void {
    this.cancel();
    this.fire();
  }
}
