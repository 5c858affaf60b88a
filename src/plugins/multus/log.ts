/**
 * Multus's logging: levels panic < error < verbose < debug (default panic), RFC 3339
 * timestamps, to stderr (`logToStderr`, default on) and/or `logFile`, which is rotated
 * by `logOptions.maxSize` (MB, default 100) keeping `maxBackups` (default 5) old files.
 */
import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { LogOptions } from "./types.ts";

const LEVELS = ["panic", "error", "verbose", "debug"] as const;
type Level = (typeof LEVELS)[number];

/** A logger for one request (the daemon serves pods with different configs at once). */
export class Logger {
  #level = 0;
  #stderr = true;
  #file = "";
  #maxBytes = 100 * 1024 * 1024;
  #backups = 5;
  /** Where stderr lines go; a plugin collects them for its runtime. */
  sink: (line: string) => void = (line) => process.stderr.write(line);

  /** Applies a config's logging fields. */
  configure(o: { logLevel?: string; logToStderr?: boolean; logFile?: string; logOptions?: LogOptions }): this {
    const i = LEVELS.indexOf((o.logLevel ?? "").toLowerCase() as Level);
    if (i >= 0) this.#level = i;
    if (o.logToStderr !== undefined) this.#stderr = o.logToStderr;
    if (o.logFile) this.#file = o.logFile;
    if (o.logOptions?.maxSize !== undefined) this.#maxBytes = o.logOptions.maxSize * 1024 * 1024;
    if (o.logOptions?.maxBackups !== undefined) this.#backups = o.logOptions.maxBackups;
    return this;
  }

  error(msg: string): void {
    this.#print(1, msg);
  }
  verbose(msg: string): void {
    this.#print(2, msg);
  }
  debug(msg: string): void {
    this.#print(3, msg);
  }

  #print(level: number, msg: string): void {
    if (level > this.#level) return;
    const line = `${new Date().toISOString().replace(/\.\d+Z$/, "Z")} [${LEVELS[level]}] ${msg}\n`;
    if (this.#stderr) this.sink(line);
    if (this.#file) {
      try {
        this.#rotate();
        mkdirSync(dirname(this.#file), { recursive: true });
        appendFileSync(this.#file, line, { mode: 0o600 });
      } catch {
        // a log that cannot be written must not fail a pod
      }
    }
  }

  #rotate(): void {
    if (!existsSync(this.#file) || statSync(this.#file).size < this.#maxBytes) return;
    for (let i = this.#backups - 1; i >= 1; i--) {
      if (existsSync(`${this.#file}.${i}`)) renameSync(`${this.#file}.${i}`, `${this.#file}.${i + 1}`);
    }
    if (this.#backups > 0) renameSync(this.#file, `${this.#file}.1`);
    else rmSync(this.#file, { force: true });
  }
}
