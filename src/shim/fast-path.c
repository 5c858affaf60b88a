/*
 * cni-ts-shim's usual command, before the C library starts. A plugin command on a node
 * without the daemon (no socket file, or CNI_TS_DAEMON=off) only needs stdin put in a
 * memfd and cni-ts exec'd with two variables set; the static C library's own start-up
 * (relocations, TLS, stdio, the pages it touches) costs that exec about 0.35 ms of CPU
 * here, three times what the kernel's exec itself does. So the shim's entry point
 * (shim_entry, the linker's -e) runs shim_fast with raw system calls first; for anything
 * else (VERSION, no command, a daemon socket that is there, a failure) it returns and the
 * C library starts main() in cni-ts-shim.c as before, stdin untouched.
 *
 * Exactly what main() + exec_binary() do for that case: CNI_TS_DAEMON=off, stdin read
 * whole and handed on in a memfd, BUN_JSC_useJIT=0 unless the caller set it or stdin
 * reached JIT_INPUT_BYTES. No C library call here (its functions are not set up yet):
 * loops the compiler must not turn into memcpy/strlen, no stack protector (no TLS yet).
 * x86-64 only; elsewhere shim_entry is the C library's _start.
 */
#if defined(__x86_64__)
#include <sys/syscall.h>

#include "cni-ts-shim.h"

#define FAST __attribute__((no_stack_protector, optimize("no-tree-loop-distribute-patterns"), used))

#define MAX_ENV 4096
#define PATH_BYTES 4096
#define ENOENT 2
#define EINTR 4

FAST static long sys6(long n, long a, long b, long c, long d) {
    register long r10 __asm__("r10") = d;
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return r;
}

/* The value of `name` in envp ("NAME=value"), or 0. */
FAST static const char *env_get(char **envp, const char *name) {
    for (char **e = envp; *e; e++) {
        const char *p = *e, *n = name;
        while (*n && *p == *n) p++, n++;
        if (!*n && *p == '=') return p + 1;
    }
    return 0;
}

FAST static int streq(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

FAST static int starts(const char *s, const char *prefix) {
    while (*prefix && *s == *prefix) s++, prefix++;
    return !*prefix;
}

/* 0 when all of `n` bytes went to fd. */
FAST static int write_all_raw(int fd, const char *p, long n) {
    while (n > 0) {
        long w = sys6(SYS_write, fd, (long)p, n, 0);
        if (w == -EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= w;
    }
    return 0;
}

/* Returns when main() must handle the command; otherwise execs cni-ts (or exits 1 as exec_binary would). */
FAST void shim_fast(long *sp) {
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;

    const char *cmd = env_get(envp, "CNI_COMMAND");
    if (!cmd || !*cmd || streq(cmd, "VERSION")) return;
    const char *mode = env_get(envp, "CNI_TS_DAEMON");
    const char *path = env_get(envp, "CNI_TS_DAEMON_SOCKET");
    if (!path || !*path) path = DEFAULT_SOCKET;
    char st[256];
    if (!(mode && streq(mode, "off")) && sys6(SYS_newfstatat, AT_FDCWD_, (long)path, (long)st, 0) != -ENOENT) return;

    long n_env = 0;
    while (envp[n_env]) n_env++;
    if (n_env > MAX_ENV - 3) return;

    /* cni-ts beside the shim's real path. */
    char exe[PATH_BYTES];
    long n = sys6(SYS_readlink, (long)"/proc/self/exe", (long)exe, PATH_BYTES - 1, 0);
    if (n <= 0) return;
    long slash = -1;
    for (long i = 0; i < n; i++)
        if (exe[i] == '/') slash = i;
    if (slash < 0 || slash + 8 > PATH_BYTES - 1) return;
    const char *bin = "/cni-ts";
    for (long i = 0; i < 8; i++) exe[slash + i] = bin[i];

    int memfd = (int)sys6(SYS_memfd_create, (long)"cni-stdin", 0, 0, 0);
    if (memfd < 0) return;
    /* stdin into the memfd as it comes; a stdin that cannot be read goes on untouched. */
    char chunk[65536];
    long total = 0;
    int stdin_read = 1;
    for (;;) {
        long r = sys6(SYS_read, 0, (long)chunk, sizeof chunk, 0);
        if (r == -EINTR) continue;
        if (r < 0) {
            stdin_read = 0;
            break;
        }
        if (r == 0) break;
        if (write_all_raw(memfd, chunk, r) < 0) sys6(SYS_exit_group, 1, 0, 0, 0);
        total += r;
    }
    if (stdin_read) {
        if (sys6(SYS_lseek, memfd, 0, 0 /* SEEK_SET */, 0) < 0 || sys6(SYS_dup2, memfd, 0, 0, 0) < 0) sys6(SYS_exit_group, 1, 0, 0, 0);
    }
    sys6(SYS_close, memfd, 0, 0, 0);

    char *env[MAX_ENV];
    long k = 0;
    int has_jit = 0;
    for (long i = 0; i < n_env; i++) {
        if (starts(envp[i], "CNI_TS_DAEMON=")) continue;
        if (starts(envp[i], "BUN_JSC_useJIT=")) has_jit = 1;
        env[k++] = envp[i];
    }
    env[k++] = (char *)"CNI_TS_DAEMON=off";
    if (!has_jit && !(stdin_read && total >= JIT_INPUT_BYTES)) env[k++] = (char *)"BUN_JSC_useJIT=0";
    env[k] = 0;
    sys6(SYS_execve, (long)exe, (long)argv, (long)env, 0);
    /* The exec failed: main() reads stdin again (the memfd, from its start) and reports it. */
}

/* The process's entry: shim_fast on the initial stack, then the C library's _start as if nothing ran. */
__asm__(".text\n"
        ".global shim_entry\n"
        ".type shim_entry,@function\n"
        "shim_entry:\n"
        "    mov %rsp, %rbx\n"
        "    mov %rsp, %rdi\n"
        "    and $-16, %rsp\n"
        "    call shim_fast\n"
        "    mov %rbx, %rsp\n"
        "    xor %edx, %edx\n"
        "    jmp _start\n");
#else
__asm__(".global shim_entry\n.set shim_entry, _start\n");
#endif
