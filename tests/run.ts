// Runs every *.test.ts under tests/ with node's own test runner (Node 20 needs explicit files).
// `tsx tests/run.ts [filter]` runs only files whose path contains the filter. `--faults` runs the
// fault-injection suite instead, one file at a time: its scenarios measure recovery of real
// processes on a 2-core machine, and two at once would starve each other.
//
// Nothing may hang a run. Three bounds, each a flag:
// - `--test-timeout=S`: every test and hook without a timeout of its own fails after S seconds
//   (default 180; 300 with --faults). Node 20's own --test-timeout bounds a whole file when files
//   run in child processes, so the per-test default is set by tests/support/test-timeout.ts.
// - `--file-timeout=S`: node's --test-timeout, a file's child process is cancelled after S seconds
//   (default 600; 900 with --faults), so one stuck file does not stop the others from reporting.
// - `--run-timeout=M`: the whole run is killed, with every process it started, after M minutes,
//   and exits non-zero (default 20; 30 with --faults).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

function find(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'support' || f === 'faults' ? [] : find(p);
    return p.endsWith('.test.ts') ? [p] : [];
  });
}

const { values: opt, positionals: filter } = parseArgs({
  allowPositionals: true,
  options: {
    faults: { type: 'boolean', default: false },
    'test-timeout': { type: 'string' },
    'file-timeout': { type: 'string' },
    'run-timeout': { type: 'string' },
  },
});

function positive(name: string, raw: string | undefined, fallback: number): number {
  const v = raw === undefined ? fallback : Number(raw);
  if (!(v > 0) || !Number.isFinite(v)) throw new Error(`--${name} must be a positive number, not ${raw}`);
  return v;
}

const faults = opt.faults;
const testS = positive('test-timeout', opt['test-timeout'], faults ? 300 : 180);
const fileS = positive('file-timeout', opt['file-timeout'], faults ? 900 : 600);
const runMin = positive('run-timeout', opt['run-timeout'], faults ? 30 : 20);

const root = faults ? 'tests/faults' : 'tests';
const files = find(root)
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test file under ${root} matches ${filter.join(', ')}`);
  process.exit(1);
}

const started = Date.now();
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--import',
    './tests/support/test-timeout.ts',
    '--test',
    `--test-concurrency=${faults ? 1 : 2}`,
    `--test-timeout=${Math.round(fileS * 1000)}`,
    ...files,
  ],
  {
    stdio: 'inherit',
    env: { ...process.env, DEPECHE_TEST_TIMEOUT_MS: String(Math.round(testS * 1000)) },
    // Its own process group: the run, the test files, and every redis-server and service they
    // spawned can be killed together, leaving nothing behind.
    detached: true,
  },
);

function killGroup(signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // The group is already empty.
  }
}

let timedOut = false;
const deadline = setTimeout(() => {
  timedOut = true;
  console.error(`\ntests/run.ts: the run exceeded ${runMin} min (--run-timeout); killing it and everything it started`);
  killGroup('SIGKILL');
}, runMin * 60_000);

// The children are in another process group, so a Ctrl-C at the terminal must be passed on.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => killGroup(sig));

child.on('exit', (code) => {
  clearTimeout(deadline);
  // Whatever a cancelled file left running (a redis-server, a service process) goes too.
  killGroup('SIGKILL');
  console.error(`tests/run.ts: ${files.length} file(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (timedOut) process.exit(124);
  process.exit(code ?? 1);
});
