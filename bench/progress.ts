// A one-line progress bar on stderr (redrawn in place on a terminal, a line per 10 % otherwise).
const WIDTH = 30;

export class Progress {
  private lastTenth = -1;
  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number, note = ''): void {
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(frac * WIDTH);
    const text = `${this.label.padEnd(22)} [${'█'.repeat(filled)}${'·'.repeat(WIDTH - filled)}] ${(frac * 100).toFixed(0).padStart(3)} % ${done.toLocaleString('en')}/${this.total.toLocaleString('en')} ${note}`;
    if (process.stderr.isTTY) process.stderr.write(`\r${text.padEnd(100)}`);
    else if (Math.floor(frac * 10) > this.lastTenth) {
      this.lastTenth = Math.floor(frac * 10);
      process.stderr.write(`${text}\n`);
    }
  }

  done(note = ''): void {
    this.update(this.total, note);
    if (process.stderr.isTTY) process.stderr.write('\n');
  }
}
