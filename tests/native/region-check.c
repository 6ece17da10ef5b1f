// SPDX-License-Identifier: GPL-2.0
/*
 * region-check DEV BASE SIZE: map the whole region by both methods at once
 * and check every page: the frame behind it (MEMPHYS_IOC_QUERY_PAGE), the
 * fault counts, a pattern written through one method and read through the
 * other and through pread(), a second process, and bad inputs that matter
 * where off_t, unsigned long and pointers are 32 bits wide.
 *
 * It needs no more than a C library, so it runs in the 32-bit guests (built
 * static with -m32) as well as in 64-bit ones.  Prints one "ok - ..." or
 * "FAIL - ..." row per check, "info: ..." lines, and ends with
 * "N passed, N failed"; exits 1 when a check failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/memphys.h>

#include "probe.h"

#define IO_CHUNK	(1UL << 20)
#define WORDS		(PAGE / 8)
#define PAT_LIST	"/sys/kernel/debug/x86/pat_memtype_list"

/* Pattern seeds: one per writer, so a stale value is never mistaken. */
enum { SEED_FAULT = 1, SEED_REMAP, SEED_CHILD, SEED_PWRITE };

struct region {
	const char *dev;
	int fd;
	struct memphys_info info;
	uint64_t base, size;	/* what the layout reserved */
	size_t pages;
	unsigned int passed, failed;
};

static void check(struct region *r, bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		r->passed++;
	else
		r->failed++;
}

/* @got: 0 when the call succeeded, else its errno. */
static void check_errno(struct region *r, int got, int want, const char *what)
{
	check(r, got == want, "%s: %s (want %s)", what, errname(got), errname(want));
}

static const char *caching_name(uint32_t caching)
{
	static const char *const names[] = { "WB", "WC", "UC" };

	return caching < MEMPHYS_CACHE_COUNT ? names[caching] : "?";
}

static struct memphys_stats get_stats(struct region *r)
{
	struct memphys_stats s;

	if (ioctl(r->fd, MEMPHYS_IOC_GET_STATS, &s))
		die("MEMPHYS_IOC_GET_STATS");
	return s;
}

/* The first word of each page and the complement in its last word. */
static void write_pattern(volatile uint64_t *p, size_t pages, uint64_t seed)
{
	size_t i;

	for (i = 0; i < pages; i++) {
		p[i * WORDS] = word(seed, i);
		p[i * WORDS + WORDS - 1] = ~word(seed, i);
	}
}

/*
 * Pages among @pages at @p (page @first of the region) that do not hold
 * the pattern; *@bad_page is the first of them.
 */
static size_t pattern_misses(const volatile uint64_t *p, size_t first,
			     size_t pages, uint64_t seed, size_t *bad_page)
{
	size_t i, misses = 0;

	for (i = 0; i < pages; i++) {
		uint64_t want = word(seed, first + i);

		if (p[i * WORDS] != want || p[i * WORDS + WORDS - 1] != ~want) {
			if (!misses++)
				*bad_page = first + i;
		}
	}
	return misses;
}

/* A check that passes when no page missed the pattern; names the first. */
static void check_misses(struct region *r, size_t misses, size_t bad,
			 const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (misses)
		check(r, false, "%s: %zu differ, first page %zu", what, misses, bad);
	else
		check(r, true, "%s: all hold the pattern", what);
}

static void check_pattern(struct region *r, const volatile uint64_t *p,
			  uint64_t seed, const char *what)
{
	size_t bad = 0, misses = pattern_misses(p, 0, r->pages, seed, &bad);

	check_misses(r, misses, bad, "%s: %zu pages", what, r->pages);
}

/* Why the entry behind page @i is not what it must be, or NULL. */
static const char *entry_problem(struct region *r,
				 const struct memphys_page_query *q, size_t i)
{
	if (!(q->flags & MEMPHYS_PAGE_PRESENT))
		return "not present";
	if (!(q->flags & MEMPHYS_PAGE_WRITE))
		return "read-only";
	if (q->pfn != r->base / PAGE + i)
		return "wrong frame";
	/* The region's memory type, for every entry of either method. */
	switch (r->info.caching) {
	case MEMPHYS_CACHE_WB:
		return q->memtype == MEMPHYS_MEMTYPE_WB ? NULL : "not write-back";
	case MEMPHYS_CACHE_WC:
		return q->memtype == MEMPHYS_MEMTYPE_WC ? NULL :
							 "not write-combining";
	default:
		return q->memtype == MEMPHYS_MEMTYPE_UC ||
		       q->memtype == MEMPHYS_MEMTYPE_UC_MINUS ? NULL :
								"not uncached";
	}
}

/* Every page of the whole-region mapping @p must map its own frame. */
static void check_frames(struct region *r, int fd, volatile uint64_t *p,
			 const char *what)
{
	struct memphys_page_query q;
	const char *why, *first_why = NULL;
	size_t i, wrong = 0, first = 0;

	for (i = 0; i < r->pages; i++) {
		memset(&q, 0, sizeof(q));
		q.address = (uintptr_t)p + i * PAGE;
		why = ioctl(fd, MEMPHYS_IOC_QUERY_PAGE, &q) ? errname(errno) :
							       entry_problem(r, &q, i);
		if (why && !wrong++) {
			first = i;
			first_why = why;
		}
	}
	check(r, !wrong, "%s: %zu pages map frames %#" PRIx64 "..%#" PRIx64
	      " present and writable; %zu wrong%s%s", what, r->pages,
	      r->base / PAGE, r->base / PAGE + r->pages - 1, wrong,
	      wrong ? ", first: " : "", wrong ? first_why : "");
	if (wrong)
		printf("info: first wrong page %zu\n", first);
}

static bool query_present(int fd, const volatile void *addr)
{
	struct memphys_page_query q = { .address = (uintptr_t)addr };

	if (ioctl(fd, MEMPHYS_IOC_QUERY_PAGE, &q))
		die("MEMPHYS_IOC_QUERY_PAGE");
	return q.flags & MEMPHYS_PAGE_PRESENT;
}

/* Whether the kernel (not this process) is a 32-bit one. */
static bool kernel_is_32bit(void)
{
	struct utsname u;

	if (uname(&u))
		die("uname");
	return !strstr(u.machine, "64");
}

/*
 * The kernel's PAT memtype reservations that overlap the region
 * (debugfs): what the x86 page attribute code will hand later mappings.
 */
static void report_memtypes(struct region *r, const char *when)
{
	FILE *f = fopen(PAT_LIST, "r");
	char line[160];
	unsigned long long start, end;
	int found = 0;

	if (!f) {
		printf("info: %s: no %s (%s)\n", when, PAT_LIST, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *range = strstr(line, "[mem ");

		if (!range || sscanf(range, "[mem 0x%llx-0x%llx]", &start, &end) != 2 ||
		    end <= r->base || start >= r->base + r->size)
			continue;
		line[strcspn(line, "\n")] = '\0';
		printf("info: %s: PAT memtype %s\n", when, line);
		found = 1;
	}
	fclose(f);
	/* The list walks [0, ULONG_MAX]: 4 GiB on a 32-bit kernel. */
	if (!found)
		printf("info: %s: no PAT memtype reservation over the region listed%s\n",
		       when, kernel_is_32bit() && r->base + r->size > 1ULL << 32 ?
		       " (a 32-bit kernel lists none above 4 GiB)" : "");
}

static volatile uint64_t *map_whole(struct region *r, int fd,
				    unsigned int method, const char *what)
{
	struct memphys_setting pte = { .value = MEMPHYS_SIZE_4K };
	void *p;

	set_method(fd, method);
	/*
	 * 4 KiB entries only: the fault counts below are of PTE faults, which
	 * a 64-bit 6.12+ kernel would replace by 2 MiB ones.
	 */
	if (ioctl(fd, MEMPHYS_IOC_SET_MAX_FAULT, &pte))
		die("MEMPHYS_IOC_SET_MAX_FAULT");
	p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(r, p != MAP_FAILED, "%s: mmap of the whole %" PRIu64 " MiB: %s",
	      what, r->size >> 20, errname(p == MAP_FAILED ? errno : 0));
	return p == MAP_FAILED ? NULL : p;
}

static void check_info(struct region *r)
{
	struct memphys_info *i = &r->info;

	if (ioctl(r->fd, MEMPHYS_IOC_GET_INFO, i))
		die("MEMPHYS_IOC_GET_INFO");
	check(r, i->size == sizeof(*i) && i->version == MEMPHYS_UAPI_VERSION,
	      "GET_INFO: size %u version %u", i->size, i->version);
	check(r, i->phys_base == r->base && i->region_size == r->size &&
	      i->page_size == PAGE, "GET_INFO: region %#" PRIx64 " + %" PRIu64
	      " MiB, page %u", (uint64_t)i->phys_base,
	      (uint64_t)i->region_size >> 20, i->page_size);
	printf("info: %zu-bit process, %zu-bit off_t; driver reports caching %s, fault sizes %#x\n",
	       sizeof(void *) * 8, sizeof(off_t) * 8, caching_name(i->caching),
	       i->fault_sizes);
}

/*
 * 4 KiB entries the fault handler inserted between two snapshots: the faults
 * and, with fault-around, the neighbours each one mapped.  Touching every
 * page of a fresh mapping inserts each exactly once, whatever the
 * fault-around.
 */
static uint64_t pte_inserted(const struct memphys_stats *before,
			     const struct memphys_stats *after)
{
	return after->pte_faults - before->pte_faults +
	       after->prefaulted - before->prefaulted;
}

/* Fault method: nothing is mapped before the touch, one entry per page. */
static volatile uint64_t *check_fault_map(struct region *r, int fd)
{
	struct memphys_stats before = get_stats(r), after;
	volatile uint64_t *p = map_whole(r, fd, MEMPHYS_METHOD_FAULT, "fault");

	if (!p)
		return NULL;
	check(r, !query_present(fd, p) &&
	      !query_present(fd, p + (r->pages - 1) * WORDS),
	      "fault: first and last page unmapped before the first touch");
	write_pattern(p, r->pages, SEED_FAULT);
	after = get_stats(r);
	check(r, pte_inserted(&before, &after) == r->pages &&
	      after.pmd_faults == before.pmd_faults &&
	      after.pud_faults == before.pud_faults &&
	      after.bytes_remapped == before.bytes_remapped,
	      "fault: %" PRIu64 " PTE faults + %" PRIu64 " prefaulted for %zu pages (PMD %" PRIu64
	      ", PUD %" PRIu64 ", remapped %" PRIu64 ")",
	      (uint64_t)(after.pte_faults - before.pte_faults),
	      (uint64_t)(after.prefaulted - before.prefaulted), r->pages,
	      (uint64_t)(after.pmd_faults - before.pmd_faults),
	      (uint64_t)(after.pud_faults - before.pud_faults),
	      (uint64_t)(after.bytes_remapped - before.bytes_remapped));
	check_frames(r, fd, p, "fault");
	report_memtypes(r, "fault mapping alone");
	return p;
}

/* Remap method: all of it mapped at mmap() time, no faults. */
static volatile uint64_t *check_remap_map(struct region *r, int fd)
{
	struct memphys_stats before = get_stats(r), after;
	volatile uint64_t *p = map_whole(r, fd, MEMPHYS_METHOD_REMAP, "remap");

	if (!p)
		return NULL;
	check_frames(r, fd, p, "remap");
	after = get_stats(r);
	check(r, after.bytes_remapped - before.bytes_remapped == r->size &&
	      after.pte_faults == before.pte_faults,
	      "remap: %" PRIu64 " bytes remapped, %" PRIu64 " faults",
	      (uint64_t)(after.bytes_remapped - before.bytes_remapped),
	      (uint64_t)(after.pte_faults - before.pte_faults));
	report_memtypes(r, "remap mapping");
	return p;
}

/* pread() of the whole region, in chunks, must see the pattern. */
static void check_pread(struct region *r, uint64_t seed)
{
	uint64_t *buf = malloc(IO_CHUNK);
	size_t per = IO_CHUNK / PAGE, misses = 0, bad = 0, first = 0, chunk;
	ssize_t n = 0;
	off_t off;

	if (!buf)
		die("malloc");
	for (off = 0; (uint64_t)off < r->size; off += IO_CHUNK) {
		n = pread(r->fd, buf, IO_CHUNK, off);
		if (n != (ssize_t)IO_CHUNK)
			break;
		chunk = pattern_misses(buf, off / PAGE, per, seed, &first);
		if (chunk && !misses)
			bad = first;
		misses += chunk;
	}
	free(buf);
	check(r, (uint64_t)off == r->size, "pread: %" PRIu64 " of %" PRIu64
	      " MiB read (last: %zd)", (uint64_t)off >> 20, r->size >> 20, n);
	check_misses(r, misses, bad, "pread: %zu pages", r->pages);
}

/* pwrite() of the whole region, in chunks; both mappings must see it. */
static void check_pwrite(struct region *r, volatile uint64_t *fault_map,
			 volatile uint64_t *remap_map, uint64_t seed)
{
	uint64_t *buf = malloc(IO_CHUNK);
	size_t per = IO_CHUNK / PAGE, i;
	off_t off;

	if (!buf)
		die("malloc");
	for (off = 0; (uint64_t)off < r->size; off += IO_CHUNK) {
		for (i = 0; i < per; i++) {
			buf[i * WORDS] = word(seed, off / PAGE + i);
			buf[i * WORDS + WORDS - 1] = ~word(seed, off / PAGE + i);
		}
		if (pwrite(r->fd, buf, IO_CHUNK, off) != (ssize_t)IO_CHUNK)
			break;
	}
	free(buf);
	check(r, (uint64_t)off == r->size, "pwrite: %" PRIu64 " of %" PRIu64
	      " MiB written", (uint64_t)off >> 20, r->size >> 20);
	check_pattern(r, remap_map, seed, "pwrite-written pattern through remap");
	check_pattern(r, fault_map, seed, "pwrite-written pattern through fault");
}

/*
 * A second process opens the device itself, maps the whole region by
 * fault, must see the pattern and the same frames, and writes its own.
 * It drops the inherited mappings first: three 1 GiB mappings do not fit
 * in 3 GiB of 32-bit address space.
 */
static void check_child(struct region *r, volatile uint64_t *fault_map,
			volatile uint64_t *remap_map)
{
	struct memphys_stats before = get_stats(r), after;
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		struct region c = *r;
		volatile uint64_t *p;

		munmap((void *)fault_map, r->size);
		munmap((void *)remap_map, r->size);
		c.fd = open_dev(r->dev);
		c.passed = c.failed = 0;
		p = map_whole(&c, c.fd, MEMPHYS_METHOD_FAULT, "child: fault");
		if (p) {
			check_pattern(&c, p, SEED_REMAP, "child: reads the parent's pattern");
			check_frames(&c, c.fd, p, "child: fault");
			report_memtypes(&c, "child's fault mapping");
			write_pattern(p, c.pages, SEED_CHILD);
		}
		fflush(stdout);
		_exit(c.failed || !p ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	check(r, WIFEXITED(status) && !WEXITSTATUS(status),
	      "child: exited %d", status);
	after = get_stats(r);
	check(r, pte_inserted(&before, &after) == r->pages,
	      "child: %" PRIu64 " PTE faults + %" PRIu64 " prefaulted for %zu pages",
	      (uint64_t)(after.pte_faults - before.pte_faults),
	      (uint64_t)(after.prefaulted - before.prefaulted), r->pages);
	check_pattern(r, remap_map, SEED_CHILD, "parent: child's pattern through remap");
	check_pattern(r, fault_map, SEED_CHILD, "parent: child's pattern through fault");
}

static int mmap_errno(struct region *r, size_t len, off_t off, int prot,
		      int flags, unsigned int method)
{
	void *p;

	set_method(r->fd, method);
	p = mmap(NULL, len, prot, flags, r->fd, off);
	if (p == MAP_FAILED)
		return errno;
	munmap(p, len);
	return 0;
}

static int setting_errno(struct region *r, unsigned long cmd, uint64_t value)
{
	struct memphys_setting s = { .value = value };

	return ioctl(r->fd, cmd, &s) ? errno : 0;
}

static int query_errno(struct region *r, uint64_t address)
{
	struct memphys_page_query q = { .address = address };

	return ioctl(r->fd, MEMPHYS_IOC_QUERY_PAGE, &q) ? errno : 0;
}

/*
 * The VFS refuses mmap() offsets of a character device past the kernel's
 * ULONG_MAX (file_mmap_ok()) with EOVERFLOW before the driver sees them:
 * under a 32-bit kernel, every offset from 4 GiB on.
 */
static int past_4g_errno(void)
{
	return kernel_is_32bit() ? EOVERFLOW : EINVAL;
}

/*
 * Offsets past 4 GiB (0 in a 32-bit off_t) and past 2 GiB (negative in
 * one), and the usual out-of-range requests; before the whole-region
 * mappings take two of the 3 GiB of a 32-bit address space.
 */
static void check_bad_mmaps(struct region *r)
{
	const off_t four_g = (off_t)1 << 32, two_g = (off_t)1 << 31;
	const int rw = PROT_READ | PROT_WRITE;
	int want_4g = past_4g_errno();

	check_errno(r, mmap_errno(r, PAGE, four_g, rw, MAP_SHARED, MEMPHYS_METHOD_REMAP),
		    want_4g, "bad: mmap at offset 4 GiB");
	check_errno(r, mmap_errno(r, PAGE, four_g, rw, MAP_SHARED, MEMPHYS_METHOD_FAULT),
		    want_4g, "bad: fault mmap at offset 4 GiB");
	check_errno(r, mmap_errno(r, PAGE, two_g, rw, MAP_SHARED, MEMPHYS_METHOD_REMAP),
		    EINVAL, "bad: mmap at offset 2 GiB");
	check_errno(r, mmap_errno(r, PAGE, r->size, rw, MAP_SHARED, MEMPHYS_METHOD_REMAP),
		    EINVAL, "bad: mmap at the region's end");
	check_errno(r, mmap_errno(r, 2 * PAGE, r->size - PAGE, rw, MAP_SHARED,
				  MEMPHYS_METHOD_REMAP),
		    EINVAL, "bad: mmap across the region's end");
	check_errno(r, mmap_errno(r, r->size + PAGE, 0, rw, MAP_SHARED, MEMPHYS_METHOD_FAULT),
		    EINVAL, "bad: mmap one page longer than the region");
	check_errno(r, mmap_errno(r, PAGE, 0, rw, MAP_PRIVATE, MEMPHYS_METHOD_FAULT),
		    EINVAL, "bad: private (copy-on-write) fault mapping");
	check_errno(r, mmap_errno(r, PAGE, 0, PROT_READ | PROT_EXEC, MAP_SHARED,
				  MEMPHYS_METHOD_REMAP),
		    EPERM, "bad: executable mapping");
}

/*
 * pread/pwrite/lseek past 2 and 4 GiB, and 64-bit ioctl fields whose low
 * 32 bits alone would be valid; @map is a live mapping of page 0.
 */
static void check_bad_io(struct region *r, volatile uint64_t *map)
{
	const off_t four_g = (off_t)1 << 32, two_g = (off_t)1 << 31;
	uint64_t v;
	int want_2m;

	check(r, pread(r->fd, &v, sizeof(v), four_g) == 0,
	      "bad: pread at 4 GiB reads nothing (not offset 0)");
	check(r, pread(r->fd, &v, sizeof(v), two_g) == 0,
	      "bad: pread at 2 GiB reads nothing");
	check_errno(r, pread(r->fd, &v, sizeof(v), -1) < 0 ? errno : 0, EINVAL,
		    "bad: pread at offset -1");
	check(r, pwrite(r->fd, &v, sizeof(v), four_g) == 0 &&
	      map[0] == word(SEED_PWRITE, 0),
	      "bad: pwrite at 4 GiB writes nothing (page 0 intact)");
	check_errno(r, lseek(r->fd, four_g, SEEK_SET) < 0 ? errno : 0, EINVAL,
		    "bad: lseek to 4 GiB");
	check(r, lseek(r->fd, 0, SEEK_END) == (off_t)r->size,
	      "lseek SEEK_END: the region size");

	/*
	 * 4 GiB away (bit 32 flipped): a 32-bit kernel must not truncate the
	 * address to the mapped one; a 64-bit one finds no memphys mapping there.
	 */
	check_errno(r, query_errno(r, (1ULL << 32) ^ (uintptr_t)map), EINVAL,
		    "bad: QUERY_PAGE at a mapped address +/- 4 GiB");
	check_errno(r, query_errno(r, (uintptr_t)map), 0,
		    "QUERY_PAGE at that mapped address");
	check_errno(r, setting_errno(r, MEMPHYS_IOC_SET_METHOD,
				     (1ULL << 32) | MEMPHYS_METHOD_FAULT),
		    EINVAL, "bad: SET_METHOD 2^32 + fault");
	check_errno(r, setting_errno(r, MEMPHYS_IOC_SET_CACHING, 1ULL << 32),
		    EINVAL, "bad: SET_CACHING 2^32 + WB");
	check_errno(r, setting_errno(r, MEMPHYS_IOC_SET_MAX_FAULT,
				     (1ULL << 32) | MEMPHYS_SIZE_4K),
		    EINVAL, "bad: SET_MAX_FAULT 2^32 + 4 KiB");
	want_2m = r->info.fault_sizes & MEMPHYS_FAULT_2M ? 0 : EOPNOTSUPP;
	check_errno(r, setting_errno(r, MEMPHYS_IOC_SET_MAX_FAULT, MEMPHYS_SIZE_2M),
		    want_2m, "SET_MAX_FAULT 2 MiB as GET_INFO's fault sizes say");
}

int cmd_region_check(char **argv)
{
	struct region r = { .dev = argv[0] };
	volatile uint64_t *fault_map, *remap_map = NULL;
	int remap_fd;

	r.base = strtoull(argv[1], NULL, 0);
	r.size = strtoull(argv[2], NULL, 0);
	r.pages = r.size / PAGE;
	r.fd = open_dev(r.dev);
	remap_fd = open_dev(r.dev);
	check_info(&r);
	check_bad_mmaps(&r);
	if (ioctl(r.fd, MEMPHYS_IOC_RESET_STATS))
		die("MEMPHYS_IOC_RESET_STATS");

	fault_map = check_fault_map(&r, r.fd);
	if (fault_map)
		remap_map = check_remap_map(&r, remap_fd);
	if (remap_map) {
		check_pattern(&r, remap_map, SEED_FAULT, "fault-written pattern through remap");
		write_pattern(remap_map, r.pages, SEED_REMAP);
		check_pattern(&r, fault_map, SEED_REMAP, "remap-written pattern through fault");
		check_pread(&r, SEED_REMAP);
		check_child(&r, fault_map, remap_map);
		check_pwrite(&r, fault_map, remap_map, SEED_PWRITE);
		check_bad_io(&r, remap_map);
		check(&r, !munmap((void *)fault_map, r.size) &&
		      !munmap((void *)remap_map, r.size), "munmap of both mappings");
		check_errno(&r, query_errno(&r, (uintptr_t)remap_map), EINVAL,
			    "bad: QUERY_PAGE after munmap");
	}
	printf("%u passed, %u failed\n", r.passed, r.failed);
	return r.failed ? 1 : 0;
}
