/** The plugin SDK: write a plugin as add/check/del handlers and hand them to pluginMain. */
export type * from "./cmd-args.ts";
export { runPlugin, type Invocation, type Outcome } from "./run.ts";
export { checkNetnsPath } from "./netns-check.ts";
export { pluginMain } from "./plugin-main.ts";
