/**
 * Debian's kubectl against the test server, with a private kubeconfig, cache dir and
 * HOME, so it never reads or writes ~/.kube. Asynchronous: the server runs in the
 * test's own process and must keep answering while kubectl waits.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const hasKubectl = Bun.which("kubectl") !== null;

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A kubectl bound to one kubeconfig. Its HOME and cache dir live beside the kubeconfig
 * (the test server's temp dir, which stop() removes), so nothing is left behind even
 * when a test forgets close(); close() removes them at once.
 */
export class Kubectl {
  readonly home: string;
  constructor(readonly kubeconfig: string) {
    let home: string;
    try {
      home = mkdtempSync(join(dirname(kubeconfig), "kubectl-home-"));
    } catch {
      home = mkdtempSync(join(tmpdir(), "cni-ts-kubectl-"));
    }
    this.home = home;
  }

  private argv(args: string[]): string[] {
    return ["kubectl", "--kubeconfig", this.kubeconfig, "--cache-dir", join(this.home, "cache"), ...args];
  }

  private get env(): Record<string, string> {
    return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: this.home, KUBECONFIG: this.kubeconfig };
  }

  /** Runs kubectl to its end (timeout 20 s); `netns`: inside that named namespace (ip netns exec). */
  async run(args: string[], opts: { stdin?: string; kubeconfig?: string; netns?: string } = {}): Promise<KubectlResult> {
    let argv = this.argv(args);
    if (opts.kubeconfig) argv[2] = opts.kubeconfig;
    if (opts.netns) argv = ["ip", "netns", "exec", opts.netns, ...argv];
    const p = Bun.spawn(argv, {
      env: this.env,
      stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
      stdout: "pipe",
      stderr: "pipe",
      timeout: 20_000,
    });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  }

  /** Starts a long-running kubectl (get --watch); read lines as they come, stop() it. */
  start(args: string[]): { lines: string[]; waitFor: (re: RegExp, ms?: number) => Promise<string>; stop: () => Promise<void> } {
    const p = Bun.spawn(this.argv(args), { env: this.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const lines: string[] = [];
    void (async () => {
      const dec = new TextDecoder();
      let buf = "";
      for await (const chunk of p.stdout as ReadableStream<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          lines.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      }
    })();
    const waitFor = async (re: RegExp, ms = 10_000) => {
      const end = Date.now() + ms;
      for (;;) {
        const hit = lines.find((l) => re.test(l));
        if (hit !== undefined) return hit;
        if (Date.now() > end) throw new Error(`kubectl ${args.join(" ")}: no line matching ${re} in ${ms} ms; got:\n${lines.join("\n")}`);
        await Bun.sleep(20);
      }
    };
    return {
      lines,
      waitFor,
      stop: async () => {
        p.kill();
        await p.exited;
      },
    };
  }

  close(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** Splits a kubectl table line into its columns (two or more spaces apart). */
export const columns = (line: string): string[] => line.trim().split(/\s{2,}/);
