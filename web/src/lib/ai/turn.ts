import type { AiStreamChunk, ChatMessageView, ErrorBody, Usage } from '@agentpod/contracts';

/*
 * One message of a conversation as the panel shows it, and how an answer's chunks build it: `delta`s append,
 * `done` ends it (usage, suggested commands, `stopped`), `error` ends it with a message for the user (what was
 * written so far stays). A finished turn ignores anything after. An answer the reader stopped, or whose body
 * ended without `done`/`error`, is ended here so the panel never waits for ever.
 */

export type TurnStatus = 'streaming' | 'done' | 'stopped' | 'error';
export type Command = { command: string; explanation: string };

export type Turn = {
  /** Stable for the list: the message id once known, a local one before. */
  key: string;
  role: 'user' | 'assistant';
  content: string;
  status: TurnStatus;
  messageId: string | null;
  usage: Usage | null;
  error: ErrorBody | null;
  commands: Command[];
};

export const userTurn = (key: string, content: string): Turn => ({
  key,
  role: 'user',
  content,
  status: 'done',
  messageId: null,
  usage: null,
  error: null,
  commands: [],
});

export const answerTurn = (key: string): Turn => ({ ...userTurn(key, ''), role: 'assistant', status: 'streaming' });

export function turnFromView(view: ChatMessageView): Turn {
  return {
    key: view.id,
    role: view.role,
    content: view.content,
    status: view.error ? 'error' : view.stopped ? 'stopped' : 'done',
    messageId: view.id,
    usage: view.usage,
    error: view.error,
    commands: [],
  };
}

export function foldChunk(turn: Turn, chunk: AiStreamChunk): Turn {
  if (turn.status !== 'streaming') return turn;
  switch (chunk.t) {
    case 'delta':
      return { ...turn, content: turn.content + chunk.text };
    case 'done':
      return {
        ...turn,
        status: chunk.stopped ? 'stopped' : 'done',
        messageId: chunk.messageId,
        usage: chunk.usage,
        commands: chunk.commands,
      };
    case 'error':
      return { ...turn, status: 'error', error: chunk.error };
    default:
      return unreachable(chunk);
  }
}

/** How a stream ended when it was not by `done` or `error`. */
export type StreamEnd = { how: 'stopped' } | { how: 'cut' } | { how: 'failed'; error: ErrorBody };

export function endTurn(turn: Turn, end: StreamEnd): Turn {
  if (turn.status !== 'streaming') return turn;
  switch (end.how) {
    case 'stopped':
      return { ...turn, status: 'stopped' };
    case 'cut':
      return {
        ...turn,
        status: 'error',
        error: { code: 'unavailable', message: 'The answer was cut off before it was complete. Ask again.' },
      };
    case 'failed':
      return { ...turn, status: 'error', error: end.error };
    default:
      return unreachable(end);
  }
}

function unreachable(value: never): never {
  throw new Error(`unexpected ${JSON.stringify(value)}`);
}
