import { main } from '@agentpod/kit';
import { tenantsService } from './index.ts';

await main(tenantsService);
