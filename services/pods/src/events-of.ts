export { eventsOf } from '@agentpod/kit';
