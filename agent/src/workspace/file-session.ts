import { type ErrorBody, type FileStreamMessage, FileStreamMessage as FileStreamSchema } from '@agentpod/contracts';

/** Publishes one message on the session's `….out`. */
export type PublishFile = (message: FileStreamMessage, durable: boolean) => void;

/** A FileStreamMessage from `….in`, or undefined for anything else. */
export function parseFileMessage(data: string): FileStreamMessage | undefined {
  try {
    const parsed = FileStreamSchema.safeParse(JSON.parse(data));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** How a transfer that ended from the outside says so, if at all. */
export function endedError(reason: 'closed' | 'expired' | 'dropped'): ErrorBody | undefined {
  if (reason === 'expired')
    return { code: 'timeout', message: 'the transfer heard nothing from the control plane; ended' };
  if (reason === 'dropped')
    return { code: 'unavailable', message: "the node's connection to the control plane dropped; the transfer ended" };
  return undefined; // closed: whoever closed it knows
}

/** A promise that someone else resolves: how a transfer waits for credit, data or its end. */
export class Signal {
  private waiting: (() => void) | undefined;

  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}
