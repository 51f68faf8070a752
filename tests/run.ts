// Runs every *.test.ts under tests/ with node's own test runner (Node 20 needs explicit files).
// `tsx tests/run.ts [filter]` runs only files whose path contains the filter. `--faults` runs the
// fault-injection suite instead, one file at a time: its scenarios measure recovery of real
// processes on a 2-core machine, and two at once would starve each other.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'support' || f === 'faults' ? [] : find(p);
    return p.endsWith('.test.ts') ? [p] : [];
  });
}

const faults = process.argv.includes('--faults');
const root = faults ? 'tests/faults' : 'tests';
const filter = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files = find(root).filter((f) => filter.length === 0 || filter.some((x) => f.includes(x))).sort();
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${faults ? 1 : 2}`, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
