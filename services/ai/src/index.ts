import type { ServiceDefinition } from '@agentpod/kit';
import { migrations } from './migrations.ts';

/**
 * The ai service: assistant conversations, diagnosis and spec generation.
 * It owns the PostgreSQL schema `ai` and appends to the `AI` stream.
 */
export const aiService: ServiceDefinition<unknown> = {
  name: 'ai',
  streams: ['ai'],
  database: { schema: 'ai', migrations },
  projections: [],
};
