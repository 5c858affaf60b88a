/**
 * A throw-away PKI for the test server, made with openssl at start: a CA, the server's
 * certificate (for 127.0.0.1, ::1 and localhost) and client certificates whose CN is the
 * user and O the groups, as the kube-apiserver reads them. EC P-256 keys: fast to make.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface CertPair {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** Makes the CA in dir (ca.crt, ca.key). */
export function makeCa(dir: string, cn = "cni-ts-test-ca"): CertPair {
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", `/CN=${cn}`], dir);
  return pair(dir, "ca");
}

/** A certificate signed by the CA in dir: server (with SANs) or client (CN=user, O=groups). */
export function makeCert(dir: string, name: string, opts: { cn: string; groups?: string[]; server?: boolean; sans?: string[] }): CertPair {
  const subj = [...(opts.groups ?? []).map((g) => `/O=${g}`), `/CN=${opts.cn}`].join("");
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subj], dir);
  const ext = opts.server
    ? `subjectAltName=${(opts.sans ?? ["IP:127.0.0.1", "IP:::1", "DNS:localhost"]).join(",")}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`
    : "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n";
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`], dir);
  return pair(dir, name);
}

function pair(dir: string, name: string): CertPair {
  const certFile = join(dir, `${name}.crt`), keyFile = join(dir, `${name}.key`);
  return { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), certFile, keyFile };
}
