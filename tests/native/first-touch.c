// SPDX-License-Identifier: GPL-2.0
/*
 * memphys-probe first-touch: the time to write the first word of every
 * STRIDE KiB of a fresh mapping (4: every page; 2048: a sparse touch), for anonymous 4 KiB pages (MADV_NOHUGEPAGE) and
 * for fault-method mappings with 4 KiB faults at each fault-around size,
 * repetitions interleaved across kinds, medians printed with the driver's
 * fault counts.  This is how the fault_around default was chosen (README).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <linux/memphys.h>

#include "probe.h"

#define MAX_REPS 15

static const unsigned int arounds[] = { 1, 4, 16, 64, 512 };
#define KINDS (1 + sizeof(arounds) / sizeof(arounds[0]))

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t stride = PAGE;

static double touch(volatile uint64_t *p, size_t len)
{
	double start = now();
	size_t i;

	for (i = 0; i < len / sizeof(*p); i += stride / sizeof(*p))
		p[i] = i | 1;
	return now() - start;
}

static double anon_touch(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t;

	if (p == MAP_FAILED)
		die("mmap anonymous");
	if (madvise(p, len, MADV_NOHUGEPAGE))
		die("madvise MADV_NOHUGEPAGE");
	t = touch(p, len);
	munmap(p, len);
	return t;
}

static void set(int fd, unsigned long request, uint64_t value, const char *what)
{
	struct memphys_setting s = { .value = value };

	if (ioctl(fd, request, &s))
		die(what);
}

static double fault_touch(int fd, size_t len, unsigned int around,
			  struct memphys_stats *st)
{
	volatile uint64_t *p;
	double t;

	set(fd, MEMPHYS_IOC_SET_FAULT_AROUND, around, "SET_FAULT_AROUND");
	if (ioctl(fd, MEMPHYS_IOC_RESET_STATS))
		die("RESET_STATS");
	p = map_shared(fd, len, 0);
	t = touch(p, len);
	if (ioctl(fd, MEMPHYS_IOC_GET_STATS, st))
		die("GET_STATS");
	munmap((void *)p, len);
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* first-touch DEV MIB REPS STRIDE_KIB */
int cmd_first_touch(char **argv)
{
	size_t len = strtoul(argv[1], NULL, 0) << 20;
	int reps = atoi(argv[2]), fd = open_dev(argv[0]), r;
	double t[KINDS][MAX_REPS], anon;
	struct memphys_stats st[KINDS];
	size_t k;

	stride = strtoul(argv[3], NULL, 0) << 10;
	if (reps < 1 || reps > MAX_REPS || !len || stride < PAGE ||
	    stride % PAGE) {
		fprintf(stderr, "first-touch: MIB > 0, REPS 1..%d, STRIDE_KIB a multiple of 4\n",
			MAX_REPS);
		return 2;
	}
	set_method(fd, MEMPHYS_METHOD_FAULT);
	set(fd, MEMPHYS_IOC_SET_MAX_FAULT, MEMPHYS_SIZE_4K, "SET_MAX_FAULT");
	for (r = 0; r < reps; r++) {
		t[0][r] = anon_touch(len);
		for (k = 1; k < KINDS; k++)
			t[k][r] = fault_touch(fd, len, arounds[k - 1], &st[k]);
	}
	anon = median(t[0], reps);
	printf("kind              median s   min s     max s  vs anon  pte_faults  prefaulted\n");
	printf("anonymous 4K   %9.3f %9.3f %9.3f %8.3f\n", anon, t[0][0],
	       t[0][reps - 1], 1.0);
	for (k = 1; k < KINDS; k++) {
		double m = median(t[k], reps);

		printf("fault-around %3u %7.3f %9.3f %9.3f %8.3f %11llu %11llu\n",
		       arounds[k - 1], m, t[k][0], t[k][reps - 1], m / anon,
		       (unsigned long long)st[k].pte_faults,
		       (unsigned long long)st[k].prefaulted);
	}
	printf("result: ok\n");
	return 0;
}
