/**
 * An advisory whole-file lock with flock(2), the kind the reference host-local takes
 * on `<dataDir>/<net>/lock` (go-filemutex): flock locks belong to the open file
 * description, so our process and a Go plugin holding the same path exclude each
 * other, and the kernel drops the lock when the holder dies.
 */
import { LOCK_EX, LOCK_NB, LOCK_UN, O_CREAT, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, close, flock, open } from "./libc.ts";

/** A lock file held open; lock() blocks until it is ours. Close it when done. */
export class FileLock {
  #fd: number;
  #locked = false;
  readonly path: string;

  private constructor(fd: number, path: string) {
    this.#fd = fd;
    this.path = path;
  }

  /**
   * Opens `path`, creating it empty when missing; the lock is not taken yet. Throws
   * ErrnoError. With `noFollow` (lock files in state directories) a symlink there is
   * refused (ELOOP) rather than followed, and a FIFO does not block the open.
   */
  static open(path: string, opts: { noFollow?: boolean } = {}): FileLock {
    // Read-only is enough for flock and works on a lock file made by another user.
    const flags = O_RDONLY | O_CREAT | (opts.noFollow ? O_NOFOLLOW | O_NONBLOCK : 0);
    return new FileLock(open(path, flags, 0o600), path);
  }

  /** True while this handle holds the lock. */
  get locked(): boolean {
    return this.#locked;
  }

  /**
   * Takes the exclusive lock, waiting for other holders. This blocks the thread: hold
   * it only for short, synchronous work, never across an await, or a second handle in
   * this same process would wait forever for the first.
   */
  lock(): void {
    flock(this.#checkedFd(), LOCK_EX);
    this.#locked = true;
  }

  /** Takes the lock when it is free; false when someone else holds it. */
  tryLock(): boolean {
    this.#locked = flock(this.#checkedFd(), LOCK_EX | LOCK_NB);
    return this.#locked;
  }

  /** Releases the lock (no-op when not held). */
  unlock(): void {
    if (!this.#locked) return;
    this.#locked = false;
    flock(this.#checkedFd(), LOCK_UN);
  }

  /** Releases the lock and closes the file (idempotent). */
  close(): void {
    if (this.#fd < 0) return;
    if (this.#locked) this.unlock();
    close(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #checkedFd(): number {
    if (this.#fd < 0) throw new Error(`Cannot use lock ${JSON.stringify(this.path)}: already closed`);
    return this.#fd;
  }
}
