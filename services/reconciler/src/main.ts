import { main } from '@agentpod/kit';
import { reconcilerService } from './index.ts';

await main(reconcilerService);
