// `npm run worker`: delivery workers only, for scaling out (as many processes and machines as
// needed, all pointed at the same REDIS_URL).
import { main } from '../src/main';

main(process.argv, { api: false, worker: true }).catch((err: Error) => {
  console.error(`failed to start: ${err.message}`);
  process.exit(1);
});
