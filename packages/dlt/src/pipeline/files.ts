/**
 * Files of a load package: buffered line writing (few, large writes) and chunked line reading (about 1 MB in memory
 * at a time, plus the longest line, whatever the file size).
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";

const FLUSH_AT = 1 << 18;
const READ_CHUNK = 1 << 20;

/** Appends lines to a file through a 256 KB buffer. */
export class LineWriter {
  private fd: number;
  private buf = "";
  /** Lines written so far. */
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

/**
 * Calls `fn` with every non-empty line of a file and its 1-based number. Reads 1 MB chunks and never splits a
 * UTF-8 sequence (only complete lines are decoded). NDJSON lines cannot contain a raw newline, so splitting on
 * `\n` is exact.
 */
export function forEachLine(path: string, fn: (line: string, lineNo: number) => void): void {
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  let carry: Buffer | undefined;
  let lineNo = 0;
  const emit = (text: string): void => {
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      const line = nl < 0 ? text.slice(start) : text.slice(start, nl);
      lineNo++;
      if (line !== "") fn(line, lineNo);
      if (nl < 0) return;
      start = nl + 1;
    }
  };
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const chunk = carry ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
      const end = chunk.lastIndexOf(10);
      if (end < 0) {
        carry = Buffer.from(chunk);
        continue;
      }
      // Copy the tail: `buf` is reused by the next read.
      carry = end + 1 < chunk.length ? Buffer.from(chunk.subarray(end + 1)) : undefined;
      emit(chunk.toString("utf8", 0, end));
    }
    if (carry) emit(carry.toString("utf8"));
  } finally {
    closeSync(fd);
  }
}
