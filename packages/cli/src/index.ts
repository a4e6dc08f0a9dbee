export { runStatus } from './status.ts';
