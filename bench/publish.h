/*
 * publish — the backend side of a load run: pushes to one client or to
 * all, over a few kept-alive connections, pipelined without waiting for
 * answers (the caller paces them), and the answers matched to the
 * requests in order.
 *
 * Three ways to push, so one load tool drives several servers alike:
 *   PUBLISH_PUSH   JSON lines on gatecast's push port (or anything that
 *                  speaks it: bench/node/server.mjs); send_to_uid,
 *                  send_to_all or send_to_group; reply {"ok":true,"delivered":N}
 *   PUBLISH_HTTP   gatecast's HTTP API: POST /api/send_to_uid etc., same bodies
 *   PUBLISH_NCHAN  nchan's publisher: POST <pub_path with %u = channel>, the
 *                  payload as the body; 201 = had subscribers ("active
 *                  subscribers: N"), 202 = none
 * The payloads are fleet.h's: "U<seq> <t_ns> <client>" and "B<k> <t_ns>".
 *
 * It does not reconnect: a connection the server closes fails its
 * outstanding requests and stays closed.
 */
#ifndef GATECAST_BENCH_PUBLISH_H
#define GATECAST_BENCH_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

enum publish_mode { PUBLISH_PUSH, PUBLISH_HTTP, PUBLISH_NCHAN };

struct publish_opts {
	enum publish_mode mode;
	const char *host;          /* IPv4 address */
	uint16_t port;
	unsigned conns;            /* unicasts go round-robin; broadcasts all on the first */
	const char *uid_prefix;    /* uid of client i is prefix + i (as fleet) */
	const char *pub_path;      /* nchan: "/pub/%u" */
	const char *group;         /* broadcast: NULL = send_to_all (nchan: channel "all") */
	uint64_t max_seq;          /* unicast sequence numbers are below this */
};

struct publish_stats {
	uint64_t sent;        /* requests written or queued */
	uint64_t replies;     /* answers matched to a request */
	uint64_t acked;       /* answers ok with delivered >= 1 */
	uint64_t offline;     /* answers ok with delivered = 0 */
	uint64_t errors;      /* answers not ok, and requests on a closed connection */
	uint64_t deliveries;  /* sum of delivered over the answers */
	uint64_t max_queued;  /* most bytes waiting to be written on one connection */
	uint64_t t_last_reply; /* monotonic ns */
};

struct publisher;

/*
 * Connects o->conns connections (blocking, before the run starts) and
 * watches them on base. o and its strings are borrowed for the
 * publisher's life. Returns NULL with errno set when a connection fails.
 */
struct publisher *publish_new(struct event_base *base, const struct publish_opts *o);
void publish_free(struct publisher *p);

/* Queues a push to client `to`, sequence seq, stamped t_ns. */
void publish_unicast(struct publisher *p, uint64_t seq, uint32_t to, uint64_t t_ns);
/* Queues broadcast k stamped t_ns. */
void publish_broadcast(struct publisher *p, uint32_t k, uint64_t t_ns);
/* Writes what is queued; what the sockets do not take waits for EV_WRITE. */
void publish_flush(struct publisher *p);

const struct publish_stats *publish_stats(const struct publisher *p);
/* Was unicast seq answered ok with delivered >= 1? */
bool publish_acked(const struct publisher *p, uint64_t seq);
/* The first error answer, for the operator ("" when none). */
const char *publish_first_error(const struct publisher *p);

#endif
