// CPU time of a process and its descendants, from /proc (Linux), in milliseconds. Wall-clock
// rates depend on what else the machine runs; CPU per push does much less.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function stat(pid: number): { ppid: number; ms: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), ms: (Number(f[11]) + Number(f[12])) * TICK_MS };
  } catch {
    return null;
  }
}

/** CPU ms used so far by `pid` and every live descendant. */
export function treeCpuMs(pid: number): number {
  const all = new Map<number, { ppid: number; ms: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s) all.set(Number(name), s);
  }
  let total = 0;
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.pop()!;
    total += all.get(p)?.ms ?? 0;
    for (const [child, s] of all) if (s.ppid === p) queue.push(child);
  }
  return total;
}
