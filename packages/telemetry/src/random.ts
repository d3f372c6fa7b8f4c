/**
 * Random ids without loading a crypto module: the first `crypto.randomUUID()` of a process loads Web Crypto
 * (~1.2 ms, measured), paid by every CLI run that sends one event. Bytes come from /dev/urandom (the kernel CSPRNG,
 * what node:crypto itself uses) read 4 KB at a time; node:crypto only where there is no /dev/urandom (Windows).
 */
import { closeSync, openSync, readSync } from "node:fs";
import { createRequire } from "node:module";

let pool = Buffer.alloc(0);
let pos = 0;

function refill(): void {
  const buf = Buffer.allocUnsafe(4096);
  try {
    const fd = openSync("/dev/urandom", "r");
    try {
      let n = 0;
      while (n < buf.length) n += readSync(fd, buf, n, buf.length - n, null);
    } finally {
      closeSync(fd);
    }
  } catch {
    (createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto")).randomFillSync(buf);
  }
  pool = buf;
  pos = 0;
}

function bytes16(): Buffer {
  if (pos + 16 > pool.length) refill();
  const b = pool.subarray(pos, pos + 16);
  pos += 16;
  return b;
}

/** 32 random hex digits (128 bits). */
export function randomHex32(): string {
  return bytes16().toString("hex");
}

/** A random (version 4) UUID. */
export function randomUuid(): string {
  const b = Buffer.from(bytes16());
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
