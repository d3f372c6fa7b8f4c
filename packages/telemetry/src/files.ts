/**
 * File access that a hostile or broken file cannot turn against the host.
 *
 * Reads are bounded: open (non-blocking, so a FIFO cannot stall the open itself), `fstat` that same fd, regular
 * files only, at most `maxBytes`, read from the fd (never a second lookup of the path). So `config.toml -> /dev/zero`,
 * a FIFO or a 300 MB file costs a few system calls and a warning instead of a hang or gigabytes of memory.
 *
 * Files the library owns in its data dir are never opened through a symlink (`O_NOFOLLOW`), are created exclusively
 * (`O_EXCL`, so an existing file or link is never truncated) and are private (`0600`); its folders are `0700`.
 */
import { isUtf8 } from "node:buffer";
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readSync, statSync, writeSync } from "node:fs";
import { join, relative, sep } from "node:path";

/** The largest config file read (1 MiB): far above any real one, small enough to parse in ~0.1 s. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

// Not defined on Windows: there the symlink check is an lstat before the open.
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

/** What a bounded read found. */
export type ReadResult =
  | { readonly kind: "text"; readonly text: string }
  /** No such file (or a path through a non-directory): the layer is simply not there. */
  | { readonly kind: "absent" }
  /** The file exists but cannot be used; `reason` completes "<file> …", e.g. "cannot be read (EACCES)". */
  | { readonly kind: "unreadable"; readonly code: string; readonly reason: string };

/** How to read a file. */
export interface ReadOptions {
  /** A larger file is refused without reading it. */
  readonly maxBytes: number;
  /** Follow a symlink at the last path component (true for the user's config files, false in the data dir). */
  readonly followSymlinks: boolean;
}

const ABSENT: ReadResult = { kind: "absent" };
const CHUNK = 64 * 1024;

/** Strict UTF-8 (a file that is not UTF-8 is not a settings file), a leading BOM dropped. */
function decodeUtf8(buf: Buffer): string | undefined {
  if (!isUtf8(buf)) return undefined;
  const text = buf.toString("utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? "error";
}

function unreadable(code: string, reason: string): ReadResult {
  return { kind: "unreadable", code, reason };
}

/** "1 MB", "4 KB": a limit as people read it. */
export function formatLimit(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KB`;
  return `${bytes} bytes`;
}

/** Reads a UTF-8 text file within the bounds above. Never throws. */
export function readBounded(path: string, options: ReadOptions): ReadResult {
  let fd: number;
  try {
    // Most settings files do not exist: a stat that does not throw for a missing file spares an exception per
    // file. Not existsSync: it says "absent" for a file in a folder that cannot be searched (EACCES), which must
    // count as unreadable.
    const entry = options.followSymlinks ? statSync(path, { throwIfNoEntry: false }) : lstatSync(path, { throwIfNoEntry: false });
    if (entry === undefined) return ABSENT;
    if (!options.followSymlinks && O_NOFOLLOW === 0 && entry.isSymbolicLink()) return unreadable("ELOOP", "is a symbolic link");
    fd = openSync(path, constants.O_RDONLY | O_NONBLOCK | (options.followSymlinks ? 0 : O_NOFOLLOW));
  } catch (e) {
    const code = errorCode(e);
    if (code === "ENOENT" || code === "ENOTDIR") return ABSENT;
    if (code === "ELOOP" && !options.followSymlinks) return unreadable(code, "is a symbolic link");
    return unreadable(code, `cannot be read (${code})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return unreadable("ENOTREG", "is not a regular file");
    const tooLarge = unreadable("EFBIG", `is larger than ${formatLimit(options.maxBytes)}`);
    if (stat.size > options.maxBytes) return tooLarge;
    // Read to EOF rather than trusting the size: /proc files report 0, and a file may grow while it is read.
    // The first buffer fits the file as fstat sees it, plus one byte to see its end.
    const chunks: Buffer[] = [];
    let total = 0;
    for (let want = stat.size > 0 ? stat.size + 1 : CHUNK; ; want = CHUNK) {
      const buf = Buffer.allocUnsafe(Math.min(want, options.maxBytes + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(n === buf.length ? buf : buf.subarray(0, n));
      total += n;
      if (total > options.maxBytes) return tooLarge;
    }
    const text = decodeUtf8(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    return text === undefined ? unreadable("EILSEQ", "is not UTF-8 text") : { kind: "text", text };
  } catch (e) {
    const code = errorCode(e);
    return unreadable(code, `cannot be read (${code})`);
  } finally {
    closeSync(fd);
  }
}

/** Reads a file the library owns in its data dir (no symlinks). Undefined when absent or unusable. */
export function readOwnFile(path: string, maxBytes: number): string | undefined {
  const r = readBounded(path, { maxBytes, followSymlinks: false });
  return r.kind === "text" ? r.text : undefined;
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/**
 * Creates `path` (which must not exist, not even as a dangling symlink), `0600`, and writes `text` into it.
 * @throws the open or write error (EEXIST when anything is already there).
 */
export function writeNewFile(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, 0o600);
  try {
    writeAll(fd, text);
  } finally {
    closeSync(fd);
  }
}

/**
 * Appends `text` to a private log (created `0600`). A symlink or anything but a regular file there is refused:
 * the library never writes through a link into a file it does not own.
 * @throws on any failure.
 */
export function appendToOwnFile(path: string, text: string): void {
  if (O_NOFOLLOW === 0 && lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) throw new Error(`${path} is a symbolic link`);
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600);
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${path} is not a regular file`);
    writeAll(fd, text);
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether `dir` is a real folder of this user's: not a symbolic link (to a folder someone else chose), owned by the
 * user running this process.
 */
export function isPrivateDir(dir: string): boolean {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return false;
  return typeof process.getuid !== "function" || st.uid === process.getuid();
}

/**
 * Creates a folder and its missing parents, each `0700`. With `root`, every folder below `root` down to `dir` must
 * then be a real folder of this user's (`isPrivateDir`): a `telemetry` or `spool` folder that is a link would put the
 * spool and the sender's lock wherever it points. `root` itself (the host's data dir) may be a link, as a dotfiles
 * manager makes it. @throws when it cannot, or when a folder is not private.
 */
export function makePrivateDir(dir: string, root?: string): void {
  const rel = root === undefined ? "" : relative(root, dir);
  if (root === undefined || rel === "" || rel.startsWith("..")) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return;
  }
  mkdirSync(root, { recursive: true, mode: 0o700 });
  // One folder at a time, each checked before anything is made inside it: nothing is created through a link.
  let at = root;
  for (const part of rel.split(sep)) {
    at = join(at, part);
    try {
      mkdirSync(at, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    if (!isPrivateDir(at)) throw new Error(`${at} is not a folder of this user's (a link, or owned by another user)`);
  }
}
