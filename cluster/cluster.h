/*
 * cluster — what every cluster socket of one process shares: the seal (one
 * sender id and one counter for the whole process, see seal.h) and the TLS
 * settings for tls+tcp:// URLs.
 *
 * The inbox, outlinks, the member side and the register listen, dial, seal
 * and open through here, so TLS is configured in one place and every refused
 * message is counted and logged the same way (rate-limited, never its
 * content). Threat model: SECURITY.md.
 *
 * Each program makes one in prog_init (struct prog's cluster); the
 * launcher, which speaks no cluster protocol, makes none.
 */
#ifndef GATECAST_CLUSTER_CLUSTER_H
#define GATECAST_CLUSTER_CLUSTER_H

#include "common/attr.h"

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct config;
struct cluster;

/* The receiver name (seal.h's `to`) of announces to a register. */
#define CLUSTER_TO_REGISTER "register"
/* Room for cluster_to_member's output. */
#define CLUSTER_TO_MAX 32

/* Is secret (cluster.secret) usable? 0, or -EINVAL with err (size errlen)
 * saying what is wrong and naming the key and GATECAST_CLUSTER_SECRET. The
 * secret is never quoted. */
MUST_CHECK int cluster_check_secret(const char *secret, char *err, size_t errlen);

/* Reads cluster.secret, max_clock_skew and the TLS files' names from c
 * (copied); checks that the secret is usable and that the TLS files, when
 * named, load. self_id is our sender id: random per process start, never
 * reused. Returns the cluster, or NULL with err set (nothing secret in it). */
struct cluster *cluster_new(const struct config *c, uint64_t self_id, char *err, size_t errlen);
/* Wipes the key. NULL is fine. */
void cluster_free(struct cluster *cl);
/* Our sender id. */
uint64_t cluster_id(const struct cluster *cl);

/* nng_listen / nng_dial (flags as for nng_dial) on s, with TLS when url is
 * tls+tcp://: a listener presents cluster.tls_cert/tls_key and, when
 * cluster.tls_ca is set, requires a client certificate chaining to it; a
 * dialer requires the listener's certificate to chain to cluster.tls_ca and
 * to name the URL's host, and presents its own certificate when it has one.
 * A missing or unreadable TLS file is logged (naming the key and file) and
 * fails. Returns 0 or a negative errno (cluster_errno). url is borrowed. */
MUST_CHECK int cluster_listen(struct cluster *cl, nng_socket s, const char *url);
MUST_CHECK int cluster_dial(struct cluster *cl, nng_socket s, const char *url, int flags);

/* nng's error code (positive, as nng returns it) as a negative errno, so
 * that nng's codes never leave the files that call nng: NNG_ESYSERR | e
 * becomes -e, the others their nearest errno (-EIO when there is none). */
int cluster_errno(int nng_err);

/* Seals m (appends the trailer) for receiver `to`, stamped with the wall
 * clock. */
void cluster_seal(struct cluster *cl, nng_msg *m, const char *to);
/* The same for bytes: appends the trailer for b's contents to b. */
void cluster_seal_buf(struct cluster *cl, struct buf *b, const char *to);
/* Opens m as received by `to`: 0 with the trailer removed and *from set to
 * the sender id, or a negative errno from seal_check. A refusal is counted
 * and logged at most once a second (event=cluster_message_refused, with
 * `where` — the socket's URL — and the reason, never the bytes); the caller
 * then drops m and answers nothing. Strings are borrowed. */
MUST_CHECK int cluster_open(struct cluster *cl, nng_msg *m, const char *to, const char *where,
	uint64_t *from);
/* The same for the n bytes at p (borrowed): on 0 the body is the first
 * n - SEAL_TRAILER of them (seal.h). */
MUST_CHECK int cluster_open_bytes(struct cluster *cl, const void *p, size_t n, const char *to,
	const char *where, uint64_t *from);

/* The receiver name of the register's answer to the member whose sender id
 * is id: "member:<16 hex digits>". */
void cluster_to_member(char out[CLUSTER_TO_MAX], uint64_t id);

#endif
