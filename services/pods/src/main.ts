import { main } from '@agentpod/kit';
import { podsService } from './index.ts';

await main(podsService);
