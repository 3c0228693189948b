/**
 * Progress on stderr, one line per step: "[3/19] server unary c=64 batching=on(0us) ... 2893 req/s".
 * On a terminal the line is rewritten every second with the live rate.
 */
export class Progress {
  private index = 0;
  private readonly tty = process.stderr.isTTY === true;

  constructor(private readonly total: number) {}

  /** A free-standing note (server start, stop). */
  note(text: string): void {
    process.stderr.write(`       ${text}\n`);
  }

  step(label: string): ProgressStep {
    this.index++;
    const prefix = `[${this.index}/${this.total}] ${label} ...`;
    process.stderr.write(prefix);
    return {
      update: (text: string) => {
        if (this.tty) process.stderr.write(`\r\x1b[K${prefix} ${text}`);
      },
      done: (text: string) => {
        process.stderr.write(this.tty ? `\r\x1b[K${prefix} ${text}\n` : ` ${text}\n`);
      },
    };
  }
}

export interface ProgressStep {
  update(text: string): void;
  done(text: string): void;
}
