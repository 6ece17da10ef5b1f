// SPDX-License-Identifier: GPL-2.0
/*
 * memphys-probe: a memory failure on a pages mapping.  MADV_HWPOISON
 * (root) takes the kernel's memory-failure path as a machine check on the
 * page would; for the region's ZONE_DEVICE pages that is
 * memory_failure_dev_pagemap(), which signals the processes mapping the
 * page (SIGBUS, BUS_MCEERR_AR for the one that hit it) and nobody else.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/memphys.h>

#include "probe.h"

#ifndef MADV_HWPOISON
#define MADV_HWPOISON 100
#endif

static int report_fd = -1;
static int victim_fd = -1;
static volatile uint64_t *victim_map;
static size_t victim_pages, victim_poison;

/* The entry behind page @i of the victim's mapping: none, 4K, 2M, 1G. */
static const char *entry_at(size_t i)
{
	struct memphys_page_query q;

	memset(&q, 0, sizeof(q));
	q.address = (uintptr_t)victim_map + i * PAGE;
	if (ioctl(victim_fd, MEMPHYS_IOC_QUERY_PAGE, &q))
		return errname(errno);
	if (!(q.flags & MEMPHYS_PAGE_PRESENT))
		return "none";
	return q.entry_size == 1UL << 30 ? "1G" :
	       q.entry_size == 1UL << 21 ? "2M" :
	       q.entry_size == PAGE ? "4K" : "other";
}

/*
 * What the victim's SIGBUS says: its code, where (the poisoned page, the
 * mapping's start or elsewhere), the size, then the entries left behind
 * the poisoned page and a neighbour (the next page, or the previous one).
 */
static void on_sigbus(int sig, siginfo_t *info, void *ctx)
{
	volatile uint64_t *poisoned = victim_map + victim_poison * PAGE / 8;
	size_t neighbour = victim_poison + 1 < victim_pages ?
			   victim_poison + 1 : victim_poison - 1;
	char line[128];
	int len;

	(void)sig;
	(void)ctx;
	len = snprintf(line, sizeof(line), "%s at=%s lsb=%d entry=%s neighbour=%s",
		       info->si_code == BUS_MCEERR_AR ? "BUS_MCEERR_AR" :
		       info->si_code == BUS_MCEERR_AO ? "BUS_MCEERR_AO" :
		       "SIGBUS-other",
		       info->si_addr == (void *)poisoned ? "page" :
		       info->si_addr == (void *)victim_map ? "map" : "other",
		       (int)info->si_addr_lsb, entry_at(victim_poison),
		       victim_pages > 1 ? entry_at(neighbour) : "none");
	if (write(report_fd, line, len) != len)
		_exit(3);
	_exit(0);
}

static void fill(volatile uint64_t *p, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len / 8; i++)
		p[i] = word(seed, i);
}

static int intact(volatile uint64_t *p, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (p[i] != word(seed, i))
			return 0;
	return 1;
}

/* The other region's user: maps, fills, waits for @go, checks its data. */
static void other_child(const char *dev, size_t len, int ready, int go)
{
	int fd = open_dev(dev);
	volatile uint64_t *map;
	char c;

	set_method(fd, MEMPHYS_METHOD_PAGES);
	map = map_shared(fd, len, 0);
	fill(map, len, 41);
	if (write(ready, "r", 1) != 1 || read(go, &c, 1) != 1)
		_exit(3);
	_exit(intact(map, len, 41) ? 0 : 1);
}

/*
 * Maps @len bytes of DEV from region offset @off, writes a word to each
 * page (so each is mapped), poisons page @poison; reports what happened.
 */
static void victim_child(const char *dev, size_t len, off_t off,
			 size_t poison, int report)
{
	struct sigaction sa;
	char line[64];
	int len_line;
	size_t i;

	victim_fd = open_dev(dev);
	set_method(victim_fd, MEMPHYS_METHOD_PAGES);
	victim_map = map_shared(victim_fd, len, off);
	victim_pages = len / PAGE;
	victim_poison = poison;
	for (i = 0; i < victim_pages; i++)
		victim_map[i * PAGE / 8] = word(42, i);
	report_fd = report;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGBUS, &sa, NULL))
		_exit(3);
	if (madvise((void *)(victim_map + poison * PAGE / 8), PAGE,
		    MADV_HWPOISON))
		len_line = snprintf(line, sizeof(line), "%s", errname(errno));
	else
		len_line = snprintf(line, sizeof(line), "no-signal");
	if (write(report, line, len_line) != len_line)
		_exit(3);
	_exit(0);
}

/*
 * One child maps 16 pages of OTHER (pages method) and fills them; another
 * maps @pages pages of DEV from page @offset of the region and poisons
 * page @poison of its mapping.  Prints "victim=WHAT other=intact|differs|
 * died" where WHAT is the SIGBUS it got (code, at the poisoned page or the
 * mapping's start, the size the kernel gave, the entries then behind the
 * poisoned page and a neighbour) or the errno madvise() returned.
 */
static int hwpoison(const char *dev, const char *other_dev, size_t pages,
		    size_t offset, size_t poison)
{
	int ready[2], go[2], report[2], status;
	pid_t other, victim;
	char what[128] = "";
	ssize_t got;

	if (!pages || poison >= pages) {
		fprintf(stderr, "POISON must be a page of the PAGES mapped\n");
		return 2;
	}
	if (pipe(ready) || pipe(go) || pipe(report))
		die("pipe");
	other = fork();
	if (other < 0)
		die("fork");
	if (!other)
		other_child(other_dev, 16 * PAGE, ready[1], go[0]);
	if (read(ready[0], what, 1) != 1)
		die("other child");
	victim = fork();
	if (victim < 0)
		die("fork");
	if (!victim)
		victim_child(dev, pages * PAGE, offset * PAGE, poison,
			     report[1]);
	close(report[1]);
	got = read(report[0], what, sizeof(what) - 1);
	what[got > 0 ? got : 0] = '\0';
	if (waitpid(victim, &status, 0) != victim)
		die("waitpid");
	if (got <= 0)
		snprintf(what, sizeof(what), "died(%d)",
			 WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	if (write(go[1], "g", 1) != 1 || waitpid(other, &status, 0) != other)
		die("other child");
	printf("result: victim=%s other=%s\n", what,
	       !WIFEXITED(status) ? "died" :
	       WEXITSTATUS(status) ? "differs" : "intact");
	return 0;
}

/* hwpoison DEV OTHER PAGES: PAGES pages from offset 0, the first poisoned. */
int cmd_hwpoison(char **argv)
{
	return hwpoison(argv[0], argv[1], strtoul(argv[2], NULL, 0), 0, 0);
}

/* hwpoison-at DEV OTHER PAGES OFFSET POISON: as hwpoison, anywhere. */
int cmd_hwpoison_at(char **argv)
{
	return hwpoison(argv[0], argv[1], strtoul(argv[2], NULL, 0),
			strtoul(argv[3], NULL, 0), strtoul(argv[4], NULL, 0));
}
