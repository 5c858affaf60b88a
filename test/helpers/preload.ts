/**
 * Loaded before every test file (bunfig.toml). A test that times out never reaches its
 * `finally`, and `bun test` runs no exit handlers then, so the namespaces it made would
 * outlive the run: a global afterAll removes whatever is left.
 */
import { afterAll } from "bun:test";
import { removeLeftoverNetns } from "./netns.ts";

afterAll(removeLeftoverNetns);
