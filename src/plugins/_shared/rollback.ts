/**
 * What a half-done ADD has to undo: steps are recorded as they succeed and, on failure,
 * run in reverse order. A failing undo step does not stop the others; what failed is
 * reported on stderr, since the error the runtime sees is the one that started it.
 */
export class Rollback {
  #steps: { what: string; fn: () => unknown }[] = [];

  /** Records how to undo a step that just succeeded. */
  add(what: string, fn: () => unknown): void {
    this.#steps.push({ what, fn });
  }

  /** Runs every recorded step, newest first, and forgets them. */
  async run(): Promise<void> {
    const steps = this.#steps.reverse();
    this.#steps = [];
    for (const s of steps) {
      try {
        await s.fn();
      } catch (e) {
        process.stderr.write(`Cannot undo ${s.what}: ${errorMessage(e)}\n`);
      }
    }
  }

  /** Runs fn; when it throws, undoes what was recorded and rethrows. */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      await this.run();
      throw e;
    }
  }
}

import { errorMessage } from "../../spec/error.ts";
