// Progress for people and for logs: bars (cli-progress) when the output is a terminal, plain
// lines otherwise (a CI log, a pipe, a file), at most one per interval plus the last one, so a
// log stays readable and a script can still follow along.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

export interface Meter {
  /** Moves one bar: `value` out of `total`, with a few words after it. */
  update(name: string, value: number, total: number, note?: string): void;
  /** Writes the last state (plain lines: always) and releases the terminal. */
  stop(): void;
}

const pct = (v: number, t: number) => (t > 0 ? Math.floor((100 * Math.min(v, t)) / t) : 100);

export function meter(out: NodeJS.WriteStream, everyMs = 500): Meter {
  return out.isTTY ? barMeter(out) : lineMeter(out, everyMs);
}

function barMeter(out: NodeJS.WriteStream): Meter {
  const multi = new MultiBar(
    {
      stream: out,
      format: ' {name} [{bar}] {percentage} % | {value}/{total} {note}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      fps: 10,
    },
    Presets.shades_classic,
  );
  const bars = new Map<string, SingleBar>();
  return {
    update(name, value, total, note = '') {
      let bar = bars.get(name);
      if (!bar) {
        bar = multi.create(total, value, { name: name.padEnd(6), note });
        bars.set(name, bar);
      }
      bar.setTotal(total);
      bar.update(value, { name: name.padEnd(6), note });
    },
    stop() {
      multi.stop();
    },
  };
}

function lineMeter(out: NodeJS.WriteStream, everyMs: number): Meter {
  const state = new Map<string, string>();
  let last = 0;
  let written = '';
  const write = (force: boolean) => {
    const line = [...state.values()].join(' · ');
    const now = Date.now();
    if (line === written || (!force && now - last < everyMs)) return;
    out.write(`${line}\n`);
    written = line;
    last = now;
  };
  return {
    update(name, value, total, note = '') {
      state.set(name, `${name} ${value}/${total} (${pct(value, total)} %)${note ? ` ${note}` : ''}`);
      write(false);
    },
    stop() {
      write(true);
    },
  };
}
