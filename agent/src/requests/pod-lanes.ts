import { AppError } from '@agentpod/contracts';

/**
 * One lane per pod: an operation on a pod starts only after every earlier one on that pod has ended, whichever
 * replica of the reconciler (or the pods service) sent it. The reconciler never sends two actions for one pod at
 * once, but a replica that died can still have a request in flight when its successor acts; the lane makes the
 * node itself keep that promise. Operations on different pods do not wait for each other.
 *
 * A lane holding `maxQueued` waiting operations refuses more with `unavailable` at once (a flood for one pod costs
 * bounded memory). Nothing is kept for a pod whose lane is empty.
 */
export class PodLanes {
  readonly #lanes = new Map<string, { tail: Promise<void>; waiting: number }>();

  constructor(private readonly maxQueued = 64) {}

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const lane = this.#lanes.get(key) ?? { tail: Promise.resolve(), waiting: 0 };
    if (lane.waiting >= this.maxQueued)
      throw new AppError('unavailable', `too many operations queued for ${key} on this node; try again shortly`);
    lane.waiting += 1;
    const result = lane.tail.then(() => {
      lane.waiting -= 1;
      return work();
    });
    const tail = result.then(
      () => {},
      () => {},
    );
    lane.tail = tail;
    this.#lanes.set(key, lane);
    try {
      return await result;
    } finally {
      if (lane.tail === tail) this.#lanes.delete(key);
    }
  }

  /** Pods with an operation running or waiting. */
  get size(): number {
    return this.#lanes.size;
  }
}
