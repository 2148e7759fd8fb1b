/**
 * Files shared between processes: written whole or not at all (temp file, fsync, rename,
 * fsync of the folder), and changed under a small lock file so two writers doing
 * read-modify-write never lose each other's change.
 *
 * The lock is a `<file>.lock` created with O_EXCL holding "pid host time token". Sections
 * under it are short (read a small file, write it back), so a waiter polls. A lock is
 * stale when its holder is a dead process on this host, or when it is older than
 * `staleMs` (a holder on another host, or a pid reused since); a stale lock is moved aside
 * atomically (rename) and checked to be the one judged stale before it is removed.
 * (proper-lockfile does this with mkdir and mtime refreshes, but has seen no release since
 * 2021; this is the small part of it we need, synchronous so it fits event handlers.)
 */
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** Replace `file` with `data` atomically and durably (readers see the old or the new file, never a mix). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', mode);
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* never created, or already renamed */ }
    throw e;
  }
  try {
    const d = openSync(dirname(file), 'r');
    try { fsyncSync(d); } finally { closeSync(d); }
  } catch { /* some filesystems cannot fsync a folder; the rename is still atomic */ }
}

export interface LockOptions {
  /** Give up waiting after this long (default 10 s). */
  timeoutMs?: number;
  /** A lock older than this is stale whoever holds it (default 30 s). */
  staleMs?: number;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readQuiet(file: string): string | null {
  try { return readFileSync(file, 'utf8'); } catch { return null; }
}

/** Move a stale lock out of the way; true when the caller should try again at once. */
function breakIfStale(lock: string, staleMs: number): boolean {
  const content = readQuiet(lock);
  let age: number;
  try { age = Date.now() - statSync(lock).mtimeMs; } catch { return true; } // released meanwhile
  if (content === null) return true;
  const [pid, host] = content.split(' ');
  const deadHere = host === hostname() && Number(pid) > 0 && !alive(Number(pid));
  if (!deadHere && age < staleMs) return false;
  const aside = `${lock}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try { renameSync(lock, aside); } catch { return true; } // someone else broke it first
  if (readQuiet(aside) !== content) {
    // We moved a lock taken after our look: put it back if its place is still free.
    try { linkSync(aside, lock); } catch { /* another waiter got in; its holder will find its token gone */ }
  }
  try { unlinkSync(aside); } catch { /* gone */ }
  return true;
}

/** Run `fn` holding the lock `<target>.lock` (created next to `target`). */
export function withFileLockSync<T>(target: string, fn: () => T, o: LockOptions = {}): T {
  const lock = `${target}.lock`;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const staleMs = o.staleMs ?? 30_000;
  const token = `${process.pid} ${hostname()} ${Date.now()} ${randomBytes(6).toString('hex')}`;
  const deadline = Date.now() + timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      try { writeFileSync(fd, token); } finally { closeSync(fd); }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create lock file ${lock}: ${(e as Error).message}`);
    }
    if (breakIfStale(lock, staleMs)) continue;
    if (Date.now() > deadline) {
      throw new Error(`${target} is locked by another process (${lock}: ${readQuiet(lock)?.trim() ?? '?'}); gave up after ${timeoutMs} ms`);
    }
    sleepSync(delay * (0.5 + Math.random()));
  }
  try {
    return fn();
  } finally {
    // Only our own lock: if it was broken as stale and taken by another, leave theirs.
    if (readQuiet(lock) === token) {
      try { unlinkSync(lock); } catch { /* gone */ }
    }
  }
}
