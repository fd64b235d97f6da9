/*
 * seal — proof that a cluster message comes from a holder of cluster.secret,
 * is meant for this receiver, is fresh, and is seen once.
 *
 * Every message between gatecast processes (inbox traffic, announces and the
 * register's answers) carries a 40-byte trailer after its body:
 *
 *   sender   u64 big-endian   the sending process's seal id (random per start)
 *   counter  u64 big-endian   per sending process, +1 per sealed message
 *   time     u64 big-endian   the sender's wall clock, unix milliseconds
 *   tag      16 bytes         HMAC-SHA256(key, u32be(len(to)) || to ||
 *                                         sender || counter || time || body),
 *                             truncated to its first 16 bytes
 *
 * key = HMAC-SHA256(cluster.secret, "gatecast cluster v1"), so the secret
 * itself keys one computation and is not kept. `to` names the receiving end
 * and is never sent: both ends know it (an inbox's URL; "register" for
 * announces; "member:<hex seal id>" for the register's answer to one member),
 * so a message sealed for one receiver does not open at another.
 *
 * Opening checks, in this order: the length, the tag (constant time), the
 * time (|time - now| <= max_skew), then the counter against a replay window
 * per sender (RFC 4303 §3.4.3: the highest counter seen and a 64-bit bitmap
 * below it), so each counter opens at most once and a reorder of up to 64
 * messages is tolerated. Only a message whose tag verified touches the
 * sender table. The table holds SEAL_MAX_SENDERS senders and forgets the
 * least recently heard one when full; a sender not in the table is accepted
 * on its time alone (SECURITY.md says what that allows).
 *
 * Pure: no I/O, no logging, no clock (callers pass now). Not thread-safe: one
 * seal per process, used from its loop thread.
 */
#ifndef GATECAST_CLUSTER_SEAL_H
#define GATECAST_CLUSTER_SEAL_H

#include "common/attr.h"

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>

#define SEAL_TAG_LEN 16
#define SEAL_TRAILER (24 + SEAL_TAG_LEN)
#define SEAL_WINDOW 64           /* counters below the highest still accepted once */
#define SEAL_MAX_SENDERS 4096    /* senders remembered; least recently heard evicted */
#define SEAL_MIN_SECRET 16       /* bytes of cluster.secret, at least */

struct seal;

/* Counts since seal_new, for logs and metrics. */
struct seal_stats {
	uint64_t sealed;
	uint64_t opened;
	uint64_t malformed; /* shorter than a trailer */
	uint64_t forged;    /* tag mismatch: wrong secret, tampered, or not for us */
	uint64_t stale;     /* time outside the skew window */
	uint64_t replayed;  /* counter already seen, or below the window */
	uint64_t evicted;   /* senders forgotten because the table was full */
};

/* A seal keyed by secret (NUL-terminated, any length; borrowed for the call,
 * not kept), sealing as self_id, accepting times within max_skew_ms of now.
 * Never fails (aborts on out-of-memory). */
struct seal *seal_new(const char *secret, uint64_t self_id, uint32_t max_skew_ms);
/* Wipes the key and frees. NULL is fine. */
void seal_free(struct seal *s);
/* Our sender id. */
uint64_t seal_id(const struct seal *s);
/* Borrowed; valid until seal_free. */
const struct seal_stats *seal_stats(const struct seal *s);

/* Writes the trailer for body (n bytes) sealed for `to` (NUL-terminated)
 * into out, using the next counter. Bytes are borrowed for the call. */
void seal_trailer(struct seal *s, const void *body, size_t n, const char *to, uint64_t now_ms,
	unsigned char out[SEAL_TRAILER]);
/* Checks the n bytes at p (a body followed by its trailer) as received by
 * `to`. Returns 0 with *sender set (the body is the first n - SEAL_TRAILER
 * bytes), or:
 *   -EBADMSG  shorter than a trailer
 *   -EPERM    the tag does not match (wrong secret, altered, meant for
 *             another receiver)
 *   -ETIME    the time is more than max_skew from now
 *   -EALREADY the counter was seen before, or is too far below the highest
 * Nothing is remembered unless 0 is returned. Bytes are borrowed. */
MUST_CHECK int seal_check(struct seal *s, const void *p, size_t n, const char *to, uint64_t now_ms,
	uint64_t *sender);

/* seal_trailer for an nng message: appends the trailer to m's body. */
void seal_msg(struct seal *s, nng_msg *m, const char *to, uint64_t now_ms);
/* seal_check for an nng message; on 0 the trailer is removed from m's body.
 * m stays the caller's either way. */
MUST_CHECK int seal_open(struct seal *s, nng_msg *m, const char *to, uint64_t now_ms, uint64_t *sender);

#endif
