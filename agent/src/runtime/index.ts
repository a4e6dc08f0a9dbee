export { CAPABILITIES, LOG_CONFIG, NO_NEW_PRIVILEGES, podLabels, toCreateOptions } from './create-options.ts';
export { DockerRuntime, type DockerRuntimeOptions } from './docker-runtime.ts';
export { LogDemuxer } from './streams.ts';
export type * from './types.ts';
export { RUNTIME_EVENT_ACTIONS } from './types.ts';
