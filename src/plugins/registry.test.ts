import { expect, test } from "bun:test";
import { ALL_VERSIONS } from "../spec/version.ts";
import { join } from "node:path";
import { SRC, importsOf } from "../../test/helpers/imports.ts";
import { delegates, hasPlugin, loadPlugin, pluginTypes, supportedVersionsOf } from "./registry.ts";

// main.ts answers VERSION from the registry without loading a plugin module.
test("the registry's versions are each module's, and every plugin has handlers", async () => {
  expect(pluginTypes().length).toBeGreaterThan(0);
  for (const type of pluginTypes()) {
    const p = await loadPlugin(type);
    expect(p.info.supportedVersions ?? ALL_VERSIONS).toEqual([...supportedVersionsOf(type)]);
    expect(typeof p.funcs.add).toBe("function");
    expect(typeof p.funcs.del).toBe("function");
    expect(p.info.about).toContain(type);
  }
});

test("unknown types are refused", async () => {
  expect(hasPlugin("no-such-plugin")).toBe(false);
  expect(hasPlugin("toString")).toBe(false);
  await expect(loadPlugin("no-such-plugin")).rejects.toThrow('Unknown plugin type "no-such-plugin"');
});

// main.ts loads the in-process exec up front for the types that delegate (a first
// require() when the first delegation comes would cost a process about 0.6 ms).
test("the types said to delegate are those whose module reaches the delegation code", () => {
  const target = join(SRC, "runtime/delegate.ts");
  const reaches = (entry: string) => {
    const seen = new Set<string>();
    const todo = [entry];
    while (todo.length) {
      const f = todo.pop()!;
      if (f === target) return true;
      if (seen.has(f)) continue;
      seen.add(f);
      todo.push(...importsOf(f, undefined, true));
    }
    return false;
  };
  for (const type of pluginTypes()) expect([type, delegates(type)]).toEqual([type, reaches(join(SRC, "plugins", type, `${type}.ts`))]);
});
