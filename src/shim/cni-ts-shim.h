/* cni-ts-shim's constants that tests read (src/daemon/hand-over.test.ts). */
#ifndef CNI_TS_SHIM_H
#define CNI_TS_SHIM_H

/* Where `cni-ts daemon` listens unless CNI_TS_DAEMON_SOCKET says otherwise (src/daemon/protocol.ts). */
#define DEFAULT_SOCKET "/run/cni-ts/daemon.sock"
/* From this much stdin a plugin command keeps JavaScriptCore's JIT (see exec_binary). */
#define JIT_INPUT_BYTES 16384

#endif
