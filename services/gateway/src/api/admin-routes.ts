import { commandSubject, querySubject } from '@agentpod/contracts';
import { z } from 'zod';
import type { RouteHandlers } from './context.ts';

/** Services with read models, in the order `all` replays them. */
export const REPLAYABLE = ['identity', 'tenants', 'pods', 'reconciler', 'monitor', 'ai'] as const;

/** The kit's replay reply (ReplayReport) as far as the API reports it. */
const ReplayReply = z.object({
  events: z.number(),
  durationMs: z.number(),
  identical: z.boolean().optional(),
  swapped: z.boolean(),
});

/** A replay rebuilds a whole schema; it can take far longer than an ordinary request. */
const REPLAY_TIMEOUT_MS = 10 * 60_000;

export const adminHandlers: Pick<RouteHandlers, 'listUsers' | 'setUserDisabled' | 'replay'> = {
  listUsers: ({ call }) => call(querySubject('identity', 'listUsers'), {}),

  setUserDisabled: ({ params, body, call }) =>
    call(commandSubject('identity', 'setUserDisabled'), { userId: params.userId, disabled: body.disabled }),

  async replay({ body, call }) {
    const services = body.service === 'all' ? REPLAYABLE : [body.service];
    const reports = [];
    // One at a time: each replay reads a whole stream and rewrites a schema; running them together only
    // makes each slower and the database busier.
    for (const service of services) {
      const report = ReplayReply.parse(
        await call(
          commandSubject(service, 'replay'),
          { compare: true, swap: body.swap },
          { timeoutMs: REPLAY_TIMEOUT_MS },
        ),
      );
      reports.push({ service, ...report });
    }
    return { reports };
  },
};
