import { main } from '@agentpod/kit';
import { identityService } from './index.ts';

await main(identityService);
