/**
 * Test helper: fake plugins as small shell scripts in a temp dir. Each call is logged
 * (stdin, environment, type, in call order) and each plugin's answer per command can be
 * set (stdout, stderr, exit status, delay), so tests see exactly what the runtime did.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One recorded plugin call. */
export interface FakeCall {
  seq: number;
  type: string;
  command: string;
  env: Record<string, string>;
  stdin: string;
  /** stdin parsed, or undefined when it was not JSON. */
  conf: any;
}

/** How a fake plugin answers one command. */
export interface FakeAnswer {
  stdout?: string;
  stderr?: string;
  exit?: number;
  sleepSeconds?: number;
}

const SCRIPT = (root: string) => `#!/bin/sh
me=$(basename "$0")
log='${root}/log'
while ! mkdir "$log/lock" 2>/dev/null; do :; done
n=$(( $(cat "$log/seq" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$log/seq"
rmdir "$log/lock"
cat > "$log/$n.stdin"
env > "$log/$n.env"
echo "$me" > "$log/$n.type"
b="${root}/answers/$me.$CNI_COMMAND"
[ -f "$b.sleep" ] && sleep "$(cat "$b.sleep")"
[ -f "$b.stderr" ] && cat "$b.stderr" >&2
if [ -f "$b.stdout" ]; then cat "$b.stdout"
elif [ "$CNI_COMMAND" = ADD ]; then printf '{"interfaces":[{"name":"%s"}],"ips":[{"address":"10.0.0.%s/24"}]}' "$me" "$n"
elif [ "$CNI_COMMAND" = VERSION ]; then printf '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}'
fi
exit "$(cat "$b.exit" 2>/dev/null || echo 0)"
`;

/** A temp dir of fake plugins; remove() deletes it. */
export class FakePlugins {
  readonly root: string;
  readonly binDir: string;

  private constructor(root: string) {
    this.root = root;
    this.binDir = join(root, "bin");
    for (const d of ["bin", "log", "answers"]) mkdirSync(join(root, d));
  }

  /** Makes a temp dir with the given plugin types installed. */
  static create(...types: string[]): FakePlugins {
    const f = new FakePlugins(mkdtempSync(join(tmpdir(), "cnits-fake-")));
    for (const t of types) f.install(t);
    return f;
  }

  /** Installs a fake plugin named `type` (a script, mode 0755). */
  install(type: string): string {
    const path = join(this.binDir, type);
    writeFileSync(path, SCRIPT(this.root), { mode: 0o755 });
    return path;
  }

  /** Sets how plugin `type` answers `command`. */
  answer(type: string, command: string, a: FakeAnswer): void {
    const base = join(this.root, "answers", `${type}.${command}`);
    for (const ext of ["stdout", "stderr", "exit", "sleep"]) rmSync(`${base}.${ext}`, { force: true });
    if (a.stdout !== undefined) writeFileSync(`${base}.stdout`, a.stdout);
    if (a.stderr !== undefined) writeFileSync(`${base}.stderr`, a.stderr);
    if (a.exit !== undefined) writeFileSync(`${base}.exit`, String(a.exit));
    if (a.sleepSeconds !== undefined) writeFileSync(`${base}.sleep`, String(a.sleepSeconds));
  }

  /** Every call so far, in order. */
  calls(): FakeCall[] {
    const log = join(this.root, "log");
    const seqs = readdirSync(log)
      .filter((n) => n.endsWith(".type"))
      .map((n) => Number(n.split(".")[0]))
      .sort((a, b) => a - b);
    return seqs.map((seq) => {
      const env: Record<string, string> = {};
      for (const line of readFileSync(join(log, `${seq}.env`), "utf8").split("\n")) {
        const eq = line.indexOf("=");
        if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
      }
      const stdin = readFileSync(join(log, `${seq}.stdin`), "utf8");
      let conf: unknown;
      try {
        conf = JSON.parse(stdin);
      } catch {
        conf = undefined;
      }
      return { seq, type: readFileSync(join(log, `${seq}.type`), "utf8").trim(), command: env.CNI_COMMAND ?? "", env, stdin, conf };
    });
  }

  /** Forgets the calls so far. */
  clearCalls(): void {
    const log = join(this.root, "log");
    rmSync(log, { recursive: true, force: true });
    mkdirSync(log);
  }

  /** Deletes the temp dir. */
  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
