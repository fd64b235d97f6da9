/*
 * ctl — messages between the load generator's parent and its client
 * processes, over pipes: a 4-byte kind, a 4-byte length, then that many
 * bytes of payload (the sender's own structs: both ends are the same
 * binary on the same host). Sends block until written, so one side must
 * keep reading; the parent sends only small commands, the children send
 * their reports, and the parent always reads.
 */
#ifndef GATECAST_BENCH_CTL_H
#define GATECAST_BENCH_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

enum ctl_kind {
	/* parent → child */
	CTL_CONNECT = 1,   /* uint32: have this many of the child's clients connected */
	CTL_EXPECT_BCAST,  /* uint32: broadcasts 0..k-1 are coming; tell when all arrived */
	CTL_REPORT,        /* no payload: send CTL_STATS */
	CTL_QUIT,          /* no payload: close every connection and exit */
	/* child → parent */
	CTL_CONNECTED,     /* struct fleet_connected */
	CTL_BCAST_DONE,    /* uint64: monotonic ns of the last broadcast delivery */
	CTL_STATS,         /* struct fleet_stats, then the seen-sequence bitmap */
};

/* Writes one message to fd, blocking until all of it is written
 * (payload borrowed). Returns 0 or a negative errno (-EPIPE: the reader
 * is gone). */
int ctl_send(int fd, uint32_t kind, const void *payload, size_t len);

struct ctl_reader {
	struct buf in;
	size_t taken;  /* bytes of in consumed by ctl_next */
};

/* Reads what fd has (fd non-blocking). Returns the bytes read, 0 at end
 * of file, -EAGAIN when nothing was there, or another negative errno. */
int ctl_read(struct ctl_reader *r, int fd);
/* Takes the next complete message: true and *kind, *payload (valid until
 * the next ctl_read), *len; false when none is complete. */
bool ctl_next(struct ctl_reader *r, uint32_t *kind, const uint8_t **payload, size_t *len);
void ctl_reader_fini(struct ctl_reader *r);

#endif
