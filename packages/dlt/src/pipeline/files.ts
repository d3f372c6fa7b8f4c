/** Buffered NDJSON writing and streaming line reading: large writes, one line in memory at a time when reading. */
import { closeSync, createReadStream, openSync, writeSync } from "node:fs";
import { createInterface } from "node:readline";

const FLUSH_AT = 1 << 20;

/** Appends lines to a file through a 1 MB buffer. */
export class LineWriter {
  private fd: number;
  private buf = "";
  lines = 0;
  constructor(readonly path: string) {
    this.fd = openSync(path, "w", 0o600);
  }
  write(line: string): void {
    this.buf += line + "\n";
    this.lines++;
    if (this.buf.length >= FLUSH_AT) this.flush();
  }
  flush(): void {
    if (this.buf.length > 0) {
      writeSync(this.fd, this.buf);
      this.buf = "";
    }
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** The lines of a file, streamed. */
export function readLines(path: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(path, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
}
