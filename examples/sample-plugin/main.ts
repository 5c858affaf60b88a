/** Entry point of the sample plugin: hands its handlers to the SDK. */
import { pluginMain } from "cni-ts/skel";
import { funcs, info } from "./sample.ts";

await pluginMain(funcs, info);
