// SPDX-License-Identifier: GPL-2.0
/*
 * memphys-probe: what the C# device tests cannot express from a .NET
 * process: fork(), a child killed by a signal, dropped capabilities and
 * raw module syscalls.  Each subcommand prints one "result: ..." line
 * that the tests assert on, and exits 0 unless the probe itself broke.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/memphys.h>

#include "probe.h"

const char *errname(int err)
{
	switch (err) {
	case 0: return "OK";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ENOSPC: return "ENOSPC";
	case ERANGE: return "ERANGE";
	case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return strerror(err);
	}
}

void die(const char *what)
{
	fprintf(stderr, "memphys-probe: %s: %s\n", what, strerror(errno));
	exit(2);
}

int open_dev(const char *dev)
{
	int fd = open(dev, O_RDWR);

	if (fd < 0)
		die(dev);
	return fd;
}

void set_method(int fd, unsigned int method)
{
	struct memphys_setting s = { .value = method };

	if (ioctl(fd, MEMPHYS_IOC_SET_METHOD, &s))
		die("MEMPHYS_IOC_SET_METHOD");
}

static void set_max_fault(int fd, uint64_t bytes)
{
	struct memphys_setting s = { .value = bytes };

	if (ioctl(fd, MEMPHYS_IOC_SET_MAX_FAULT, &s))
		die("MEMPHYS_IOC_SET_MAX_FAULT");
}

volatile uint64_t *map_shared(int fd, size_t len, off_t off)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

unsigned int parse_method(const char *s)
{
	if (!strcmp(s, "remap"))
		return MEMPHYS_METHOD_REMAP;
	if (!strcmp(s, "fault"))
		return MEMPHYS_METHOD_FAULT;
	if (!strcmp(s, "pages"))
		return MEMPHYS_METHOD_PAGES;
	fprintf(stderr, "memphys-probe: method must be remap, fault or pages\n");
	exit(2);
}

/*
 * The memphys test pattern (Memphys.Pattern in the C# library): the 8 bytes at
 * region offset 8k are SplitMix64(seed, k).  word() is the one at the start of
 * region page i, which the C# tests read and write as Pattern.PageWord.
 */
uint64_t word(uint64_t seed, size_t i)
{
	uint64_t z = seed + (i * (PAGE / 8) + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * fork-share DEV METHOD PAGES: the parent writes a pattern, a forked
 * child must read it and write its own, which the parent must then see.
 */
static int cmd_fork_share(char **argv)
{
	int fd = open_dev(argv[0]);
	size_t pages = strtoul(argv[2], NULL, 0), i;
	volatile uint64_t *p;
	int status;
	pid_t pid;

	set_method(fd, parse_method(argv[1]));
	p = map_shared(fd, pages * PAGE, 0);
	for (i = 0; i < pages; i++)
		p[i * PAGE / 8] = word(1, i);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (i = 0; i < pages; i++) {
			if (p[i * PAGE / 8] != word(1, i))
				_exit(10);
			p[i * PAGE / 8] = word(2, i);
		}
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("result: child-failed status=%d\n", status);
		return 0;
	}
	for (i = 0; i < pages; i++) {
		if (p[i * PAGE / 8] != word(2, i)) {
			printf("result: parent-mismatch page=%zu\n", i);
			return 0;
		}
	}
	printf("result: shared\n");
	return 0;
}

/* mprotect-write DEV METHOD: a child writes to a page made read-only. */
static int cmd_mprotect_write(char **argv)
{
	int fd = open_dev(argv[0]);
	volatile uint64_t *p;
	int status;
	pid_t pid;

	set_method(fd, parse_method(argv[1]));
	p = map_shared(fd, 2 * PAGE, 0);
	(void)p[0];
	if (mprotect((void *)p, 2 * PAGE, PROT_READ))
		die("mprotect");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		p[0] = 1;
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	if (WIFSIGNALED(status))
		printf("result: signal %s\n", WTERMSIG(status) == SIGSEGV ?
		       "SIGSEGV" : strsignal(WTERMSIG(status)));
	else
		printf("result: exited %d\n", WEXITSTATUS(status));
	return 0;
}

/* open-without-rawio DEV: open the device with CAP_SYS_RAWIO dropped. */
static int cmd_open_without_rawio(char **argv)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	int fd;

	if (syscall(SYS_capget, &hdr, data))
		die("capget");
	data[CAP_SYS_RAWIO / 32].effective &= ~(1U << (CAP_SYS_RAWIO % 32));
	data[CAP_SYS_RAWIO / 32].permitted &= ~(1U << (CAP_SYS_RAWIO % 32));
	if (syscall(SYS_capset, &hdr, data))
		die("capset");
	fd = open(argv[0], O_RDWR);
	printf("result: %s\n", errname(fd < 0 ? errno : 0));
	return 0;
}

/* finit-module KO PARAMS: load a module and report the errno. */
static int cmd_finit_module(char **argv)
{
	int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	long ret;

	if (fd < 0)
		die(argv[0]);
	ret = syscall(SYS_finit_module, fd, argv[1], 0);
	printf("result: %s\n", errname(ret ? errno : 0));
	return 0;
}

/* delete-module NAME: unload like rmmod and report the errno. */
static int cmd_delete_module(char **argv)
{
	long ret = syscall(SYS_delete_module, argv[0], O_NONBLOCK);

	printf("result: %s\n", errname(ret ? errno : 0));
	return 0;
}

/*
 * touch-loop DEV METHOD: map the whole region and write every page over
 * and over until killed, one 4 KiB fault per page (no huge faults: the
 * point is to be killed in the middle of many); prints "ready" once the
 * mapping exists.
 */
static __attribute__((noreturn)) int cmd_touch_loop(char **argv)
{
	int fd = open_dev(argv[0]);
	struct memphys_info info;
	volatile uint64_t *p;
	size_t i;

	set_method(fd, parse_method(argv[1]));
	set_max_fault(fd, MEMPHYS_SIZE_4K);
	if (ioctl(fd, MEMPHYS_IOC_GET_INFO, &info))
		die("MEMPHYS_IOC_GET_INFO");
	p = map_shared(fd, info.region_size, 0);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		for (i = 0; i < info.region_size / PAGE; i++)
			p[i * PAGE / 8] = word(3, i);
}

/*
 * check-pattern DEV METHOD OFFSET PAGES SEED: an unrelated process maps the
 * range and checks the first word of each page against the seeded pattern
 * that the tests write (word(SEED, page index in region)).
 */
static int cmd_check_pattern(char **argv)
{
	int fd = open_dev(argv[0]);
	off_t off = strtoull(argv[2], NULL, 0);
	size_t pages = strtoul(argv[3], NULL, 0), i;
	uint64_t seed = strtoull(argv[4], NULL, 0);
	volatile uint64_t *p;

	set_method(fd, parse_method(argv[1]));
	p = map_shared(fd, pages * PAGE, off);
	for (i = 0; i < pages; i++) {
		uint64_t want = word(seed, off / PAGE + i);

		if (p[i * PAGE / 8] != want) {
			printf("result: mismatch page=%zu want=%#" PRIx64 " got=%#" PRIx64 "\n",
			       (size_t)(off / PAGE + i), want, p[i * PAGE / 8]);
			return 0;
		}
	}
	printf("result: match\n");
	return 0;
}

/*
 * own-writes DEV METHOD OWNER OWNERS SECONDS: for SECONDS, write round after
 * round over the pages this owner owns (page % OWNERS == OWNER), each round
 * starting at a random page, with word((OWNER << 32) | round, page).  Prints
 * the number of completed rounds, which fixes what every owned page holds.
 */
static int cmd_own_writes(char **argv)
{
	int fd = open_dev(argv[0]);
	uint64_t owner = strtoull(argv[2], NULL, 0);
	uint64_t owners = strtoull(argv[3], NULL, 0);
	time_t end = time(NULL) + strtol(argv[4], NULL, 0);
	struct memphys_info info;
	volatile uint64_t *p;
	uint64_t round, mine, k;

	set_method(fd, parse_method(argv[1]));
	if (ioctl(fd, MEMPHYS_IOC_GET_INFO, &info))
		die("MEMPHYS_IOC_GET_INFO");
	p = map_shared(fd, info.region_size, 0);
	mine = (info.region_size / PAGE - owner + owners - 1) / owners;
	srand(owner + 1);
	for (round = 0; time(NULL) < end; round++) {
		uint64_t start = (uint64_t)rand() % mine;

		for (k = 0; k < mine; k++) {
			uint64_t page = ((start + k) % mine) * owners + owner;

			p[page * PAGE / 8] = word((owner << 32) | round, page);
		}
	}
	printf("result: rounds %" PRIu64 "\n", round);
	return 0;
}

static const struct {
	const char *name;
	int argc;
	int (*run)(char **argv);
	const char *usage;
} commands[] = {
	{ "fork-share", 3, cmd_fork_share, "DEV remap|fault|pages PAGES" },
	{ "mprotect-write", 2, cmd_mprotect_write, "DEV remap|fault" },
	{ "open-without-rawio", 1, cmd_open_without_rawio, "DEV" },
	{ "finit-module", 2, cmd_finit_module, "KO PARAMS" },
	{ "delete-module", 1, cmd_delete_module, "NAME" },
	{ "touch-loop", 2, cmd_touch_loop, "DEV remap|fault" },
	{ "check-pattern", 5, cmd_check_pattern, "DEV remap|fault|pages OFFSET PAGES SEED" },
	{ "own-writes", 5, cmd_own_writes, "DEV remap|fault OWNER OWNERS SECONDS" },
	{ "region-check", 3, cmd_region_check, "DEV BASE SIZE" },
	{ "first-touch", 4, cmd_first_touch, "DEV MIB REPS STRIDE_KIB" },
	{ "gup", 3, cmd_gup, "DEV remap|fault|pages PAGES" },
	{ "fill-file", 3, cmd_fill_file, "PATH BYTES SEED" },
	{ "odirect", 5, cmd_odirect, "DEV remap|fault|pages FILE BYTES SEED" },
	{ "pin-unload", 3, cmd_pin_unload, "DEV MODULE PAGES" },
	{ "pin-force-unload", 3, cmd_pin_force_unload, "DEV MODULE PAGES" },
	{ "map-force-unload", 3, cmd_map_force_unload, "DEV MODULE PAGES" },
	{ "hwpoison", 3, cmd_hwpoison, "DEV OTHER PAGES" },
	{ "hwpoison-at", 5, cmd_hwpoison_at, "DEV OTHER PAGES OFFSET POISON" },
	{ "vivid-dmabuf", 4, cmd_vivid_dmabuf, "DEV VIDEO OFFSET FRAMES" },
	{ "dmabuf-mmap", 3, cmd_dmabuf_mmap, "DEV OFFSET LENGTH" },
	{ "fuzz", 4, cmd_fuzz, "DEV[,DEV...] SECONDS SEED THREADS" },
};

int main(int argc, char **argv)
{
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (argc >= 2 && !strcmp(argv[1], commands[i].name) &&
		    argc - 2 == commands[i].argc)
			return commands[i].run(argv + 2);
	fprintf(stderr, "usage:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "  memphys-probe %s %s\n", commands[i].name,
			commands[i].usage);
	return 2;
}
