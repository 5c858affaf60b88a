/*
 * cni-ts-shim: the plugin process of the warm path, in C so that it starts in well under
 * a millisecond (a Bun process needs several). Installed under each plugin's name, it
 * only forwards: it hands the command (CNI_* variables and stdin) to `cni-ts daemon`
 * over its unix socket with the protocol of src/daemon/README.md and prints the answer.
 * VERSION of a plugin it answers itself, with the binary's own line for that name from a
 * table generated at build time from the plugin registry (src/shim/versions.ts), so a
 * runtime's probe costs no Bun start. When there is no daemon, or it does not take the
 * request in time, or there is no command, it execs the cni-ts binary next to it under
 * the same name, with stdin intact, so a node without the daemon behaves exactly as with
 * plain links.
 *
 * No dependencies beyond libc; linked statically, against musl when musl-gcc is there
 * (scripts/build-native.sh): a static glibc program's own start-up costs each exec about
 * 0.25 ms on this project's VMs, a musl one's about 0.01 ms.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cni-ts-shim-versions.h" /* VERSION_ANSWERS, generated into dist/ */
#include "cni-ts-shim.h"

extern char **environ;

#define DEFAULT_ACK_MS 30000 /* as hand-over.ts: a busy daemon is not a dead one */

/* A growable byte buffer; on allocation failure the shim falls back to the binary. */
struct buf {
    char *p;
    size_t len, cap;
};

static int buf_put(struct buf *b, const void *data, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

static int buf_str(struct buf *b, const char *s) { return buf_put(b, s, strlen(s)); }

static char *stdin_data;
static size_t stdin_len;
static char self_name[NAME_MAX + 1];

/* The kernel's cachestat(2) (Linux 6.5): how much of a file's range is in the page cache. */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif
struct cachestat_range {
    unsigned long long off, len;
};
struct cachestat {
    unsigned long long nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

/* Whether `t` is before this boot (with a second's slack for the two clocks' reads). */
static int before_boot(struct timespec t) {
    struct timespec real, up;
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_BOOTTIME, &up);
    return t.tv_sec + 1 < real.tv_sec - up.tv_sec;
}

/*
 * Reads the binary through, once per boot, before the first run of it. The page cache of
 * an executable filled by its own run's page faults (the first run after a boot, or
 * after the kernel dropped the file) holds it in small folios, and every later run maps
 * and unmaps those page by page group: measured on kernel 6.18 and ext4, a no-op plugin
 * ADD took 1.28-1.35x as long (about 3 ms more, user and system time both) for as long
 * as the pages stayed. Filled by reading the file (or by writing it), the cache holds it
 * in large folios and a run costs what it does on a freshly built binary, or a little less. So the first
 * run after a boot drops the binary's pages that no process has mapped (those a fault
 * filled) and reads the whole file through (sendfile to /dev/null, no copy): about
 * 0.15 s for the 110 MB, which the run would mostly have read anyway; a file wholly in
 * the cache (just written or read) is left as it is. Runs that start meanwhile wait for
 * it (a lock file beside the mark), or their faults would fill what is not read yet. A mark
 * beside the daemon's socket (`page-cache.<dev>.<inode>.<mtime>`, in /run/cni-ts on a
 * node) says it was done for this binary since the boot; every later run pays one stat
 * for it. Whatever fails here only leaves the cache as the run will fill it.
 */
static void warm_page_cache(const char *exe) {
    struct stat bin, mark;
    if (stat(exe, &bin) < 0) return;
    const char *sock = getenv("CNI_TS_DAEMON_SOCKET");
    if (!sock || !*sock) sock = DEFAULT_SOCKET;
    /* A relative socket path would put the mark wherever the runtime runs us from. */
    const char *slash = strrchr(sock, '/');
    if (sock[0] != '/' || !slash) return;
    int dir_len = (int)(slash - sock);
    char path[PATH_MAX - 8], lock[PATH_MAX];
    if (snprintf(path, sizeof path, "%.*s/page-cache.%llx.%llx.%lld.%ld", dir_len, sock, (unsigned long long)bin.st_dev,
                 (unsigned long long)bin.st_ino, (long long)bin.st_mtim.tv_sec, (long)bin.st_mtim.tv_nsec) >= (int)sizeof path)
        return;
    if (lstat(path, &mark) == 0 && !before_boot(mark.st_mtim)) return;

    /* The directory one level deep, as the daemon makes it (0700). */
    if (dir_len > 0) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%.*s", dir_len, sock);
        mkdir(dir, 0700);
    }
    snprintf(lock, sizeof lock, "%s.lock", path);
    int l = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (l < 0) return;
    while (flock(l, LOCK_EX) < 0 && errno == EINTR) {
    }
    /* Done meanwhile by the run that held the lock? Else ours; a mark from before this boot (a /run that outlived it) is redone. */
    if (lstat(path, &mark) < 0 || before_boot(mark.st_mtim)) {
        int fd = open(exe, O_RDONLY | O_CLOEXEC);
        unsigned long long page = (unsigned long long)sysconf(_SC_PAGESIZE), pages = ((unsigned long long)bin.st_size + page - 1) / page;
        struct cachestat_range all = {0, 0};
        struct cachestat cs;
        if (fd >= 0 && (syscall(__NR_cachestat, fd, &all, &cs, 0) < 0 || cs.nr_cache < pages)) {
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
            off_t off = 0;
            while (null >= 0 && off < bin.st_size && sendfile(null, fd, &off, (size_t)(bin.st_size - off)) > 0) {
            }
            if (null >= 0) close(null);
        }
        if (fd >= 0) close(fd);
        unlink(path);
        int m = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (m >= 0) close(m);
    }
    close(l);
}

/* Runs the cni-ts binary beside the shim's real path as the same plugin, stdin restored. */
static void __attribute__((noreturn)) exec_binary(char **argv, int stdin_read) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "%s: cni-ts-shim: cannot read /proc/self/exe: %s\n", self_name, strerror(errno));
        exit(1);
    }
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash || (size_t)(slash - exe) + sizeof "/cni-ts" > sizeof exe) exit(1);
    strcpy(slash, "/cni-ts");
    if (stdin_read) {
        /* The bytes already read go back on fd 0 through an in-memory file. */
        int fd = memfd_create("cni-stdin", 0);
        if (fd < 0) exit(1);
        size_t off = 0;
        while (off < stdin_len) {
            ssize_t w = write(fd, stdin_data + off, stdin_len - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) exit(1);
            off += (size_t)w;
        }
        if (lseek(fd, 0, SEEK_SET) < 0 || dup2(fd, 0) < 0) exit(1);
        close(fd);
        /* The shim has tried the daemon already. */
        setenv("CNI_TS_DAEMON", "off", 1);
    }
    /*
     * A plugin command is one short run, which JavaScriptCore's JIT only slows: the
     * interpreter profiles values for it, and it brings thunks and a heap warm-up thread
     * (measured: a no-op ADD 1.4-2.3 ms of CPU, a bridge ADD and DEL about 2 ms each).
     * A large config is no short run: its work grows with the input (portmap with 300
     * mappings 676 ms of CPU without the JIT, 404 ms with it; host-local with 3,000 ranges
     * 301 and 240 ms, 10,000: 745 and 332 ms), so from JIT_INPUT_BYTES of stdin the JIT
     * stays on. Not for a run without a command (`dhcp daemon`), nor over the caller's own
     * setting.
     */
    const char *cmd = getenv("CNI_COMMAND");
    if (cmd && *cmd && !(stdin_read && stdin_len >= JIT_INPUT_BYTES)) setenv("BUN_JSC_useJIT", "0", 0);
    warm_page_cache(exe);
    execve(exe, argv, environ);
    fprintf(stderr, "%s: cni-ts-shim: cannot run %s: %s\n", self_name, exe, strerror(errno));
    exit(1);
}

static int read_all(int fd, struct buf *b) {
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) return 0;
        if (buf_put(b, chunk, (size_t)n) < 0) return -1;
    }
}

/* JSON string of s (quotes included). */
static int json_string(struct buf *b, const char *s) {
    if (buf_str(b, "\"") < 0) return -1;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char esc[8];
        if (*c == '"' || *c == '\\') {
            esc[0] = '\\', esc[1] = (char)*c, esc[2] = 0;
        } else if (*c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *c);
        } else {
            esc[0] = (char)*c, esc[1] = 0;
        }
        if (buf_str(b, esc) < 0) return -1;
    }
    return buf_str(b, "\"");
}

static int base64(struct buf *b, const unsigned char *p, size_t n) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {t[v >> 18 & 63], t[v >> 12 & 63], i + 1 < n ? t[v >> 6 & 63] : '=', i + 2 < n ? t[v & 63] : '='};
        if (buf_put(b, q, 4) < 0) return -1;
    }
    return 0;
}

/* POST /cni?plugin=NAME with {"env": {CNI_*}, "config": base64(stdin)}. */
static int build_request(struct buf *req) {
    struct buf body = {0};
    int first = 1;
    if (buf_str(&body, "{\"env\":{") < 0) return -1;
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "CNI_", 4) != 0) continue;
        char *eq = strchr(*e, '=');
        if (!eq) continue;
        *eq = 0;
        int rc = (first ? 0 : buf_str(&body, ",")) | json_string(&body, *e) | buf_str(&body, ":") | json_string(&body, eq + 1);
        *eq = '=';
        if (rc < 0) return -1;
        first = 0;
    }
    if (buf_str(&body, "},\"config\":\"") < 0 || base64(&body, (unsigned char *)stdin_data, stdin_len) < 0 || buf_str(&body, "\"}") < 0) return -1;
    /* This process's network namespace: a daemon in another one refuses (its work would land there). */
    char netns[96] = "";
    struct stat ns;
    if (stat("/proc/self/ns/net", &ns) == 0)
        snprintf(netns, sizeof netns, "X-Cni-Ts-Netns: %llu:%llu\r\n", (unsigned long long)ns.st_dev, (unsigned long long)ns.st_ino);
    char head[640];
    /* Plugin names are [A-Za-z0-9_.-] (the registry's), so they need no escaping. */
    snprintf(head, sizeof head,
             "POST /cni?plugin=%s HTTP/1.1\r\nHost: cni-ts\r\nConnection: close\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
             self_name, netns, body.len);
    int rc = buf_str(req, head) | buf_put(req, body.p, body.len);
    free(body.p);
    return rc;
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Appends what the socket has to `in`; 0 at end of stream, -1 on error or timeout. */
static int read_some(int fd, struct buf *in, long deadline) {
    for (;;) {
        int wait = -1;
        if (deadline > 0) {
            long left = deadline - now_ms();
            if (left <= 0) return -1;
            wait = (int)left;
        }
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, wait);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        char chunk[65536];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) return 0;
        return buf_put(in, chunk, (size_t)n) < 0 ? -1 : 1;
    }
}

/* Decodes the chunked body in `p` (after the head); 1 when complete, 0 when more is needed. */
static int dechunk(const char *p, size_t n, struct buf *out) {
    size_t at = 0;
    out->len = 0;
    for (;;) {
        const char *eol = memmem(p + at, n - at, "\r\n", 2);
        if (!eol) return 0;
        size_t size = strtoul(p + at, NULL, 16);
        size_t data = (size_t)(eol - p) + 2;
        if (size == 0) return 1;
        if (data + size + 2 > n) return 0;
        if (buf_put(out, p + data, size) < 0) return -1;
        at = data + size + 2;
    }
}

/* The JSON string value of `key` in obj, unescaped into out (UTF-8); -1 when absent or bad. */
static int json_field(const char *obj, const char *key, struct buf *out) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *s = strstr(obj, pat);
    if (!s) return -1;
    s += strlen(pat);
    while (*s == ' ') s++;
    if (*s != '"') return -1;
    for (s++; *s && *s != '"'; s++) {
        char c = *s;
        if (c != '\\') {
            if (buf_put(out, &c, 1) < 0) return -1;
            continue;
        }
        s++;
        switch (*s) {
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case '"': case '\\': case '/': c = *s; break;
        case 'u': {
            unsigned cp = (unsigned)strtoul((char[5]){s[1], s[2], s[3], s[4], 0}, NULL, 16);
            s += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && s[1] == '\\' && s[2] == 'u') {
                unsigned lo = (unsigned)strtoul((char[5]){s[3], s[4], s[5], s[6], 0}, NULL, 16);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                s += 6;
            }
            char u[4];
            int k = 0;
            if (cp < 0x80) u[k++] = (char)cp;
            else if (cp < 0x800) u[k++] = (char)(0xc0 | cp >> 6), u[k++] = (char)(0x80 | (cp & 63));
            else if (cp < 0x10000) u[k++] = (char)(0xe0 | cp >> 12), u[k++] = (char)(0x80 | (cp >> 6 & 63)), u[k++] = (char)(0x80 | (cp & 63));
            else u[k++] = (char)(0xf0 | cp >> 18), u[k++] = (char)(0x80 | (cp >> 12 & 63)), u[k++] = (char)(0x80 | (cp >> 6 & 63)), u[k++] = (char)(0x80 | (cp & 63));
            if (buf_put(out, u, (size_t)k) < 0) return -1;
            continue;
        }
        default: return -1;
        }
        if (buf_put(out, &c, 1) < 0) return -1;
    }
    return *s == '"' ? 0 : -1;
}

static void write_all(int fd, const char *p, size_t n);

/* The binary's VERSION line for plugin `name`, or NULL when the name is not a plugin of ours. */
static const char *version_answer(const char *name) {
    for (size_t i = 0; i < sizeof VERSION_ANSWERS / sizeof VERSION_ANSWERS[0]; i++)
        if (!strcmp(VERSION_ANSWERS[i].name, name)) return VERSION_ANSWERS[i].answer;
    return NULL;
}

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

int main(int argc, char **argv) {
    const char *base = strrchr(argv[0], '/');
    snprintf(self_name, sizeof self_name, "%s", base ? base + 1 : argv[0]);
    const char *cmd = getenv("CNI_COMMAND");
    const char *mode = getenv("CNI_TS_DAEMON");
    /* As the binary: a plugin name without arguments answers VERSION without reading stdin. */
    const char *answer = cmd && !strcmp(cmd, "VERSION") && argc == 1 ? version_answer(self_name) : NULL;
    if (answer) {
        write_all(1, answer, strlen(answer));
        return 0;
    }
    if (!cmd || !*cmd || !strcmp(cmd, "VERSION")) exec_binary(argv, 0);

    const char *path = getenv("CNI_TS_DAEMON_SOCKET");
    if (!path || !*path) path = DEFAULT_SOCKET;
    /*
     * No socket file: no daemon on this node (the usual case). stdin is read here all the
     * same, for its size (the JIT's choice in exec_binary), and handed on in memory; one
     * that cannot be read goes to the binary untouched, to fail there as without the shim.
     */
    struct stat sock;
    int no_daemon = (mode && !strcmp(mode, "off")) || (stat(path, &sock) < 0 && errno == ENOENT);
    struct buf in = {0};
    if (read_all(0, &in) < 0) {
        if (no_daemon) {
            setenv("CNI_TS_DAEMON", "off", 1);
            exec_binary(argv, 0);
        }
        fprintf(stderr, "%s: cni-ts-shim: reading stdin: %s\n", self_name, strerror(errno));
        return 1;
    }
    stdin_data = in.p ? in.p : "";
    stdin_len = in.len;
    if (no_daemon) exec_binary(argv, 1);

    const char *t = getenv("CNI_TS_DAEMON_TIMEOUT_MS");
    long ack_ms = t && atol(t) > 0 ? atol(t) : DEFAULT_ACK_MS;

    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) exec_binary(argv, 1);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* No socket file (ENOENT: no daemon on this node) or a stale one: silently in-process. */
    if (fd < 0) exec_binary(argv, 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno != ENOENT) fprintf(stderr, "%s: cni-ts daemon unreachable, running in-process: %s: %s\n", self_name, path, strerror(errno));
        close(fd);
        exec_binary(argv, 1);
    }
    struct buf req = {0};
    if (build_request(&req) < 0) exec_binary(argv, 1);
    write_all(fd, req.p, req.len);

    /* Until the status line: the ack timeout; after it, as long as the daemon lives. */
    struct buf resp = {0}, body = {0};
    long deadline = now_ms() + ack_ms;
    const char *head_end = NULL;
    int complete = 0;
    for (;;) {
        int r = read_some(fd, &resp, head_end ? 0 : deadline);
        if (r < 0 || r == 0) break;
        if (!head_end) head_end = resp.p ? strstr(resp.p, "\r\n\r\n") : NULL;
        if (!head_end) continue;
        const char *data = head_end + 4;
        size_t have = resp.len - (size_t)(data - resp.p);
        /* A quick answer comes whole with a Content-Length; a slow one chunked (blanks first). */
        const char *cl = memmem(resp.p, (size_t)(head_end - resp.p), "Content-Length: ", 16);
        if (cl) {
            size_t want = strtoul(cl + 16, NULL, 10);
            if (have >= want) {
                body.len = 0;
                complete = buf_put(&body, data, want) < 0 ? -1 : 1;
                break;
            }
        } else if ((complete = dechunk(data, have, &body)) != 0) {
            break;
        }
    }
    close(fd);
    if (complete == 1 && strncmp(resp.p, "HTTP/1.1 200", 12) == 0) {
        struct buf out = {0}, err = {0};
        const char *code = strstr(body.p ? body.p : "", "\"exitCode\":");
        if (code && json_field(body.p, "stdout", &out) == 0 && json_field(body.p, "stderr", &err) == 0) {
            if (err.len) write_all(2, err.p, err.len);
            if (out.len) write_all(1, out.p, out.len);
            return atoi(code + strlen("\"exitCode\":"));
        }
    }
    if (complete == 1 && strncmp(resp.p, "HTTP/1.1 200", 12) != 0) {
        /* Refused before anything ran (another network namespace, a bad request). */
        struct buf why = {0};
        if (json_field(body.p ? body.p : "", "error", &why) < 0) why.len = 0;
        fprintf(stderr, "%s: cni-ts daemon not used, running in-process: daemon refused the request (%.3s): %s\n", self_name,
                resp.p + 9, why.len ? why.p : "no reason given");
        exec_binary(argv, 1);
    }
    fprintf(stderr, "%s: cni-ts daemon unreachable, running in-process: %s\n", self_name,
            !head_end ? "no answer in time" : "the connection closed before the answer");
    exec_binary(argv, 1);
}
