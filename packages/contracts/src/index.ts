export * from './actor.ts';
export * from './envelope.ts';
export * from './errors.ts';
export * from './health.ts';
export * from './ids.ts';
export * from './messaging.ts';
export * from './subjects.ts';
