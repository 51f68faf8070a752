// `npx tsx bench/profile-top.ts DIR|FILE… [--top 25] [--pushes N]`
// The functions with the most self time in node's .cpuprofile files (`--cpu-prof`, what
// `npm run bench -- --profile DIR` writes for each worker process), summed over every file given:
// a profile per worker process, so a run's files together are the whole send. With --pushes, each
// line also says how many µs of one push it is. Output is a Markdown table, ready for BENCHMARKS.md.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, pushes: { type: 'string' } },
});
if (positionals.length === 0) throw new Error('usage: profile-top.ts DIR|FILE… [--top 25] [--pushes N]');

const files = positionals.flatMap((p) =>
  statSync(p).isDirectory()
    ? readdirSync(p)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(p, f))
    : [p],
);
const root = join(__dirname, '..');

/** "name file:line", with paths from the project (or from node_modules) kept short. */
function label(f: ProfileNode['callFrame']): string {
  const name = f.functionName || '(anonymous)';
  if (!f.url) return name;
  let path = f.url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  path = nm >= 0 ? path.slice(nm + 'node_modules/'.length) : path.startsWith(root) ? relative(root, path) : path;
  return `${name} ${path}:${f.lineNumber + 1}`;
}

const selfUs = new Map<string, number>();
let totalUs = 0;
for (const file of files) {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, label(n.callFrame)]));
  // timeDeltas[i] is the time between sample i−1 and sample i: that time is charged to sample i.
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    const key = byId.get(id) ?? '?';
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
    totalUs += dt;
  });
}
// Idle time is not work: shares are of the time the process was busy.
const idle = selfUs.get('(idle)') ?? 0;
const busyUs = totalUs - idle;
const pushes = opt.pushes ? Number(opt.pushes) : undefined;
const rows = [...selfUs]
  .filter(([k]) => k !== '(idle)')
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(opt.top));
// What each self-time line is, roughly: the crypto RFC 8291 requires, node's HTTP/2 client, the
// garbage collector, Redis clients, loading code (start-up, not per push), and the rest.
const CATEGORIES: [string, RegExp][] = [
  ['RFC 8291 crypto (ECDH, key pair, HKDF, AES-GCM, salt)', /crypto\/(diffiehellman|hash|cipher|random)|^(Hmac|digest|createCipherBase)\b/],
  ['garbage collector', /^\(garbage collector\)/],
  ['node HTTP/2 and TLS', /internal\/(http2|tls|stream_base|streams)|async_hooks|internal\/util:|^writeBuffer|^get prototype|^set natives/],
  ['Redis clients (ioredis, BullMQ)', /ioredis|bullmq|^writeUtf8String/],
  ['loading code (tsx, modules)', /tsx\/|modules\/|wrapSafe|compileForInternalLoader|realm:/],
  ['dépêche (src/)', /\ssrc\/|\/src\//],
];
const byCategory = new Map<string, number>();
for (const [k, us] of selfUs) {
  if (k === '(idle)') continue;
  const cat = CATEGORIES.find(([, re]) => re.test(k))?.[0] ?? 'other (native, microtasks, events, …)';
  byCategory.set(cat, (byCategory.get(cat) ?? 0) + us);
}
const out = [
  `${files.length} profile(s), ${(busyUs / 1e6).toFixed(2)} s busy of ${(totalUs / 1e6).toFixed(2)} s${pushes ? `, ${pushes.toLocaleString('en')} pushes: ${(busyUs / pushes).toFixed(0)} µs busy per push` : ''}`,
  '',
  `| self time | share of busy |${pushes ? ' µs per push |' : ''} function |`,
  `|---|---|${pushes ? '---|' : ''}---|`,
  ...rows.map(
    ([k, us]) =>
      `| ${(us / 1000).toFixed(0)} ms | ${((us / busyUs) * 100).toFixed(1)} % |${pushes ? ` ${(us / pushes).toFixed(1)} |` : ''} \`${k.replace(/\|/g, '\\|')}\` |`,
  ),
  '',
  `| part | self time | share of busy |${pushes ? ' µs per push |' : ''}`,
  `|---|---|---|${pushes ? '---|' : ''}`,
  ...[...byCategory]
    .sort((a, b) => b[1] - a[1])
    .map(
      ([cat, us]) =>
        `| ${cat} | ${(us / 1000).toFixed(0)} ms | ${((us / busyUs) * 100).toFixed(1)} % |${pushes ? ` ${(us / pushes).toFixed(1)} |` : ''}`,
    ),
];
process.stdout.write(out.join('\n') + '\n');
