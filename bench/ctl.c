/*
 * ctl — see ctl.h.
 */
#include "bench/ctl.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int
ctl_send(int fd, uint32_t kind, const void *payload, size_t len)
{
	uint32_t hdr[2] = {kind, (uint32_t)len};
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)payload, len}};
	int n = 2;
	struct iovec *v = iov;
	while (n > 0) {
		ssize_t w = writev(fd, v, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				usleep(100); /* a non-blocking pipe that is full: wait */
				continue;
			}
			return -errno;
		}
		while (n > 0 && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int
ctl_read(struct ctl_reader *r, int fd)
{
	if (r->taken > 0) {
		buf_consume(&r->in, r->taken);
		r->taken = 0;
	}
	buf_reserve(&r->in, 65536);
	ssize_t n = read(fd, r->in.p + r->in.len, r->in.cap - r->in.len);
	if (n < 0)
		return errno == EINTR ? -EAGAIN : -errno;
	r->in.len += (size_t)n;
	r->in.p[r->in.len] = '\0';
	return (int)n;
}

bool
ctl_next(struct ctl_reader *r, uint32_t *kind, const uint8_t **payload, size_t *len)
{
	size_t avail = r->in.len - r->taken;
	uint32_t hdr[2];
	if (avail < sizeof(hdr))
		return false;
	memcpy(hdr, r->in.p + r->taken, sizeof(hdr));
	if (avail - sizeof(hdr) < hdr[1])
		return false;
	*kind = hdr[0];
	*payload = (const uint8_t *)r->in.p + r->taken + sizeof(hdr);
	*len = hdr[1];
	r->taken += sizeof(hdr) + hdr[1];
	return true;
}

void
ctl_reader_fini(struct ctl_reader *r)
{
	buf_fini(&r->in);
	r->taken = 0;
}
