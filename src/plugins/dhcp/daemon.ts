/**
 * `dhcp daemon [-socketpath P] [-pidfile F] [-hostprefix D] [-broadcast] [-timeout T]
 * [-resendmax T] [-resendtimeout T]`: the long-running half of the dhcp plugin, as the
 * reference runs it. It serves the "DHCP" RPC service on a unix socket (default
 * /run/cni/dhcp.sock) in Go's net/rpc wire format, so the Go plugin can use it too.
 * SIGTERM and SIGINT close the socket and remove it and the pidfile; leases are not
 * released at exit (the reference does not either).
 */
import { unlinkSync } from "node:fs";
import { isAbsolute } from "node:path";
import { packetLink } from "../../ipam/dhcp/packet-link.ts";
import { serveRpc } from "../../ipam/dhcp/rpc-server.ts";
import { writeStateFile } from "../../sys/state-file.ts";
import { parseDaemonFlags } from "./daemon-flags.ts";
import { DhcpService } from "./service.ts";
import { errorMessage } from "../../spec/error.ts";

/** Go's log format: "2006/01/02 15:04:05 message". */
function log(msg: string): void {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, "0");
  process.stderr.write(`${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${msg}\n`);
}

/** Runs the daemon until a signal stops it; returns the exit status. */
export async function runDaemon(argv: readonly string[]): Promise<number> {
  let flags;
  try {
    flags = parseDaemonFlags(argv);
  } catch (e) {
    process.stderr.write(`${errorMessage(e)}\n`);
    return 2;
  }
  try {
    if (flags.pidfile) {
      if (!isAbsolute(flags.pidfile)) throw new Error(`Error writing pidfile ${JSON.stringify(flags.pidfile)}: path not absolute`);
      // Replaced, never written through: a symlink at the pidfile's name is not followed.
      writeStateFile(flags.pidfile, String(process.pid), { mode: 0o644 });
    }
    const service = new DhcpService({
      hostPrefix: flags.hostprefix,
      broadcast: flags.broadcast,
      timing: { timeoutMs: flags.timeoutMs, resendMaxMs: flags.resendmaxMs, resendTimeoutMs: flags.resendtimeoutMs },
      log,
      linkFor: packetLink,
    });
    const socketPath = flags.hostprefix + flags.socketpath;
    const server = await serveRpc(socketPath, service.methods()).catch((e) => {
      throw new Error(`Error getting listener: ${errorMessage(e)}`);
    });
    const { promise, resolve } = Promise.withResolvers<number>();
    const stop = () => {
      server.stop();
      if (flags.pidfile) {
        try {
          unlinkSync(flags.pidfile);
        } catch {
          // already gone
        }
      }
      resolve(0);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    return await promise;
  } catch (e) {
    log(errorMessage(e));
    return 1;
  }
}
