import { main } from '@agentpod/kit';
import { monitorService } from './index.ts';

await main(monitorService);
