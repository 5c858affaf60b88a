/** Test fixture of stdin.test.ts: writes back what readStdin read. */
import { readStdin } from "./stdin.ts";

await Bun.write(Bun.stdout, await readStdin());
