/** What each plugin of a chain gets on stdin (libcni's buildOneConfig). */
import { runtimeConfigFor } from "../spec/capabilities.ts";
import { convertResult } from "../spec/result.ts";
import type { NetConf, Result } from "../spec/types.ts";

/** The parts of one plugin call's stdin besides the plugin's own config. */
export interface BuildInput {
  /** The list's name and negotiated version: every plugin of a list runs with the same ones. */
  name: string;
  cniVersion: string;
  /** The previous plugin's result (ADD) or the cached result (CHECK/DEL). */
  prevResult?: Result;
  capabilityArgs?: Record<string, unknown>;
}

/**
 * The stdin of one plugin: its config with the list's `name` and `cniVersion`, the
 * `prevResult` converted to that version (spec: a plugin gets it in the version it
 * was configured with), and a `runtimeConfig` holding only the capabilities the
 * plugin declares; a config's own `runtimeConfig` is replaced, as libcni does.
 */
export function buildPluginConfig(conf: NetConf, input: BuildInput): Uint8Array {
  const out: Record<string, unknown> = { ...conf, name: input.name, cniVersion: input.cniVersion };
  if (input.prevResult) out.prevResult = convertResult(input.prevResult, input.cniVersion);
  const rc = runtimeConfigFor(conf.capabilities, input.capabilityArgs ?? {});
  if (Object.keys(rc).length > 0) out.runtimeConfig = rc;
  return new TextEncoder().encode(JSON.stringify(out));
}

/** How errors name a plugin: `type="bridge"`, plus its own name when it has one. */
export function describePlugin(conf: NetConf): string {
  return conf.name ? `type=${JSON.stringify(conf.type)} name=${JSON.stringify(conf.name)}` : `type=${JSON.stringify(conf.type)}`;
}
