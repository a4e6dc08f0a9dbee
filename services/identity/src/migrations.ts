import type { Migrations } from '@agentpod/kit';

/** Migrations of the `identity` schema, applied in name order. The kit adds its own bookkeeping tables first. */
export const migrations: Migrations = {};
