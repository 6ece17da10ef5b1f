// SPDX-License-Identifier: GPL-2.0
/*
 * memphys-probe: dma-buf exports of a region imported by V4L2 (vivid), and
 * the dma-buf's own mmap() with DMA_BUF_IOCTL_SYNC.
 *
 * vivid-dmabuf DEV VIDEO OFFSET FRAMES: a reference frame of VIDEO's test
 * pattern is captured into ordinary MMAP buffers; then capture buffers
 * with V4L2_MEMORY_DMABUF are exported from DEV at OFFSET (one page-aligned
 * slot per buffer, filled with a poison byte first), FRAMES frames are
 * streamed into them and every frame is read back through a mapping of
 * /dev/memphysN of the same range and compared with the reference; finally
 * the last buffer's dma-buf is mapped itself and compared under
 * DMA_BUF_IOCTL_SYNC.  Prints
 *   result: OK frames=N bytes=B size=S buffers=K dmabuf-mmap=B2
 * or "result: ERRNO at STEP" / "result: MISMATCH ...".
 *
 * dmabuf-mmap DEV OFFSET LENGTH: writes through an O_RDWR export's mmap()
 * between SYNC_START and SYNC_END and reads them through /dev/memphysN, and
 * the other way round; a read-only export refuses a writable shared
 * mapping.  Prints "result: OK bytes=N ro-write=ERRNO".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/memphys.h>
#include <linux/videodev2.h>

#include "probe.h"

#define MAX_BUFFERS	8
#define DMABUF_BUFFERS	3
#define POISON		0xa5

/* The result line of a failed step, and the exit of the subcommand. */
static int fail(const char *step)
{
	printf("result: %s at %s\n", errname(errno), step);
	return 0;
}

/* ioctl() retried on EINTR, as V4L2 programs do. */
static int xioctl(int fd, unsigned long request, void *arg)
{
	int ret;

	do
		ret = ioctl(fd, request, arg);
	while (ret < 0 && errno == EINTR);
	return ret;
}

static int export_dmabuf(int dev, uint64_t offset, uint64_t length,
			 uint32_t flags)
{
	struct memphys_dmabuf_export req = {
		.offset = offset, .length = length, .flags = flags,
	};

	if (ioctl(dev, MEMPHYS_IOC_EXPORT_DMABUF, &req))
		return -1;
	return req.fd;
}

static int sync_dmabuf(int fd, uint64_t flags)
{
	struct dma_buf_sync sync = { .flags = flags };

	return xioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
}

/*
 * vivid draws text (counters, time) over its test pattern by default; with
 * "OSD Text Mode" at None every frame of the pattern is the same.
 */
static int vivid_static_pattern(int video)
{
	struct v4l2_queryctrl q = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };
	struct v4l2_control c;

	while (!xioctl(video, VIDIOC_QUERYCTRL, &q)) {
		if (!strcmp((const char *)q.name, "OSD Text Mode")) {
			c.id = q.id;
			c.value = q.maximum;	/* None */
			return xioctl(video, VIDIOC_S_CTRL, &c);
		}
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	errno = ENOENT;
	return -1;
}

static int request_buffers(int video, unsigned int memory, unsigned int count)
{
	struct v4l2_requestbuffers req = {
		.count = count,
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = memory,
	};

	if (xioctl(video, VIDIOC_REQBUFS, &req))
		return -1;
	return req.count;
}

static int stream(int video, unsigned long request)
{
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;

	return xioctl(video, request, &type);
}

/* One frame in ordinary MMAP buffers, copied to @ref (sizeimage bytes). */
static int capture_reference(int video, uint8_t *ref, size_t size)
{
	void *maps[MAX_BUFFERS] = { 0 };
	size_t lens[MAX_BUFFERS] = { 0 };
	struct v4l2_buffer buf;
	int count, i, ret = -1;

	count = request_buffers(video, V4L2_MEMORY_MMAP, 2);
	if (count < 1 || count > MAX_BUFFERS)
		return -1;
	for (i = 0; i < count; i++) {
		memset(&buf, 0, sizeof(buf));
		buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		buf.memory = V4L2_MEMORY_MMAP;
		buf.index = i;
		if (xioctl(video, VIDIOC_QUERYBUF, &buf))
			goto out;
		maps[i] = mmap(NULL, buf.length, PROT_READ, MAP_SHARED, video,
			       buf.m.offset);
		if (maps[i] == MAP_FAILED) {
			maps[i] = NULL;
			goto out;
		}
		lens[i] = buf.length;
		if (xioctl(video, VIDIOC_QBUF, &buf))
			goto out;
	}
	if (stream(video, VIDIOC_STREAMON))
		goto out;
	memset(&buf, 0, sizeof(buf));
	buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	buf.memory = V4L2_MEMORY_MMAP;
	if (!xioctl(video, VIDIOC_DQBUF, &buf) && buf.bytesused >= size) {
		memcpy(ref, maps[buf.index], size);
		ret = 0;
	} else if (!errno) {
		errno = EIO;	/* a short frame */
	}
	stream(video, VIDIOC_STREAMOFF);
out:
	for (i = 0; i < count; i++)
		if (maps[i])
			munmap(maps[i], lens[i]);
	request_buffers(video, V4L2_MEMORY_MMAP, 0);
	return ret;
}

static int queue_dmabuf(int video, unsigned int index, int fd, size_t len)
{
	struct v4l2_buffer buf = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
		.index = index,
		.length = len,
	};

	buf.m.fd = fd;
	return xioctl(video, VIDIOC_QBUF, &buf);
}

/* The first offset at which @a and @b differ, or -1. */
static long first_difference(const uint8_t *a, const volatile uint8_t *b,
			     size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] != b[i])
			return i;
	return -1;
}

int cmd_vivid_dmabuf(char **argv)
{
	uint64_t offset = strtoull(argv[2], NULL, 0);
	long frames = strtol(argv[3], NULL, 0), done = 0;
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	int fds[DMABUF_BUFFERS];
	uint64_t compared = 0, mmap_compared = 0;
	volatile uint8_t *view;
	uint8_t *ref, *mapped;
	size_t size, slot;
	int dev, video, i;
	long diff;

	dev = open_dev(argv[0]);
	video = open(argv[1], O_RDWR);
	if (video < 0)
		die(argv[1]);
	if (vivid_static_pattern(video))
		return fail("OSD Text Mode");
	if (xioctl(video, VIDIOC_G_FMT, &fmt))
		return fail("VIDIOC_G_FMT");
	size = fmt.fmt.pix.sizeimage;
	slot = (size + PAGE - 1) & ~(PAGE - 1);
	ref = malloc(size);
	if (!ref)
		die("malloc");
	if (capture_reference(video, ref, size))
		return fail("MMAP reference frame");

	/* Poison the slots through memphys: a frame must overwrite it. */
	view = (volatile uint8_t *)map_shared(dev, slot * DMABUF_BUFFERS,
					      offset);
	memset((void *)view, POISON, slot * DMABUF_BUFFERS);
	if (first_difference(ref, view, size) < 0) {
		printf("result: the reference frame is all poison\n");
		return 0;
	}

	for (i = 0; i < DMABUF_BUFFERS; i++) {
		fds[i] = export_dmabuf(dev, offset + i * slot, slot,
				       O_RDWR | O_CLOEXEC);
		if (fds[i] < 0)
			return fail("MEMPHYS_IOC_EXPORT_DMABUF");
	}
	if (request_buffers(video, V4L2_MEMORY_DMABUF, DMABUF_BUFFERS) !=
	    DMABUF_BUFFERS)
		return fail("VIDIOC_REQBUFS DMABUF");
	for (i = 0; i < DMABUF_BUFFERS; i++)
		if (queue_dmabuf(video, i, fds[i], slot))
			return fail("VIDIOC_QBUF DMABUF");
	if (stream(video, VIDIOC_STREAMON))
		return fail("VIDIOC_STREAMON");
	while (done < frames) {
		struct v4l2_buffer buf = {
			.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
			.memory = V4L2_MEMORY_DMABUF,
		};

		if (xioctl(video, VIDIOC_DQBUF, &buf))
			return fail("VIDIOC_DQBUF");
		if (buf.bytesused != size || buf.m.fd != fds[buf.index]) {
			printf("result: MISMATCH frame %ld: bytesused %u of %zu, fd %d\n",
			       done, buf.bytesused, size, buf.m.fd);
			return 0;
		}
		diff = first_difference(ref, view + buf.index * slot, size);
		if (diff >= 0) {
			printf("result: MISMATCH frame %ld buffer %u at byte %ld: %#x, reference %#x\n",
			       done, buf.index, diff, view[buf.index * slot + diff],
			       ref[diff]);
			return 0;
		}
		compared += size;
		done++;
		if (done + DMABUF_BUFFERS <= frames &&
		    queue_dmabuf(video, buf.index, fds[buf.index], slot))
			return fail("VIDIOC_QBUF again");
	}
	stream(video, VIDIOC_STREAMOFF);
	request_buffers(video, V4L2_MEMORY_DMABUF, 0);

	/* The dma-buf's own mapping of the last slot, read under SYNC. */
	mapped = mmap(NULL, slot, PROT_READ, MAP_SHARED,
		      fds[DMABUF_BUFFERS - 1], 0);
	if (mapped == MAP_FAILED)
		return fail("mmap of the dma-buf");
	if (sync_dmabuf(fds[DMABUF_BUFFERS - 1],
			DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ))
		return fail("DMA_BUF_IOCTL_SYNC START");
	diff = first_difference(mapped, view + (DMABUF_BUFFERS - 1) * slot,
				slot);
	if (sync_dmabuf(fds[DMABUF_BUFFERS - 1],
			DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ))
		return fail("DMA_BUF_IOCTL_SYNC END");
	if (diff >= 0) {
		printf("result: MISMATCH dma-buf mmap at byte %ld\n", diff);
		return 0;
	}
	mmap_compared = slot;
	munmap(mapped, slot);
	for (i = 0; i < DMABUF_BUFFERS; i++)
		close(fds[i]);
	close(video);
	printf("result: OK frames=%ld bytes=%" PRIu64 " size=%zu buffers=%d dmabuf-mmap=%" PRIu64 "\n",
	       done, compared, size, DMABUF_BUFFERS, mmap_compared);
	return 0;
}

int cmd_dmabuf_mmap(char **argv)
{
	uint64_t offset = strtoull(argv[1], NULL, 0);
	size_t len = strtoull(argv[2], NULL, 0), i;
	volatile uint64_t *view, *buf;
	int dev = open_dev(argv[0]);
	int fd, ro, ro_errno = 0;
	void *p;

	view = map_shared(dev, len, offset);
	fd = export_dmabuf(dev, offset, len, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("MEMPHYS_IOC_EXPORT_DMABUF");
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (buf == MAP_FAILED)
		return fail("mmap of the dma-buf");

	if (sync_dmabuf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE))
		return fail("DMA_BUF_IOCTL_SYNC START WRITE");
	for (i = 0; i < len / 8; i++)
		buf[i] = word(41, i);
	if (sync_dmabuf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE))
		return fail("DMA_BUF_IOCTL_SYNC END WRITE");
	for (i = 0; i < len / 8; i++)
		if (view[i] != word(41, i)) {
			printf("result: MISMATCH memphys view at word %zu\n", i);
			return 0;
		}

	for (i = 0; i < len / 8; i++)
		view[i] = word(43, i);
	if (sync_dmabuf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ))
		return fail("DMA_BUF_IOCTL_SYNC START READ");
	for (i = 0; i < len / 8; i++)
		if (buf[i] != word(43, i)) {
			printf("result: MISMATCH dma-buf view at word %zu\n", i);
			return 0;
		}
	if (sync_dmabuf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ))
		return fail("DMA_BUF_IOCTL_SYNC END READ");
	munmap((void *)buf, len);
	close(fd);

	ro = export_dmabuf(dev, offset, len, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		return fail("read-only MEMPHYS_IOC_EXPORT_DMABUF");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
	if (p == MAP_FAILED)
		ro_errno = errno;
	else
		munmap(p, len);
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, ro, 0);
	if (p == MAP_FAILED)
		return fail("read-only mmap of a read-only dma-buf");
	if (*(volatile uint64_t *)p != word(43, 0)) {
		printf("result: MISMATCH read-only dma-buf view\n");
		return 0;
	}
	munmap(p, len);
	close(ro);
	printf("result: OK bytes=%zu ro-write=%s\n", 2 * len, errname(ro_errno));
	return 0;
}
