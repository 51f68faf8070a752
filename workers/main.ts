// `npm run worker`: delivery workers only, for scaling out (as many processes and machines as
// needed, all pointed at the same REDIS_URL).
import { main } from '../src/main';

main(process.argv, { api: false, worker: true }).catch((err: unknown) => {
  console.error(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
