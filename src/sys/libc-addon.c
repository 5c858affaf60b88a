/*
 * The system calls of src/sys/libc.ts as a Node-API addon (dist/cni-ts-libc.node), which
 * the compiled binary loads from beside itself instead of binding libc through bun:ffi:
 * bun:ffi compiles its stubs with TinyCC at run time and maps its whole FFI machinery,
 * which cost a plugin process about 1.5 MB of RSS and start-up time more than this.
 *
 * libc only; the few Node-API declarations are written here (no node headers, no
 * node-gyp): the functions are resolved from the Bun binary that loads the file.
 * Every call returns its result, or -errno when it fails, so JavaScript never has to
 * ask for errno afterwards. Strings are copied into a PATH_MAX buffer; typed arrays
 * are used in place (the call is synchronous).
 *
 * Built by `npm run build` (scripts/build-native.sh): cc -O2 -shared -fPIC -o dist/cni-ts-libc.node src/sys/libc-addon.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Node-API, the part used here (js_native_api.h's types and signatures). */
typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status;
typedef napi_value (*napi_callback)(napi_env, napi_callback_info);
typedef enum {
  napi_int8_array,
  napi_uint8_array,
  napi_uint8_clamped_array,
  napi_int16_array,
  napi_uint16_array,
  napi_int32_array,
  napi_uint32_array,
  napi_float32_array,
  napi_float64_array,
  napi_bigint64_array,
  napi_biguint64_array,
} napi_typedarray_type;
napi_status napi_get_cb_info(napi_env, napi_callback_info, size_t *, napi_value *, napi_value *, void **);
napi_status napi_get_value_int32(napi_env, napi_value, int32_t *);
napi_status napi_get_value_int64(napi_env, napi_value, int64_t *);
napi_status napi_get_value_string_utf8(napi_env, napi_value, char *, size_t, size_t *);
napi_status napi_create_string_utf8(napi_env, const char *, size_t, napi_value *);
napi_status napi_get_undefined(napi_env, napi_value *);
napi_status napi_get_typedarray_info(napi_env, napi_value, napi_typedarray_type *, size_t *, void **, napi_value *, size_t *);
napi_status napi_create_int32(napi_env, int32_t, napi_value *);
napi_status napi_create_int64(napi_env, int64_t, napi_value *);
napi_status napi_create_function(napi_env, const char *, size_t, napi_callback, void *, napi_value *);
napi_status napi_set_named_property(napi_env, napi_value, const char *, napi_value);

#define MAX_ARGS 6

struct args {
  napi_env env;
  size_t n;
  napi_value v[MAX_ARGS];
};

static int get_args(napi_env env, napi_callback_info info, struct args *a) {
  a->env = env;
  a->n = MAX_ARGS;
  return napi_get_cb_info(env, info, &a->n, a->v, NULL, NULL) == 0 ? 0 : -1;
}

/* Argument i as an integer (0 when missing or not a number). */
static int64_t num(struct args *a, size_t i) {
  int64_t x = 0;
  if (i < a->n) napi_get_value_int64(a->env, a->v[i], &x);
  return x;
}

/*
 * Argument i as a NUL-terminated string in buf; -1 with errno EINVAL when it is not a
 * string or holds a NUL, ENAMETOOLONG when it does not fit (its whole length is asked
 * first: the copy itself stops short of a character that does not fit, which would pass
 * a shortened path on).
 */
static int str(struct args *a, size_t i, char buf[PATH_MAX]) {
  size_t full = 0, len = 0;
  errno = EINVAL;
  if (i >= a->n || napi_get_value_string_utf8(a->env, a->v[i], NULL, 0, &full) != 0) return -1;
  if (full >= PATH_MAX) return errno = ENAMETOOLONG, -1;
  if (napi_get_value_string_utf8(a->env, a->v[i], buf, PATH_MAX, &len) != 0 || len != full || strlen(buf) != len) return -1;
  return 0;
}

/* Argument i as a typed array's bytes; *data NULL and *len 0 when it is not one. */
static void bytes(struct args *a, size_t i, void **data, size_t *len) {
  static const size_t size[] = {1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8};
  napi_typedarray_type type;
  size_t count = 0;
  *data = NULL;
  *len = 0;
  if (i >= a->n || napi_get_typedarray_info(a->env, a->v[i], &type, &count, data, NULL, NULL) != 0) {
    *data = NULL;
    return;
  }
  *len = count * ((size_t)type < sizeof size / sizeof size[0] ? size[type] : 1);
}

/* The result of a call: rc, or -errno when it failed. */
static napi_value ret(napi_env env, int64_t rc) {
  napi_value v;
  napi_create_int64(env, rc < 0 ? -(int64_t)errno : rc, &v);
  return v;
}

static napi_value einval(napi_env env) {
  napi_value v;
  napi_create_int32(env, -EINVAL, &v);
  return v;
}

#define FN(name) static napi_value js_##name(napi_env env, napi_callback_info info)
#define ARGS                              \
  struct args a;                          \
  if (get_args(env, info, &a)) return NULL;

/* openat(dirfd, path, flags, mode) */
FN(openat) {
  ARGS char p[PATH_MAX];
  if (a.n < 4 || str(&a, 1, p)) return ret(env, -1);
  return ret(env, openat((int)num(&a, 0), p, (int)num(&a, 2), (mode_t)num(&a, 3)));
}

/* close(fd) */
FN(close) {
  ARGS return ret(env, close((int)num(&a, 0)));
}

/* setns(fd, nstype) */
FN(setns) {
  ARGS return ret(env, setns((int)num(&a, 0), (int)num(&a, 1)));
}

/* unshare(flags) */
FN(unshare) {
  ARGS return ret(env, unshare((int)num(&a, 0)));
}

/* mount(source, target, fstype, flags): no data argument. */
FN(mount) {
  ARGS char s[PATH_MAX], t[PATH_MAX], f[PATH_MAX];
  if (str(&a, 0, s) || str(&a, 1, t) || str(&a, 2, f)) return ret(env, -1);
  return ret(env, mount(s, t, f, (unsigned long)num(&a, 3), NULL));
}

/* socket(domain, type, protocol) */
FN(socket) {
  ARGS return ret(env, socket((int)num(&a, 0), (int)num(&a, 1), (int)num(&a, 2)));
}

/* bind(fd, sockaddr bytes) */
FN(bind) {
  ARGS void *addr;
  size_t len;
  bytes(&a, 1, &addr, &len);
  return ret(env, bind((int)num(&a, 0), addr, (socklen_t)len));
}

/* setsockopt(fd, level, name, value bytes) */
FN(setsockopt) {
  ARGS void *val;
  size_t len;
  bytes(&a, 3, &val, &len);
  return ret(env, setsockopt((int)num(&a, 0), (int)num(&a, 1), (int)num(&a, 2), val, (socklen_t)len));
}

/* sendto(fd, data, flags, sockaddr bytes) */
FN(sendto) {
  ARGS void *data, *addr;
  size_t len, alen;
  bytes(&a, 1, &data, &len);
  bytes(&a, 3, &addr, &alen);
  return ret(env, sendto((int)num(&a, 0), data, len, (int)num(&a, 2), addr, (socklen_t)alen));
}

/*
 * recvfrom(fd, buf, flags[, addr bytes, addrlen Uint32Array(1)]): with an address
 * buffer, the sender's address is written there and its length into addrlen[0].
 */
FN(recvfrom) {
  ARGS void *buf, *addr, *lenp;
  size_t len, alen, llen;
  bytes(&a, 1, &buf, &len);
  bytes(&a, 3, &addr, &alen);
  bytes(&a, 4, &lenp, &llen);
  if (addr == NULL || lenp == NULL || llen < sizeof(socklen_t)) return ret(env, recvfrom((int)num(&a, 0), buf, len, (int)num(&a, 2), NULL, NULL));
  socklen_t sl = (socklen_t)alen;
  ssize_t n = recvfrom((int)num(&a, 0), buf, len, (int)num(&a, 2), addr, &sl);
  *(uint32_t *)lenp = sl;
  return ret(env, n);
}

/* flock(fd, op) */
FN(flock) {
  ARGS return ret(env, flock((int)num(&a, 0), (int)num(&a, 1)));
}

/* ioctl(fd, request, integer argument) */
FN(ioctl) {
  ARGS return ret(env, ioctl((int)num(&a, 0), (unsigned long)num(&a, 1), (unsigned long)num(&a, 2)));
}

/* ioctl(fd, request, buffer the kernel may read and write) */
FN(ioctl_buf) {
  ARGS void *buf;
  size_t len;
  bytes(&a, 2, &buf, &len);
  return ret(env, ioctl((int)num(&a, 0), (unsigned long)num(&a, 1), buf));
}

/* statx(dirfd, path, flags, mask, struct statx bytes) */
FN(statx) {
  ARGS char p[PATH_MAX];
  void *buf;
  size_t len;
  if (str(&a, 1, p)) return ret(env, -1);
  bytes(&a, 4, &buf, &len);
  if (len < sizeof(struct statx)) return einval(env);
  return ret(env, statx((int)num(&a, 0), p, (int)num(&a, 2), (unsigned)num(&a, 3), buf));
}

/* read(fd, buf, offset): into buf from byte offset on. */
FN(read) {
  ARGS void *buf;
  size_t len;
  bytes(&a, 1, &buf, &len);
  size_t off = (size_t)num(&a, 2);
  if (off > len) return einval(env);
  return ret(env, read((int)num(&a, 0), (char *)buf + off, len - off));
}

/* write(fd, buf, offset): buf from byte offset on. */
FN(write) {
  ARGS void *buf;
  size_t len;
  bytes(&a, 1, &buf, &len);
  size_t off = (size_t)num(&a, 2);
  if (off > len) return einval(env);
  return ret(env, write((int)num(&a, 0), (char *)buf + off, len - off));
}

/* fsync(fd) */
FN(fsync) {
  ARGS return ret(env, fsync((int)num(&a, 0)));
}

/* getdents64(fd, buf): directory entries (struct linux_dirent64) into buf; bytes, 0 at the end */
FN(getdents64) {
  ARGS void *buf;
  size_t len;
  bytes(&a, 1, &buf, &len);
  if (!buf) return einval(env);
  return ret(env, syscall(SYS_getdents64, (int)num(&a, 0), buf, len));
}

/* ftruncate(fd, length) */
FN(ftruncate) {
  ARGS return ret(env, ftruncate((int)num(&a, 0), (off_t)num(&a, 1)));
}

/* rename(from, to) */
FN(rename) {
  ARGS char f[PATH_MAX], t[PATH_MAX];
  if (str(&a, 0, f) || str(&a, 1, t)) return ret(env, -1);
  return ret(env, rename(f, t));
}

/* link(from, to) */
FN(link) {
  ARGS char f[PATH_MAX], t[PATH_MAX];
  if (str(&a, 0, f) || str(&a, 1, t)) return ret(env, -1);
  return ret(env, link(f, t));
}

/* unlink(path) */
FN(unlink) {
  ARGS char p[PATH_MAX];
  if (str(&a, 0, p)) return ret(env, -1);
  return ret(env, unlink(p));
}

/* mkdir(path, mode) */
FN(mkdir) {
  ARGS char p[PATH_MAX];
  if (str(&a, 0, p)) return ret(env, -1);
  return ret(env, mkdir(p, (mode_t)num(&a, 1)));
}

/* rmdir(path) */
FN(rmdir) {
  ARGS char p[PATH_MAX];
  if (str(&a, 0, p)) return ret(env, -1);
  return ret(env, rmdir(p));
}

/* Length of the valid UTF-8 prefix of s[0..n) (Unicode's well-formed byte sequences: no overlongs, surrogates or values past U+10FFFF). */
static size_t utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return i;
    }
    if (i + len > n || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; k++)
      if (s[i + k] < 0x80 || s[i + k] > 0xbf) return i;
    i += len;
  }
  return n;
}

/*
 * utf8(bytes): the text as TextDecoder decodes well-formed UTF-8 (a leading BOM
 * dropped); undefined when the bytes are not well-formed, for TextDecoder's own
 * replacement rules to decide. Not TextDecoder itself: its set-up costs a plugin
 * process about 0.8 MB of RSS.
 */
FN(utf8) {
  ARGS void *data;
  size_t len;
  napi_value v;
  bytes(&a, 0, &data, &len);
  const unsigned char *s = data ? data : (const unsigned char *)"";
  if (utf8_valid(s, len) != len) {
    napi_get_undefined(env, &v);
    return v;
  }
  size_t skip = len >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf ? 3 : 0;
  if (napi_create_string_utf8(env, (const char *)s + skip, len - skip, &v) != 0) return NULL;
  return v;
}

/*
 * writeText(fd, text): all of text, as UTF-8, written to fd (EINTR retried; on a
 * non-blocking fd that is full, poll(2) waits); the byte count, or -errno.
 */
FN(write_text) {
  ARGS size_t len = 0;
  if (a.n < 2 || napi_get_value_string_utf8(env, a.v[1], NULL, 0, &len) != 0) return einval(env);
  char *buf = malloc(len + 1);
  if (!buf) return ret(env, (errno = ENOMEM, -1));
  napi_get_value_string_utf8(env, a.v[1], buf, len + 1, &len);
  int fd = (int)num(&a, 0);
  size_t done = 0;
  int64_t rc = 0;
  while (done < len) {
    ssize_t w = write(fd, buf + done, len - done);
    if (w >= 0) {
      done += (size_t)w;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      if (poll(&p, 1, -1) >= 0 || errno == EINTR) continue;
    }
    rc = -1;
    break;
  }
  int saved = errno;
  free(buf);
  errno = saved;
  return ret(env, rc < 0 ? -1 : (int64_t)done);
}

/* gettid(): the thread setns acts on. */
FN(gettid) {
  (void)info;
  return ret(env, syscall(SYS_gettid));
}

/* A netlink request that a thread of its own sends and waits for (send_detached). */
struct detached {
  int nsfd;
  size_t len;
  unsigned char msg[];
};

static void *detached_send(void *p) {
  struct detached *d = p;
  if (setns(d->nsfd, CLONE_NEWNET) == 0) {
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (s >= 0) {
      struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
      char ack[1024];
      if (sendto(s, d->msg, d->len, 0, (struct sockaddr *)&kernel, sizeof kernel) >= 0) recv(s, ack, sizeof ack, 0);
      close(s);
    }
  }
  close(d->nsfd);
  free(d);
  return NULL;
}

/*
 * How long a netfilter socket is held before its last close: past the RCU grace period
 * (10-30 ms here) after which nf_tables' destroy work has run by itself, so the close
 * finds nothing to flush (see closeDetached).
 */
#define LATE_CLOSE_NS (100 * 1000000L)

#if defined(__x86_64__) || defined(__aarch64__)
/*
 * A system call without the C library: the task clone_send starts shares this process's
 * memory and thread pointer, so it must not write errno (the caller's thread's) or take
 * any libc lock; it calls only this.
 */
static long raw_syscall(long n, long a, long b, long c, long d, long e, long f) {
#if defined(__x86_64__)
  register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
  long rc;
  __asm__ volatile("syscall" : "=a"(rc) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return rc;
#else
  register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b, x2 __asm__("x2") = c,
                    x3 __asm__("x3") = d, x4 __asm__("x4") = e, x5 __asm__("x5") = f;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
#endif
}

/*
 * How many tasks start_task has started, and how many of them have dropped their copy of
 * the descriptor table (a futex word in the memory the tasks share, which each adds 1
 * to). Until a task has dropped it, it holds the plugin's stdout open, and a process that
 * exited meanwhile would leave its runtime waiting for end-of-file on the task's being
 * scheduled: settle_tasks, at the process's end, waits until all have. start_task does
 * not wait: a task is placed on the least loaded CPU, and where that CPU is busy
 * (softirqs, a kworker freeing what the last nf_tables commit replaced: on a node with
 * 1,000 pods, often) the waiting one went idle without pulling it, until the next
 * balancing tick: 2.5-3.5 ms, twice per bridge ADD there (sched_switch traces). By the
 * process's end the tasks have run. Plugin processes start their tasks from their one
 * JavaScript thread.
 */
static unsigned tasks_started;
static unsigned tasks_ready;

/*
 * The CPUs this process may run on, which start_task narrows to the one it runs on for
 * the moment of the clone of a task that only drops its descriptors and waits (on_this_cpu):
 * such a task is queued where the process runs and gets the CPU at the process's next
 * wait at the latest (settle_tasks's, say), not on a busy one. The task takes them back
 * once started. With the 4 steps of a pod (bridge and portmap ADD and DEL) on a node with
 * 1,000 pods, 4-6 ms less than placing the tasks on the least loaded CPU (median of 80
 * paired rounds; the same on an empty node).
 */
static cpu_set_t task_cpus;
static int task_cpus_known;

/* A task's first step after its close_range: take back the process's CPUs; one more task holds nothing of the process's. */
static void task_started(void) {
  if (task_cpus_known) raw_syscall(SYS_sched_setaffinity, 0, sizeof task_cpus, (long)&task_cpus, 0, 0, 0);
  __atomic_add_fetch(&tasks_ready, 1, __ATOMIC_RELEASE);
  raw_syscall(SYS_futex, (long)&tasks_ready, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

/* Returns once every task start_task started has dropped its copy of the descriptor table. */
static void settle_tasks(void) {
  for (;;) {
    unsigned ready = __atomic_load_n(&tasks_ready, __ATOMIC_ACQUIRE);
    if (ready == tasks_started) return;
    syscall(SYS_futex, &tasks_ready, FUTEX_WAIT_PRIVATE, ready, NULL, NULL, 0);
  }
}

/*
 * The body of the task clone_send starts: enter the namespace, drop the whole copy of
 * the descriptor table it was given (the runtime waits for EOF on the plugin's stdout,
 * and a copy held here would keep it open), then send, wait for the answer, and return
 * (glibc's clone() ends the task with exit(2)).
 */
static int clone_body(void *p) {
  struct detached *d = p;
  static const struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  char ack[1024];
  long ok = raw_syscall(SYS_setns, d->nsfd, CLONE_NEWNET, 0, 0, 0, 0) == 0;
  raw_syscall(SYS_close_range, 0, ~0U, 0, 0, 0, 0);
  task_started();
  if (ok) {
    long s = raw_syscall(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE, 0, 0, 0);
    if (s >= 0 && raw_syscall(SYS_sendto, s, (long)d->msg, (long)d->len, 0, (long)&kernel, sizeof kernel) >= 0)
      raw_syscall(SYS_recvfrom, s, (long)ack, sizeof ack, 0, 0, 0);
  }
  return 0;
}

/* Narrows this process to the CPU it runs on (task_cpus); false when it could not. */
static int pin_to_this_cpu(void) {
  if (!task_cpus_known) task_cpus_known = sched_getaffinity(0, sizeof task_cpus, &task_cpus) == 0;
  int cpu = sched_getcpu();
  if (!task_cpus_known || cpu < 0 || cpu >= CPU_SETSIZE) return 0;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  return sched_setaffinity(0, sizeof one, &one) == 0;
}

/* Stack and request of one task start_task starts; never freed (see clone_send). */
#define CLONE_AREA (32 * 1024)

/*
 * A new task that is not a thread of this process, running body(area) on a stack at the
 * end of a fresh area of CLONE_AREA bytes (the caller fills the start of it through
 * fill): it shares the memory (no page tables copied, unlike fork) but has a descriptor
 * table and signal handlers of its own (all signals blocked), and no exit signal, so
 * nobody is told when it ends. A process's exit waits for all its threads; it does not
 * wait for this task. The task stays a zombie of this process until the process exits,
 * then is the reaper's (init or a subreaper), which reaps it when it ends: for
 * short-lived processes only (a daemon takes a thread). Its area is mapped here and
 * never unmapped: the process does not outlive it by much, and the task may still read
 * it after the process has gone. The task must drop its copy of the descriptor table
 * (close_range) before anything that waits, then say so (task_started): the runtime
 * waits for EOF on the plugin's stdout, and a copy held there would keep it open; the
 * process settles its tasks (settle_tasks) before it exits. With on_this_cpu the task
 * starts on the CPU this runs on (task_cpus). The task's pid, or -errno; -ENOSYS without
 * close_range(2) (Linux 5.9).
 */
static int start_task(int (*body)(void *), void (*fill)(unsigned char *area, const void *arg), const void *arg, int on_this_cpu) {
  static int has_close_range = -1;
  if (has_close_range < 0) has_close_range = raw_syscall(SYS_close_range, ~0U, ~0U, 0, 0, 0, 0) == 0;
  if (!has_close_range) return -ENOSYS;
  unsigned char *area = mmap(NULL, CLONE_AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return -errno;
  fill(area, arg);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pinned = on_this_cpu && pin_to_this_cpu();
  int pid = clone(body, area + CLONE_AREA, CLONE_VM, area);
  int e = errno;
  if (pinned) sched_setaffinity(0, sizeof task_cpus, &task_cpus);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (pid < 0) {
    munmap(area, CLONE_AREA);
    return -e;
  }
  tasks_started++;
  return pid;
}

struct send_arg {
  int nsfd;
  const void *data;
  size_t len;
};

static void fill_send(unsigned char *area, const void *arg) {
  const struct send_arg *s = arg;
  struct detached *d = (struct detached *)area;
  d->nsfd = s->nsfd;
  d->len = s->len;
  memcpy(d->msg, s->data, s->len);
}

/* The request sent by a task of its own (start_task), which then waits for the kernel's answer. */
static int clone_send(int nsfd, const void *data, size_t len) {
  if (len > CLONE_AREA / 2) return -ENOSYS;
  struct send_arg s = {nsfd, data, len};
  int e = start_task(clone_body, fill_send, &s, 0);
  if (e < 0) return e;
  /* The task has its own copy of nsfd. */
  close(nsfd);
  return 0;
}

/*
 * The read end of a pipe whose write end only this process holds (close-on-exec, never
 * closed here): a read of it returns end-of-file once the process has exited.
 */
static int exit_pipe_r = -1;

static int exit_pipe(void) {
  if (exit_pipe_r >= 0) return exit_pipe_r;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -errno;
  exit_pipe_r = p[0];
  return exit_pipe_r;
}

struct closer {
  int fd;
  int exit_r;
};

static void fill_close(unsigned char *area, const void *arg) { memcpy(area, arg, sizeof(struct closer)); }

/* Waits until the process has exited: end-of-file on the exit pipe, whose only write end the process held. */
static void wait_for_exit(int exit_r) {
  char b;
  long n;
  do n = raw_syscall(SYS_read, exit_r, (long)&b, 1, 0, 0, 0);
  while (n > 0 || n == -EINTR);
}

/*
 * The body of a clone_close task: drop every descriptor of its copy of the table but
 * the one to close and the exit pipe's read end, wait until the process has exited and
 * then LATE_CLOSE_NS, then close the descriptor, its last reference, and end.
 */
static int close_body(void *p) {
  const struct closer *c = p;
  int lo = c->fd < c->exit_r ? c->fd : c->exit_r, hi = c->fd < c->exit_r ? c->exit_r : c->fd;
  if (lo > 0) raw_syscall(SYS_close_range, 0, lo - 1, 0, 0, 0, 0);
  if (hi > lo + 1) raw_syscall(SYS_close_range, lo + 1, hi - 1, 0, 0, 0, 0);
  raw_syscall(SYS_close_range, hi + 1, ~0U, 0, 0, 0, 0);
  task_started();
  wait_for_exit(c->exit_r);
  struct timespec t = {0, LATE_CLOSE_NS};
  while (raw_syscall(SYS_nanosleep, (long)&t, (long)&t, 0, 0, 0, 0) == -EINTR) {
  }
  raw_syscall(SYS_close, c->fd, 0, 0, 0, 0, 0);
  return 0;
}

/* fd's last close made by a task of its own after this process has exited; this process's copy is closed now. */
static int clone_close(int fd) {
  int r = exit_pipe();
  if (r < 0) return r;
  struct closer c = {fd, r};
  int e = start_task(close_body, fill_close, &c, 1);
  if (e < 0) return e;
  close(fd);
  return 0;
}

static void fill_fd(unsigned char *area, const void *arg) { memcpy(area, arg, sizeof(int)); }

/*
 * The body of an unmap_after_exit task: drop every descriptor of its copy of the table
 * but the pidfd of the process, wait until the process has exited, and end. The process's
 * exit then only let go of the memory; this task, its last user, unmaps it. It waits for
 * the process's exit status to be posted (the pidfd), not for its descriptors to close
 * (the exit pipe): woken earlier, it took the CPU from the exiting process, whose parent
 * then heard of the exit later (no-op ADD pairs: through Go's os/exec 9.88 ms with the
 * pipe against 9.74 with the pidfd, through a C parent 9.63 against 9.33).
 */
static int hold_body(void *p) {
  int pfd = *(const int *)p;
  if (pfd > 0) raw_syscall(SYS_close_range, 0, pfd - 1, 0, 0, 0, 0);
  raw_syscall(SYS_close_range, pfd + 1, ~0U, 0, 0, 0, 0);
  task_started();
  struct pollfd w = {.fd = pfd, .events = POLLIN};
  while (raw_syscall(SYS_ppoll, (long)&w, 1, 0, 0, 0, 0) == -EINTR) {
  }
  return 0;
}

/* A task of its own that shares the memory until this process has exited (hold_body); its pid, or -errno. */
static int unmap_after_exit(void) {
  int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (pfd < 0) return -errno;
  int pid = start_task(hold_body, fill_fd, &pfd, 1);
  /* The task has its own copy. */
  close(pfd);
  return pid;
}
#else
static int clone_send(int nsfd, const void *data, size_t len) {
  (void)nsfd, (void)data, (void)len;
  return -ENOSYS;
}
static int clone_close(int fd) {
  (void)fd;
  return -ENOSYS;
}
static int unmap_after_exit(void) { return -ENOSYS; }
static void settle_tasks(void) {}
#endif

/*
 * A detached thread running fn(arg), with a small stack and every signal blocked (the
 * process's signals stay with the runtime's threads); 0, or pthread_create's error.
 */
static int start_detached_thread(void *(*fn)(void *), void *arg) {
  pthread_attr_t attr;
  pthread_t t;
  sigset_t all, old;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int e = pthread_create(&t, &attr, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  return e;
}

/*
 * sendDetached(fd, msg, asProcess): the rtnetlink request msg sent by a new detached
 * thread, from a socket of its own in the network namespace of socket fd; 0 once it
 * runs (its outcome is not reported: the caller looks at the kernel's state), or -errno.
 * For a request whose answer the kernel sends only after work nobody needs to wait for:
 * an RTM_DELLINK is answered after netdev_run_todo's rcu_barrier (a whole RCU grace
 * period, 10-30 ms here), long after the device was taken out. With asProcess (a
 * short-lived plugin process) the sender is a task of its own instead (clone_send), so
 * the process's exit does not wait for it; a thread when that cannot be done here.
 */
FN(send_detached) {
  ARGS void *data;
  size_t len;
  bytes(&a, 1, &data, &len);
  if (!data || !len) return einval(env);
  int nsfd = ioctl((int)num(&a, 0), SIOCGSKNS);
  if (nsfd < 0) return ret(env, -1);
  if (num(&a, 2) && clone_send(nsfd, data, len) == 0) return ret(env, 0);
  struct detached *d = malloc(sizeof *d + len);
  if (!d) {
    close(nsfd);
    return ret(env, (errno = ENOMEM, -1));
  }
  d->nsfd = nsfd;
  d->len = len;
  memcpy(d->msg, data, len);
  int e = start_detached_thread(detached_send, d);
  if (e) {
    close(nsfd);
    free(d);
    return ret(env, (errno = e, -1));
  }
  return ret(env, 0);
}

/* A detached thread's close: after LATE_CLOSE_NS (see closeDetached). */
static void *detached_close(void *p) {
  struct timespec t = {0, LATE_CLOSE_NS};
  while (nanosleep(&t, &t) < 0 && errno == EINTR) {
  }
  close((int)(intptr_t)p);
  return NULL;
}

/*
 * closeDetached(fd, asProcess): fd's close made where nobody waits for it; 0 once that is
 * arranged (this process's copy is then closed or handed over), or -errno and fd is still
 * open. For a netfilter netlink socket: its last close flushes nf_tables' destroy work,
 * waiting out a whole RCU grace period after the namespace's last transaction, and does
 * so holding the namespace's nf_tables commit mutex, which every other transaction and
 * every network device's unregistration in the namespace (nf_tables' netdev notifier)
 * then waits for. So the close is made once the destroy work has run by itself
 * (LATE_CLOSE_NS), and holds the mutex only for a moment: with asProcess (a short-lived
 * plugin process) by a task of its own after the process has exited (clone_close), not
 * while the runtime's next plugin process works; otherwise (the daemon, a CLI run) by a
 * detached thread. Made at once, the daemon's close held the mutex while the same DEL
 * deleted its veth pair (bridge DEL with ipMasq through the daemon: 24.6 ms, 10.0 ms with
 * the close late).
 */
FN(close_detached) {
  ARGS int fd = (int)num(&a, 0);
  if (fd < 0) return einval(env);
  if (num(&a, 1) && clone_close(fd) == 0) return ret(env, 0);
  int e = start_detached_thread(detached_close, (void *)(intptr_t)fd);
  return ret(env, e ? (errno = e, -1) : 0);
}

/*
 * unmapAfterExit(): the process's memory unmapped by a task of its own after the process
 * has exited (unmap_after_exit); the task's pid, or -errno. A process's exit unmaps its
 * memory (exit_mm) before it closes its descriptors and tells its parent: for a plugin
 * process, the 110 MB binary's pages and the heap, about 1 ms here that the runtime waits
 * for, on stdout's end-of-file and the exit status, after the answer is written. While
 * another task shares the memory, the exit only lets go of it. For the end of a
 * short-lived plugin process only (a daemon's memory is no one's wait).
 */
FN(unmap_after_exit) {
  (void)info;
  int pid = unmap_after_exit();
  if (pid < 0) errno = -pid;
  return ret(env, pid);
}

/*
 * settleTasks(): returns once every task this process started (sendDetached, closeDetached,
 * unmapAfterExit, as a process) has dropped its copy of the descriptor table, the
 * plugin's stdout among them: the last call before a plugin process's exit.
 */
FN(settle_tasks) {
  (void)info;
  settle_tasks();
  return ret(env, 0);
}

napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"openat", js_openat},     {"close", js_close}, {"setns", js_setns},   {"unshare", js_unshare}, {"mount", js_mount},
      {"socket", js_socket}, {"bind", js_bind},   {"setsockopt", js_setsockopt}, {"sendto", js_sendto}, {"recvfrom", js_recvfrom},
      {"flock", js_flock},   {"ioctl", js_ioctl}, {"ioctlBuf", js_ioctl_buf}, {"statx", js_statx},   {"read", js_read},
      {"write", js_write},   {"fsync", js_fsync}, {"ftruncate", js_ftruncate}, {"getdents64", js_getdents64}, {"rename", js_rename}, {"link", js_link}, {"unlink", js_unlink},   {"mkdir", js_mkdir},
      {"rmdir", js_rmdir},
      {"gettid", js_gettid},  {"utf8", js_utf8},     {"writeText", js_write_text}, {"sendDetached", js_send_detached},
      {"closeDetached", js_close_detached}, {"unmapAfterExit", js_unmap_after_exit},
      {"settleTasks", js_settle_tasks},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, (size_t)-1, fns[i].fn, NULL, &f) != 0) return NULL;
    if (napi_set_named_property(env, exports, fns[i].name, f) != 0) return NULL;
  }
  return exports;
}
