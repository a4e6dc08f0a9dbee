import { TERMINAL_WINDOW_BYTES } from '@agentpod/contracts';

/*
 * The browser's half of the terminal's credit window (contracts/src/workspace.ts): the agent stops reading the
 * pty while more than TERMINAL_WINDOW_BYTES of output are unacknowledged, so the console must acknowledge what
 * xterm has actually consumed (its write callback), cumulatively, and often enough that the window keeps
 * flowing, but not once per keystroke echo. Counted bytes are output payload bytes (the stream byte excluded).
 *
 * - While output streams in, acknowledge every ACK_BATCH_BYTES consumed: far below the window, so the agent
 *   never waits on a batch.
 * - When xterm has consumed everything it was given, acknowledge the rest shortly after (ACK_IDLE_MS), so a
 *   quiet terminal holds nothing unacknowledged for long and the last bytes of a burst never stall the window.
 */

export const ACK_BATCH_BYTES = 32 * 1024;
export const ACK_IDLE_MS = 150;

// A batch larger than the window would deadlock: the agent would wait for an ack the console never sends.
if (ACK_BATCH_BYTES >= TERMINAL_WINDOW_BYTES) throw new Error('ACK_BATCH_BYTES must stay below the window');

/** What to do after xterm consumed some output: send an ack now, soon (after ACK_IDLE_MS), or nothing yet. */
export type AckAdvice = 'now' | 'soon' | 'none';

export class AckCounter {
  /** Output bytes handed to xterm. */
  #received = 0;
  /** Output bytes xterm has processed (its write callbacks). */
  #consumed = 0;
  /** The cumulative count last sent to the gateway. */
  #acked = 0;

  get received(): number {
    return this.#received;
  }
  get consumed(): number {
    return this.#consumed;
  }
  get acked(): number {
    return this.#acked;
  }
  /** Bytes the agent still counts against the window. */
  get unacknowledged(): number {
    return this.#received - this.#acked;
  }

  /** Output bytes that arrived and were handed to xterm. */
  receive(bytes: number): void {
    this.#received += bytes;
  }

  /** xterm has processed `bytes` more (a write callback fired). */
  consume(bytes: number): AckAdvice {
    this.#consumed = Math.min(this.#received, this.#consumed + bytes);
    const pending = this.#consumed - this.#acked;
    if (pending >= ACK_BATCH_BYTES) return 'now';
    if (pending > 0 && this.#consumed === this.#received) return 'soon';
    return 'none';
  }

  /** The cumulative count to send, when there is anything new to acknowledge; records it as sent. */
  take(): number | undefined {
    if (this.#consumed <= this.#acked) return undefined;
    this.#acked = this.#consumed;
    return this.#acked;
  }
}
