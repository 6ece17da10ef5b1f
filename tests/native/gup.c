// SPDX-License-Identifier: GPL-2.0
/*
 * memphys-probe: what the kernel's page pinning (get_user_pages and
 * pin_user_pages) makes of a memphys mapping: process_vm_readv(),
 * /proc/self/mem, vmsplice() + splice() to a file, O_DIRECT reads, and
 * module unload while a pipe still holds pages of the region.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/memphys.h>

#include "probe.h"

/*
 * Word k of the pattern of @seed, SplitMix64(seed, k) as in word(), which
 * is word k = i * (PAGE / 8) of it.
 */
static uint64_t pattern_word(uint64_t seed, uint64_t k)
{
	uint64_t z = seed + (k + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill(volatile uint64_t *p, size_t bytes, uint64_t seed,
		 uint64_t first)
{
	size_t k;

	for (k = 0; k < bytes / 8; k++)
		p[k] = pattern_word(seed, first + k);
}

/* Byte offset of the first word that differs from the pattern, or -1. */
static long long mismatch(const volatile uint64_t *p, size_t bytes,
			  uint64_t seed, uint64_t first)
{
	size_t k;

	for (k = 0; k < bytes / 8; k++)
		if (p[k] != pattern_word(seed, first + k))
			return (long long)k * 8;
	return -1;
}

static const char *outcome(long ret, size_t want, const uint64_t *buf,
			   size_t bytes, uint64_t seed)
{
	static char text[64];

	if (ret < 0)
		return errname(errno);
	if ((size_t)ret != want) {
		snprintf(text, sizeof(text), "SHORT(%ld)", ret);
		return text;
	}
	if (mismatch(buf, bytes, seed, 0) >= 0)
		return "MISMATCH";
	return "OK";
}

static const char *try_process_vm_readv(volatile uint64_t *map, size_t len,
					uint64_t seed)
{
	uint64_t *buf = calloc(1, len);
	struct iovec local = { buf, len }, remote = { (void *)map, len };
	const char *r;
	long ret;

	if (!buf)
		die("calloc");
	ret = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	r = outcome(ret, len, buf, len, seed);
	free(buf);
	return r;
}

static const char *try_proc_mem(volatile uint64_t *map, size_t len,
				uint64_t seed)
{
	uint64_t *buf = calloc(1, len);
	int fd = open("/proc/self/mem", O_RDONLY);
	const char *r;
	long ret;

	if (!buf || fd < 0)
		die("/proc/self/mem");
	ret = pread(fd, buf, len, (off_t)(uintptr_t)map);
	r = outcome(ret, len, buf, len, seed);
	close(fd);
	free(buf);
	return r;
}

/* Move @len bytes from the pipe @in to the file @out. */
static void splice_all(int in, int out, size_t len)
{
	while (len) {
		ssize_t n = splice(in, NULL, out, NULL, len, 0);

		if (n <= 0)
			die("splice");
		len -= n;
	}
}

/*
 * vmsplice() the mapping into a pipe chunk by chunk and splice() each chunk
 * on into a file (the pipe then refers to the region's pages, not a copy),
 * then read the file back.
 */
static const char *try_vmsplice(volatile uint64_t *map, size_t len,
				uint64_t seed)
{
	char path[] = "/tmp/memphys-vmsplice-XXXXXX";
	int pipefd[2], out = mkstemp(path);
	size_t done = 0, chunk;
	uint64_t *buf;
	const char *r;
	long ret = 0;

	if (out < 0 || pipe(pipefd))
		die("vmsplice setup");
	unlink(path);
	chunk = (size_t)fcntl(pipefd[1], F_GETPIPE_SZ);
	while (done < len) {
		struct iovec iov = { (char *)map + done,
				     len - done < chunk ? len - done : chunk };

		ret = vmsplice(pipefd[1], &iov, 1, 0);
		if (ret <= 0)
			break;
		splice_all(pipefd[0], out, ret);
		done += ret;
	}
	close(pipefd[0]);
	close(pipefd[1]);
	if (ret < 0) {
		close(out);
		return errname(errno);
	}
	buf = calloc(1, len);
	if (!buf)
		die("calloc");
	ret = pread(out, buf, len, 0);
	r = outcome(ret, len, buf, len, seed);
	free(buf);
	close(out);
	return r;
}

/*
 * gup DEV METHOD PAGES: map PAGES pages with METHOD, write a pattern, and
 * read it back through process_vm_readv(), /proc/self/mem and vmsplice():
 * each gives OK, MISMATCH, SHORT(n) or the errno.
 */
int cmd_gup(char **argv)
{
	int fd = open_dev(argv[0]);
	size_t len = strtoul(argv[2], NULL, 0) * PAGE;
	volatile uint64_t *map;
	const char *a, *b, *c;

	set_method(fd, parse_method(argv[1]));
	map = map_shared(fd, len, 0);
	fill(map, len, 11, 0);
	a = try_process_vm_readv(map, len, 11);
	b = try_proc_mem(map, len, 11);
	c = try_vmsplice(map, len, 11);
	printf("result: process_vm_readv=%s proc_mem=%s vmsplice=%s\n", a, b, c);
	return 0;
}

/* fill-file PATH BYTES SEED: write the pattern of SEED into a file. */
int cmd_fill_file(char **argv)
{
	size_t bytes = strtoull(argv[1], NULL, 0), chunk = 1 << 20, done;
	uint64_t seed = strtoull(argv[2], NULL, 0);
	int fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	uint64_t *buf = malloc(chunk);

	if (fd < 0 || !buf)
		die(argv[0]);
	for (done = 0; done < bytes; done += chunk) {
		fill(buf, chunk, seed, done / 8);
		if (pwrite(fd, buf, chunk, done) != (ssize_t)chunk)
			die("pwrite");
	}
	if (fsync(fd) || close(fd))
		die("fsync");
	free(buf);
	printf("result: OK\n");
	return 0;
}

/*
 * odirect DEV METHOD FILE BYTES SEED: map BYTES of the region, read FILE
 * into the mapping with O_DIRECT (8 MiB per read, so the block layer pins
 * the region's pages), and check every word against the pattern of SEED.
 */
int cmd_odirect(char **argv)
{
	int dev = open_dev(argv[0]);
	int fd = open(argv[2], O_RDONLY | O_DIRECT);
	size_t len = strtoull(argv[3], NULL, 0), chunk = 8 << 20, done;
	uint64_t seed = strtoull(argv[4], NULL, 0);
	volatile uint64_t *map;
	long long bad;
	ssize_t ret;

	if (fd < 0)
		die(argv[2]);
	set_method(dev, parse_method(argv[1]));
	map = map_shared(dev, len, 0);
	for (done = 0; done < len; done += ret) {
		ret = pread(fd, (char *)map + done,
			    len - done < chunk ? len - done : chunk, done);
		if (ret <= 0) {
			printf("result: %s at %zu\n",
			       ret ? errname(errno) : "EOF", done);
			return 0;
		}
	}
	bad = mismatch(map, len, seed, 0);
	if (bad >= 0)
		printf("result: MISMATCH at %lld\n", bad);
	else
		printf("result: OK %zu\n", len);
	return 0;
}

static int unload(const char *module)
{
	return syscall(SYS_delete_module, module, O_NONBLOCK) ? errno : 0;
}

/*
 * pin-unload DEV MODULE PAGES: with a pages mapping of PAGES pages, and
 * then with only a pipe holding them (vmsplice(), munmap(), close()), the
 * module must refuse to unload; once the pipe is drained it must unload
 * (within 10 s: the driver rechecks its pages periodically).  Prints the
 * errno of each unload and how long the last one took to succeed.
 */
int cmd_pin_unload(char **argv)
{
	size_t len = strtoul(argv[2], NULL, 0) * PAGE;
	int fd = open_dev(argv[0]), pipefd[2], mapped, pinned, after = -1;
	volatile uint64_t *map;
	struct iovec iov;
	struct timespec t0, t1;
	char *sink;
	long ms;

	if (pipe(pipefd) || fcntl(pipefd[1], F_SETPIPE_SZ, (int)len) < (int)len)
		die("pipe");
	set_method(fd, MEMPHYS_METHOD_PAGES);
	map = map_shared(fd, len, 0);
	fill(map, len, 12, 0);
	iov.iov_base = (void *)map;
	iov.iov_len = len;
	if (vmsplice(pipefd[1], &iov, 1, 0) != (ssize_t)len)
		die("vmsplice");
	mapped = unload(argv[1]);
	munmap((void *)map, len);
	close(fd);
	/* Give the driver's recheck time to run: it must not let go. */
	usleep(500000);
	pinned = unload(argv[1]);
	sink = malloc(len);
	if (!sink || read(pipefd[0], sink, len) != (ssize_t)len)
		die("drain");
	if (mismatch((uint64_t *)sink, len, 12, 0) >= 0)
		printf("memphys-probe: the pipe's data differs from what was written\n");
	close(pipefd[0]);
	close(pipefd[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		after = unload(argv[1]);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 +
		     (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (after == EAGAIN || after == EBUSY)
			usleep(20000);
	} while ((after == EAGAIN || after == EBUSY) && ms < 10000);
	printf("result: mapped=%s pinned=%s drained=%s ms=%ld\n",
	       errname(mapped), errname(pinned), errname(after), ms);
	free(sink);
	return 0;
}

/*
 * Wait up to @ms for module @name's initstate to read "going": its
 * delete_module() has begun its exit function (a forced unload that waits
 * in it stays so).  Whether it got there.
 */
static int module_going(const char *name, long ms)
{
	char path[256], state[16];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
	for (; ms > 0; ms -= 20) {
		f = fopen(path, "r");
		if (f) {
			int going = fgets(state, sizeof(state), f) &&
				    !strncmp(state, "going", 5);

			fclose(f);
			if (going)
				return 1;
		}
		usleep(20000);
	}
	return 0;
}

/*
 * pin-force-unload DEV MODULE PAGES: a pipe holds PAGES pages of a pages
 * mapping (vmsplice(), munmap(), close()); a child forces the unload
 * (delete_module with O_TRUNC, rmmod -f; needs MODULE_FORCE_UNLOAD).  The
 * driver must not free the pinned pages: the forced unload waits until the
 * pipe lets them go.  Prints whether the child was still waiting once its
 * unload was under way (initstate "going"), whether the pipe's data was
 * intact, and the child's errno once drained.
 */
int cmd_pin_force_unload(char **argv)
{
	size_t len = strtoul(argv[2], NULL, 0) * PAGE;
	int fd = open_dev(argv[0]), pipefd[2], status, waiting;
	volatile uint64_t *map;
	struct iovec iov;
	char *sink;
	pid_t child;

	if (pipe(pipefd) || fcntl(pipefd[1], F_SETPIPE_SZ, (int)len) < (int)len)
		die("pipe");
	set_method(fd, MEMPHYS_METHOD_PAGES);
	map = map_shared(fd, len, 0);
	fill(map, len, 13, 0);
	iov.iov_base = (void *)map;
	iov.iov_len = len;
	if (vmsplice(pipefd[1], &iov, 1, 0) != (ssize_t)len)
		die("vmsplice");
	munmap((void *)map, len);
	close(fd);
	child = fork();
	if (child < 0)
		die("fork");
	if (!child)
		_exit(syscall(SYS_delete_module, argv[1], O_NONBLOCK | O_TRUNC) ?
		      errno : 0);
	module_going(argv[1], 10000);
	waiting = waitpid(child, &status, WNOHANG) == 0;
	sink = malloc(len);
	if (!sink || read(pipefd[0], sink, len) != (ssize_t)len)
		die("drain");
	printf("result: forced=%s data=%s",
	       waiting ? "waiting" : "returned",
	       mismatch((uint64_t *)sink, len, 13, 0) >= 0 ? "differs" : "intact");
	close(pipefd[0]);
	close(pipefd[1]);
	if (waiting && waitpid(child, &status, 0) != child)
		die("waitpid");
	printf(" unload=%s\n", WIFEXITED(status) ?
	       errname(WEXITSTATUS(status)) : "killed");
	free(sink);
	return 0;
}

/*
 * map-force-unload DEV MODULE PAGES: a pages mapping of PAGES pages stays
 * (no pin; the file is closed); a child forces the unload (rmmod -f) and is
 * then sent SIGKILL.  The area's close and faults run the module's code,
 * so the killed unload must go on waiting while the area exists.  Prints
 * whether the child waited once its unload was under way (initstate
 * "going"), whether it still waited 2 s after the kill with the module
 * still loaded, whether the mapping's data was intact, and how the child
 * ended once the mapping was gone.
 */
int cmd_map_force_unload(char **argv)
{
	size_t len = strtoul(argv[2], NULL, 0) * PAGE;
	int fd = open_dev(argv[0]), go[2], status, waiting, held = 0;
	volatile uint64_t *map;
	char sys[256];
	int loaded;
	pid_t child;

	/* The child forks before the mapping exists: it must not share it. */
	if (pipe(go))
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (!child) {
		char c;

		close(fd);
		_exit(read(go[0], &c, 1) != 1 ? EPIPE :
		      syscall(SYS_delete_module, argv[1], O_NONBLOCK | O_TRUNC) ?
		      errno : 0);
	}
	set_method(fd, MEMPHYS_METHOD_PAGES);
	map = map_shared(fd, len, 0);
	fill(map, len, 14, 0);
	close(fd);
	if (write(go[1], "g", 1) != 1)
		die("write");
	/* Kill it only once its delete_module() is under way, not before. */
	module_going(argv[1], 10000);
	waiting = waitpid(child, &status, WNOHANG) == 0;
	if (waiting) {
		kill(child, SIGKILL);
		sleep(2);
		held = waitpid(child, &status, WNOHANG) == 0;
	}
	snprintf(sys, sizeof(sys), "/sys/module/%s", argv[1]);
	loaded = !access(sys, F_OK);
	printf("result: forced=%s killed=%s loaded=%s data=%s",
	       waiting ? "waiting" : "returned",
	       held ? "waiting" : "returned", loaded ? "yes" : "no",
	       mismatch(map, len, 14, 0) >= 0 ? "differs" : "intact");
	munmap((void *)map, len);
	if (held && waitpid(child, &status, 0) != child)
		die("waitpid");
	printf(" unload=%s\n", WIFEXITED(status) ?
	       errname(WEXITSTATUS(status)) :
	       WTERMSIG(status) == SIGKILL ? "killed" : "signal");
	close(go[0]);
	close(go[1]);
	return 0;
}
