// SPDX-License-Identifier: GPL-2.0
/*
 * memphys-probe fuzz DEVS SECONDS SEED THREADS: a seeded fuzzer of the
 * driver's own surface.  THREADS threads (each with its own xorshift
 * stream, SEED + its index) run random sequences of open/close, every
 * ioctl with random and boundary arguments, mmap/munmap/mremap/mprotect/
 * madvise, touches of the mappings, fork, read/write/pread/pwrite/lseek, on
 * the devices of the comma-separated DEVS, sharing one descriptor per
 * device (so that SET_* races mmap) besides descriptors of their own.
 *
 * A kernel bug shows in the kernel log, which the harness scans; the
 * fuzzer itself fails on an errno a call must never return (each call has
 * its list) or a signal outside a touch, and then prints the seed, the
 * thread, the operation number and the call.  Same SEED, same sequences
 * per thread (the interleaving of threads is the scheduler's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/memphys.h>

#include "probe.h"

/* Older C libraries lack the newer advice values. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define FUZZ_MAX_DEVS	8
#define FUZZ_MAX_THREADS	16
#define FUZZ_FDS	4	/* descriptors of its own per thread */
#define FUZZ_MAPS	8	/* mappings per thread */
#define FUZZ_IO_MAX	(64 << 10)

struct fuzz_map {
	char *addr;
	size_t len;
	int prot;
};

struct fuzz_thread {
	pthread_t tid;
	unsigned int index;
	uint64_t state;		/* xorshift64 */
	uint64_t ops;
	uint64_t signals;	/* SIGSEGV/SIGBUS in touches, recovered */
	uint64_t refused;	/* calls that failed with an allowed errno */
	int fds[FUZZ_FDS];
	struct fuzz_map maps[FUZZ_MAPS];
	char *io;		/* FUZZ_IO_MAX scratch bytes */
};

static const char *fuzz_devs[FUZZ_MAX_DEVS];
static uint64_t fuzz_sizes[FUZZ_MAX_DEVS];
static int fuzz_shared[FUZZ_MAX_DEVS];
static unsigned int fuzz_nr_devs;
static uint64_t fuzz_seed;
static time_t fuzz_end;
static void *fuzz_noaccess;	/* a PROT_NONE page: EFAULT for the kernel */
static pthread_mutex_t fuzz_fail_lock = PTHREAD_MUTEX_INITIALIZER;

static __thread sigjmp_buf fuzz_jmp;
static __thread volatile sig_atomic_t fuzz_in_touch;
static __thread struct fuzz_thread *fuzz_self;
static __thread const char *fuzz_op = "start";

static uint64_t rnd(struct fuzz_thread *t)
{
	t->state ^= t->state << 13;
	t->state ^= t->state >> 7;
	t->state ^= t->state << 17;
	return t->state;
}

static uint64_t below(struct fuzz_thread *t, uint64_t n)
{
	return n ? rnd(t) % n : 0;
}

static void fuzz_fail(struct fuzz_thread *t, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&fuzz_fail_lock);
	printf("result: FAIL seed %" PRIu64 " thread %u op %" PRIu64 ": ",
	       fuzz_seed, t->index, t->ops);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	_exit(1);
}

/* errno of a failed call must be one of the 0-terminated list. */
static void expect(struct fuzz_thread *t, long ret, const char *call, ...)
{
	va_list ap;
	int err = errno, ok;

	if (ret >= 0)
		return;
	va_start(ap, call);
	while ((ok = va_arg(ap, int)) != 0 && ok != err)
		;
	va_end(ap);
	if (!ok)
		fuzz_fail(t, "%s: unexpected %s", call, errname(err));
	t->refused++;
}

static void on_signal(int sig)
{
	if (fuzz_in_touch)
		siglongjmp(fuzz_jmp, sig);
	/* Not async-signal-safe, but the process ends here anyway. */
	printf("result: FAIL seed %" PRIu64 " thread %u op %" PRIu64
	       ": signal %d during %s\n", fuzz_seed,
	       fuzz_self ? fuzz_self->index : 0,
	       fuzz_self ? fuzz_self->ops : 0, sig, fuzz_op);
	fflush(stdout);
	_exit(1);
}

/* A length or offset from the boundary values, or a random one. */
static uint64_t fuzz_size(struct fuzz_thread *t, uint64_t region)
{
	static const uint64_t sizes[] = {
		0, 1, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE, 16 * PAGE,
		(2 << 20) - PAGE, 2 << 20, (2 << 20) + PAGE, 4 << 20,
		1ULL << 30, UINT64_MAX, UINT64_MAX - PAGE + 1, 1ULL << 63,
	};

	switch (below(t, 8)) {
	case 0:
		return region;
	case 1:
		return region - PAGE * below(t, 3);
	case 2:
	case 3:
		return PAGE * (1 + below(t, 512));
	default:
		return sizes[below(t, sizeof(sizes) / sizeof(sizes[0]))];
	}
}

static int pick_fd(struct fuzz_thread *t, unsigned int *dev)
{
	unsigned int i = below(t, FUZZ_FDS + fuzz_nr_devs);

	*dev = below(t, fuzz_nr_devs);
	if (i >= FUZZ_FDS || t->fds[i] < 0)
		return fuzz_shared[*dev];
	*dev = i % fuzz_nr_devs;	/* own fds: device by slot */
	return t->fds[i];
}

static void op_open_close(struct fuzz_thread *t)
{
	unsigned int i = below(t, FUZZ_FDS);

	fuzz_op = "open/close";
	if (t->fds[i] >= 0) {
		expect(t, close(t->fds[i]), "close", 0);
		t->fds[i] = -1;
		return;
	}
	t->fds[i] = open(fuzz_devs[i % fuzz_nr_devs],
			 below(t, 4) ? O_RDWR : O_RDONLY);
	expect(t, t->fds[i], "open", EMFILE, ENFILE, 0);
}

static void op_ioctl(struct fuzz_thread *t)
{
	static const unsigned long cmds[] = {
		MEMPHYS_IOC_GET_INFO, MEMPHYS_IOC_SET_METHOD,
		MEMPHYS_IOC_SET_CACHING, MEMPHYS_IOC_SET_MAX_FAULT,
		MEMPHYS_IOC_GET_STATS, MEMPHYS_IOC_RESET_STATS,
		MEMPHYS_IOC_QUERY_PAGE, MEMPHYS_IOC_SET_FAULT_AROUND,
	};
	union {
		struct memphys_setting set;
		struct memphys_page_query query;
		struct memphys_info info;
		struct memphys_stats stats;
	} arg;
	unsigned int dev;
	int fd = pick_fd(t, &dev);
	unsigned long cmd = cmds[below(t, sizeof(cmds) / sizeof(cmds[0]))];
	void *p = &arg;
	long ret;

	fuzz_op = "ioctl";
	memset(&arg, 0, sizeof(arg));
	switch (below(t, 16)) {
	case 0:
		cmd = rnd(t) & 0xffffffff;	/* any number at all */
		break;
	case 1:
		cmd ^= 1UL << below(t, 32);	/* a near miss */
		break;
	case 2:
		p = NULL;
		break;
	case 3:
		p = fuzz_noaccess;
		break;
	default:
		break;
	}
	if (cmd == MEMPHYS_IOC_QUERY_PAGE && t->maps[0].addr && below(t, 2))
		arg.query.address = (uintptr_t)t->maps[below(t, FUZZ_MAPS)].addr +
				    PAGE * below(t, 4);
	else if (cmd == MEMPHYS_IOC_QUERY_PAGE)
		arg.query.address = rnd(t);
	else if (cmd == MEMPHYS_IOC_SET_METHOD)
		arg.set.value = below(t, 8) ? below(t, MEMPHYS_METHOD_COUNT + 1)
					    : rnd(t);
	else if (cmd == MEMPHYS_IOC_SET_FAULT_AROUND)
		arg.set.value = below(t, 4) ? 1ULL << below(t, 11) : rnd(t);
	else if (cmd == MEMPHYS_IOC_SET_CACHING)
		arg.set.value = below(t, MEMPHYS_CACHE_COUNT + 2);
	else
		arg.set.value = fuzz_size(t, fuzz_sizes[dev]);
	if (!below(t, 16))
		arg.set.reserved = rnd(t);
	ret = ioctl(fd, cmd, p);
	expect(t, ret, "ioctl", EINVAL, ENOTTY, EFAULT, EOPNOTSUPP, EBUSY,
	       EBADF, 0);
}

static int fuzz_prot(struct fuzz_thread *t)
{
	static const int prots[] = {
		PROT_READ, PROT_READ | PROT_WRITE, PROT_NONE,
		PROT_READ | PROT_WRITE | PROT_EXEC, PROT_WRITE,
	};

	return below(t, 4) ? prots[below(t, 2)] : prots[below(t, 5)];
}

static void op_mmap(struct fuzz_thread *t)
{
	struct fuzz_map *m = &t->maps[below(t, FUZZ_MAPS)];
	unsigned int dev;
	int fd = pick_fd(t, &dev);
	uint64_t len = fuzz_size(t, fuzz_sizes[dev]);
	uint64_t off = below(t, 4) ? PAGE * below(t, 1024) :
				     fuzz_size(t, fuzz_sizes[dev]);
	int flags = below(t, 4) ? MAP_SHARED : MAP_PRIVATE;
	int prot = fuzz_prot(t);
	void *p;

	fuzz_op = "mmap";
	if (m->addr)
		return;
	/* Whole-region mappings now and then only: TCG is slow. */
	if (len > (64 << 20) && below(t, 8))
		len = 64 << 20;
	if (!below(t, 8))
		flags |= MAP_POPULATE;
	if (!below(t, 16))
		off |= below(t, PAGE);
	p = mmap(NULL, len, prot, flags, fd, off);
	if (p == MAP_FAILED) {
		expect(t, -1, "mmap", EINVAL, EPERM, ENOMEM, EACCES, EOVERFLOW,
		       ENODEV, EBADF, 0);
		return;
	}
	m->addr = p;
	m->len = len;
	m->prot = prot;
}

static struct fuzz_map *live_map(struct fuzz_thread *t)
{
	struct fuzz_map *m = &t->maps[below(t, FUZZ_MAPS)];

	return m->addr ? m : NULL;
}

static void op_munmap(struct fuzz_thread *t)
{
	struct fuzz_map *m = live_map(t);
	size_t pages;

	fuzz_op = "munmap";
	if (!m)
		return;
	pages = m->len / PAGE;
	if (pages > 2 && below(t, 3) == 0) {
		/* The tail: a split (refused for remap before 6.16). */
		size_t keep = 1 + below(t, pages - 1);

		if (munmap(m->addr + keep * PAGE, m->len - keep * PAGE) == 0)
			m->len = keep * PAGE;
		else
			expect(t, -1, "munmap tail", EINVAL, 0);
		return;
	}
	expect(t, munmap(m->addr, m->len), "munmap", 0);
	m->addr = NULL;
}

static void op_mremap(struct fuzz_thread *t)
{
	struct fuzz_map *m = live_map(t);
	size_t len;
	void *p;

	fuzz_op = "mremap";
	if (!m)
		return;
	len = below(t, 2) ? m->len + PAGE * (1 + below(t, 16)) :
			    PAGE * (1 + below(t, m->len / PAGE));
	p = mremap(m->addr, m->len, len, below(t, 2) ? MREMAP_MAYMOVE : 0);
	if (p == MAP_FAILED) {
		expect(t, -1, "mremap", EINVAL, EFAULT, ENOMEM, 0);
		return;
	}
	m->addr = p;
	m->len = len;
}

static void op_mprotect(struct fuzz_thread *t)
{
	struct fuzz_map *m = live_map(t);
	int prot = fuzz_prot(t);

	fuzz_op = "mprotect";
	if (!m)
		return;
	if (mprotect(m->addr, m->len, prot) == 0)
		m->prot = prot;
	else
		expect(t, -1, "mprotect", EACCES, EINVAL, EPERM, ENOMEM, 0);
}

static void op_madvise(struct fuzz_thread *t)
{
	static const int advice[] = {
		MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
		MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE,
		MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP, MADV_COLD,
		MADV_PAGEOUT, MADV_FREE, MADV_REMOVE, MADV_POPULATE_READ,
		MADV_POPULATE_WRITE, MADV_COLLAPSE,
	};
	struct fuzz_map *m = live_map(t);
	int adv = advice[below(t, sizeof(advice) / sizeof(advice[0]))];
	char call[32];

	fuzz_op = "madvise";
	if (!m)
		return;

	snprintf(call, sizeof(call), "madvise advice %d", adv);
	/* MADV_REMOVE of a shared device mapping: vfs_fallocate()'s ENODEV. */
	expect(t, madvise(m->addr, m->len, adv), call, EINVAL, EAGAIN,
	       EFAULT, ENOMEM, EPERM, EACCES, EOPNOTSUPP, EBUSY, ENODEV, 0);
}

/* Read or write a word of a mapping; a signal there is recovered. */
static void touch(struct fuzz_thread *t, struct fuzz_map *m, int write)
{
	volatile uint64_t *w;

	if (!(m->prot & PROT_READ) || (write && !(m->prot & PROT_WRITE)))
		return;
	w = (volatile uint64_t *)(m->addr + PAGE * below(t, m->len / PAGE) +
				  8 * below(t, PAGE / 8));
	fuzz_op = "touch";
	if (sigsetjmp(fuzz_jmp, 1)) {
		fuzz_in_touch = 0;
		t->signals++;
		return;
	}
	fuzz_in_touch = 1;
	if (write)
		*w = rnd(t);
	else
		(void)*w;
	fuzz_in_touch = 0;
}

static void op_touch(struct fuzz_thread *t)
{
	struct fuzz_map *m = live_map(t);
	int i;

	if (!m || m->len < PAGE)
		return;
	for (i = 0; i < 8; i++)
		touch(t, m, below(t, 2));
}

/* A child reads and writes what it inherited, then exits. */
static void op_fork(struct fuzz_thread *t)
{
	int status, i;
	pid_t pid;

	fuzz_op = "fork";
	pid = fork();
	if (pid < 0) {
		expect(t, -1, "fork", EAGAIN, ENOMEM, 0);
		return;
	}
	if (pid == 0) {
		for (i = 0; i < 16; i++) {
			struct fuzz_map *m = live_map(t);

			if (m && m->len >= PAGE)
				touch(t, m, below(t, 2));
		}
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fuzz_fail(t, "fork: child status %#x", status);
}

static void op_io(struct fuzz_thread *t)
{
	unsigned int dev;
	int fd = pick_fd(t, &dev);
	size_t len = below(t, 4) ? below(t, FUZZ_IO_MAX) :
				   fuzz_size(t, fuzz_sizes[dev]);
	off_t off = below(t, 2) ? (off_t)fuzz_size(t, fuzz_sizes[dev]) :
				  (off_t)below(t, fuzz_sizes[dev]);
	void *buf = below(t, 16) ? t->io : fuzz_noaccess;
	long ret;

	fuzz_op = "io";
	if (len > FUZZ_IO_MAX && buf == t->io)
		len = FUZZ_IO_MAX;
	switch (below(t, 5)) {
	case 0:
		ret = pread(fd, buf, len, off);
		break;
	case 1:
		ret = pwrite(fd, buf, len, off);
		break;
	case 2:
		ret = read(fd, buf, len);
		break;
	case 3:
		ret = write(fd, buf, len);
		break;
	default:
		ret = lseek(fd, off, (int)below(t, 5));
		break;
	}
	expect(t, ret, "read/write/lseek", EINVAL, EFAULT, EBADF, ENOMEM,
	       ENXIO, EOVERFLOW, 0);
}

static void *fuzz_run(void *arg)
{
	static void (*const ops[])(struct fuzz_thread *) = {
		op_open_close, op_ioctl, op_ioctl, op_ioctl, op_mmap, op_mmap,
		op_munmap, op_mremap, op_mprotect, op_madvise, op_touch,
		op_touch, op_touch, op_io, op_io, op_fork,
	};
	struct fuzz_thread *t = arg;
	unsigned int i;

	fuzz_self = t;
	while (time(NULL) < fuzz_end) {
		t->ops++;
		ops[below(t, sizeof(ops) / sizeof(ops[0]))](t);
	}
	for (i = 0; i < FUZZ_MAPS; i++)
		if (t->maps[i].addr)
			munmap(t->maps[i].addr, t->maps[i].len);
	for (i = 0; i < FUZZ_FDS; i++)
		if (t->fds[i] >= 0)
			close(t->fds[i]);
	return NULL;
}

int cmd_fuzz(char **argv)
{
	static struct fuzz_thread threads[FUZZ_MAX_THREADS];
	unsigned long nr = strtoul(argv[3], NULL, 0);
	char *devs = strdup(argv[0]), *dev, *save = NULL;
	uint64_t ops = 0, signals = 0, refused = 0;
	struct sigaction sa;
	unsigned int i, j;

	fuzz_seed = strtoull(argv[2], NULL, 0);
	if (!nr || nr > FUZZ_MAX_THREADS || !devs)
		die("fuzz: THREADS must be 1-16");
	for (dev = strtok_r(devs, ",", &save); dev && fuzz_nr_devs < FUZZ_MAX_DEVS;
	     dev = strtok_r(NULL, ",", &save)) {
		struct memphys_info info = { 0 };

		fuzz_devs[fuzz_nr_devs] = dev;
		fuzz_shared[fuzz_nr_devs] = open_dev(dev);
		if (ioctl(fuzz_shared[fuzz_nr_devs], MEMPHYS_IOC_GET_INFO, &info))
			die("MEMPHYS_IOC_GET_INFO");
		fuzz_sizes[fuzz_nr_devs++] = info.region_size;
	}
	fuzz_noaccess = mmap(NULL, PAGE, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fuzz_noaccess == MAP_FAILED)
		die("mmap PROT_NONE");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	fuzz_end = time(NULL) + strtol(argv[1], NULL, 0);
	printf("fuzz: seed %" PRIu64 ", %lu threads, %u device(s), %s s\n",
	       fuzz_seed, nr, fuzz_nr_devs, argv[1]);
	for (i = 0; i < nr; i++) {
		struct fuzz_thread *t = &threads[i];

		t->index = i;
		t->state = (fuzz_seed + i) * 0x9e3779b97f4a7c15ULL | 1;
		t->io = malloc(FUZZ_IO_MAX);
		if (!t->io)
			die("malloc");
		memset(t->io, 0x5a, FUZZ_IO_MAX);
		for (j = 0; j < FUZZ_FDS; j++)
			t->fds[j] = -1;
		if (pthread_create(&t->tid, NULL, fuzz_run, t))
			die("pthread_create");
	}
	for (i = 0; i < nr; i++) {
		pthread_join(threads[i].tid, NULL);
		ops += threads[i].ops;
		signals += threads[i].signals;
		refused += threads[i].refused;
	}
	printf("result: OK seed %" PRIu64 " ops %" PRIu64 " refused %" PRIu64
	       " signals %" PRIu64 "\n", fuzz_seed, ops, refused, signals);
	return 0;
}
