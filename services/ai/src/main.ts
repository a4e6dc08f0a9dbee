import { main } from '@agentpod/kit';
import { aiService } from './index.ts';

await main(aiService);
