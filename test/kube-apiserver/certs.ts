/**
 * A throw-away PKI for the test server, made with openssl: a CA, the server's
 * certificate (for 127.0.0.1, ::1 and localhost) and client certificates whose CN is the
 * user and O the groups, as the kube-apiserver reads them. EC P-256 keys, one openssl
 * run per certificate, and made once per test process: later servers reuse them (a
 * loaded machine pays for openssl once, not per server).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CertPair {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

const made = new Map<string, { cert: string; key: string }>();

function openssl(args: string[], cwd: string): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** Makes (or reuses) one certificate and writes it as <name>.crt / <name>.key in dir. */
function certificate(dir: string, name: string, cacheKey: string, args: (work: string) => string[]): CertPair {
  let pem = made.get(cacheKey);
  if (!pem) {
    const work = mkdtempSync(join(tmpdir(), "cni-ts-pki-"));
    try {
      // A config without the default (CA) extensions: each certificate gets exactly its own.
      writeFileSync(join(work, "min.cnf"), "[req]\ndistinguished_name=dn\n[dn]\n");
      openssl(
        [
          "req",
          "-config",
          "min.cnf",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-keyout",
          "out.key",
          "-out",
          "out.crt",
          "-days",
          "2",
          ...args(work),
        ],
        work,
      );
      pem = { cert: readFileSync(join(work, "out.crt"), "utf8"), key: readFileSync(join(work, "out.key"), "utf8") };
      made.set(cacheKey, pem);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const certFile = join(dir, `${name}.crt`),
    keyFile = join(dir, `${name}.key`);
  writeFileSync(certFile, pem.cert);
  writeFileSync(keyFile, pem.key, { mode: 0o600 });
  return { ...pem, certFile, keyFile };
}

/** The CA, as dir/ca.crt and dir/ca.key. */
export function makeCa(dir: string, cn = "cni-ts-test-ca"): CertPair {
  return certificate(dir, "ca", `ca:${cn}`, () => [
    "-subj",
    `/CN=${cn}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
}

/** A certificate signed by the CA in dir: server (with SANs) or client (CN=user, O=groups). */
export function makeCert(dir: string, name: string, opts: { cn: string; groups?: string[]; server?: boolean; sans?: string[] }): CertPair {
  const subj = [...(opts.groups ?? []).map((g) => `/O=${g}`), `/CN=${opts.cn}`].join("");
  const ca = makeCa(dir);
  const sans = (opts.sans ?? ["IP:127.0.0.1", "IP:::1", "DNS:localhost"]).join(",");
  const key = `${ca.cert}|${opts.server ? `server:${sans}` : "client"}|${subj}`;
  return certificate(dir, name, key, (work) => {
    writeFileSync(join(work, "ca.crt"), ca.cert);
    writeFileSync(join(work, "ca.key"), ca.key, { mode: 0o600 });
    const ext = opts.server ? ["-addext", `subjectAltName=${sans}`, "-addext", "extendedKeyUsage=serverAuth"] : ["-addext", "extendedKeyUsage=clientAuth"];
    return [
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-subj",
      subj,
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-addext",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      ...ext,
    ];
  });
}
