import { expect, test } from "bun:test";
import { ALL_VERSIONS } from "../spec/version.ts";
import { hasPlugin, loadPlugin, pluginTypes, supportedVersionsOf } from "./registry.ts";

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
