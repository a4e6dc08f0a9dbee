/** The kit's reader of a projection's batch, kept under this name for identity's projections. */
export { eventsOf } from '@agentpod/kit';

export const iso = (date: Date): string => date.toISOString();
export const isoOrNull = (date: Date | null): string | null => (date === null ? null : date.toISOString());
