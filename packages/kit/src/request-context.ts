import { AsyncLocalStorage } from 'node:async_hooks';
import type { Actor } from '@agentpod/contracts';

/** What the code handling one request knows about it; logs and new events read it from here. */
export type RequestContext = {
  correlationId: string;
  causationId?: string;
  actor?: Actor;
  tenantId?: string;
};

const storage = new AsyncLocalStorage<RequestContext>();

export const runWithContext = <T>(context: RequestContext, fn: () => T): T => storage.run(context, fn);

export const currentContext = (): RequestContext | undefined => storage.getStore();
