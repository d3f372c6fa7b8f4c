/** Progress of a long step on an interactive stderr: `extract: 120,000 items (85,000 items/s)`, redrawn twice a second. */

const EVERY_MS = 500;

export class Progress {
  private readonly t0 = performance.now();
  private last = this.t0;
  private shown = false;
  count = 0;

  /** `enabled` only when asked for and stderr is a TTY: elsewhere the pipeline stays quiet. */
  constructor(
    private readonly label: string,
    private readonly unit: string,
    private readonly enabled: boolean,
  ) {}

  /** Counts `n` more; cheap enough to call per item. */
  tick(n = 1): void {
    this.count += n;
    if (!this.enabled || (this.count & 1023) !== 0) return;
    const now = performance.now();
    if (now - this.last < EVERY_MS) return;
    this.last = now;
    this.shown = true;
    const rate = this.count / ((now - this.t0) / 1000);
    process.stderr.write(`\r${this.label}: ${fmt(this.count)} ${this.unit} (${fmt(rate)} ${this.unit}/s)\x1b[K`);
  }

  /**
   * Says at once what a step is about to do, for a step that cannot tick per item (load: DuckDB inserts a table's
   * file in one statement): `load: 500,000 rows into pokemon.duckdb/pokemon_data`. `add` then counts what is done.
   */
  announce(text: string): void {
    if (!this.enabled) return;
    this.shown = true;
    process.stderr.write(`\r${this.label}: ${text}\x1b[K`);
  }

  /** Counts `n` more and redraws at once: `load: 250,000 of 500,000 rows (48,000 rows/s)`. */
  add(n: number, total: number): void {
    this.count += n;
    if (!this.enabled) return;
    this.shown = true;
    const rate = this.count / ((performance.now() - this.t0) / 1000);
    process.stderr.write(`\r${this.label}: ${fmt(this.count)} of ${fmt(total)} ${this.unit} (${fmt(rate)} ${this.unit}/s)\x1b[K`);
  }

  /** Ends the line if anything was shown. */
  done(): void {
    if (this.shown) {
      const s = (performance.now() - this.t0) / 1000;
      process.stderr.write(`\r${this.label}: ${fmt(this.count)} ${this.unit} in ${s.toFixed(1)} s\x1b[K\n`);
    }
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
