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
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/memphys.h>

#include "probe.h"

#ifndef MADV_HWPOISON
#define MADV_HWPOISON 100
#endif

static int report_fd = -1;
static volatile uint64_t *victim_map;

/* What the victim's SIGBUS says: its code, whether at the page, the size. */
static void on_sigbus(int sig, siginfo_t *info, void *ctx)
{
	char line[96];
	int len;

	(void)sig;
	(void)ctx;
	len = snprintf(line, sizeof(line), "%s at=%s lsb=%d",
		       info->si_code == BUS_MCEERR_AR ? "BUS_MCEERR_AR" :
		       info->si_code == BUS_MCEERR_AO ? "BUS_MCEERR_AO" :
		       "SIGBUS-other",
		       info->si_addr == (void *)victim_map ? "page" : "other",
		       (int)info->si_addr_lsb);
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

/* Maps DEV's first pages, poisons the first; reports what happened. */
static void victim_child(const char *dev, size_t len, int report)
{
	struct sigaction sa;
	int fd = open_dev(dev);
	char line[64];
	int len_line;

	set_method(fd, MEMPHYS_METHOD_PAGES);
	victim_map = map_shared(fd, len, 0);
	fill(victim_map, len, 42);
	report_fd = report;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGBUS, &sa, NULL))
		_exit(3);
	if (madvise((void *)victim_map, PAGE, MADV_HWPOISON))
		len_line = snprintf(line, sizeof(line), "%s", errname(errno));
	else
		len_line = snprintf(line, sizeof(line), "no-signal");
	if (write(report, line, len_line) != len_line)
		_exit(3);
	_exit(0);
}

/*
 * hwpoison DEV OTHER PAGES: one child maps PAGES pages of DEV (pages
 * method), another PAGES pages of OTHER; the first poisons its first page.
 * Prints "victim=WHAT other=intact|differs|died" where WHAT is the SIGBUS
 * it got (code, whether at the poisoned page, the size the kernel gave)
 * or the errno madvise() returned.
 */
int cmd_hwpoison(char **argv)
{
	size_t len = strtoul(argv[2], NULL, 0) * PAGE;
	int ready[2], go[2], report[2], status;
	pid_t other, victim;
	char what[128] = "";
	ssize_t got;

	if (pipe(ready) || pipe(go) || pipe(report))
		die("pipe");
	other = fork();
	if (other < 0)
		die("fork");
	if (!other)
		other_child(argv[1], len, ready[1], go[0]);
	if (read(ready[0], what, 1) != 1)
		die("other child");
	victim = fork();
	if (victim < 0)
		die("fork");
	if (!victim)
		victim_child(argv[0], len, report[1]);
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
