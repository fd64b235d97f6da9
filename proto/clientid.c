/*
 * proto/clientid — client id text form and gateway instance ids (contract in
 * clientid.h).
 *
 * Formatting and parsing are hand-rolled hex rather than printf/strtoull: a
 * gateway formats one id per connection, and strtoull would accept signs,
 * spaces and "0x" that are not part of the format.
 */
#include "proto/clientid.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/hex.h"

static const char clientid_hex[] = "0123456789abcdef";

void
clientid_format(uint64_t gateway, uint64_t seq, char out[CLIENTID_LEN + 1])
{
	assert(seq <= CLIENTID_SEQ_MAX);
	seq &= CLIENTID_SEQ_MAX;
	for (int i = 15; i >= 0; i--, gateway >>= 4)
		out[i] = clientid_hex[gateway & 0xf];
	for (int i = CLIENTID_LEN - 1; i >= 16; i--, seq >>= 4)
		out[i] = clientid_hex[seq & 0xf];
	out[CLIENTID_LEN] = '\0';
}

bool
clientid_parse(const char *s, size_t len, uint64_t *gateway, uint64_t *seq)
{
	uint64_t g = 0, q = 0;

	if (s == NULL || len != CLIENTID_LEN)
		return false;
	for (size_t i = 0; i < CLIENTID_LEN; i++) {
		int v = hex_digit(s[i]);
		if (v < 0)
			return false;
		if (i < 16)
			g = g << 4 | (uint64_t)v;
		else
			q = q << 4 | (uint64_t)v;
	}
	if (gateway != NULL)
		*gateway = g;
	if (seq != NULL)
		*seq = q;
	return true;
}

/* Fills p with n random bytes; false when no source answered. */
static bool
clientid_random(void *p, size_t n)
{
	unsigned char *b = p;
	size_t got = 0;
	int fd;

	/* GRND_NONBLOCK: early in boot, before the pool is seeded, fall back to
	 * /dev/urandom instead of stalling the start. */
	while (got < n) {
		ssize_t r = getrandom(b + got, n - got, GRND_NONBLOCK);
		if (r > 0)
			got += (size_t)r;
		else if (r < 0 && errno != EINTR)
			break;
	}
	if (got == n)
		return true;

	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	got = 0;
	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0 || errno != EINTR)
			break;
	}
	close(fd);
	return got == n;
}

uint64_t
clientid_new_instance(void)
{
	uint32_t low;

	if (!clientid_random(&low, sizeof low)) {
		/* No randomness at all: still differ from a sibling started in
		 * the same second, by pid and clock nanoseconds. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		low = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() * 2654435761u;
	}
	return (uint64_t)time(NULL) << 32 | low;
}
