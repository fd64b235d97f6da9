/*
 * member — a gateway's or worker's side of discovery: announce ourselves to
 * every configured register with a renewed lease, and keep the live list of
 * the other members.
 *
 * With several registers the view is the union of their lists. A peer that
 * left gracefully is dropped as soon as a register says so; any other stays
 * in the view until no register has listed it for one lease, so traffic goes
 * on while a register is down or restarting (the view is frozen meanwhile),
 * and a register that comes back empty causes no churn. Each change of the view is logged as
 * event=cluster_view with the counts per role and passed to the callback.
 *
 * The first answer of a register means it lists us: the member then reports
 * readiness (notify.h: READY=1 to systemd or the launcher).
 *
 * Announces are sealed, and answers must open, with the process's seal
 * (cluster.h). A register refuses an announce it cannot open by not
 * answering at all, so a register that stays silent for a lease is logged
 * (event=register_unanswered) with the likely causes: down, unreachable, or
 * holding another cluster.secret.
 */
#ifndef GATECAST_CLUSTER_MEMBER_H
#define GATECAST_CLUSTER_MEMBER_H

#include <stddef.h>
#include <stdint.h>

struct cluster;
struct config;
struct event_base;
struct member;

struct member_peer {
	uint8_t role; /* enum proto_role */
	uint64_t id;
	const char *inbox;
};

/* The live members other than ourselves, sorted by id. Borrowed for the call. */
struct member_view {
	size_t n;
	const struct member_peer *v;
};

typedef void member_view_fn(void *arg, const struct member_view *view);

struct proto_stats;
/* Fills what only the program knows (connections, uids, groups, msgs_in,
 * msgs_out, pushes, draining) of the report sent with every announce;
 * the member adds pid, host, start time, RSS and push_rate. */
typedef void member_stats_fn(void *arg, struct proto_stats *st);

/* Starts announcing (role, id, inbox) to the registers of c->register_connect
 * (or c->register_listen when empty), dialing them through cl. c and inbox
 * are copied from; cl (which must outlive the member) and arg are borrowed.
 * Returns NULL with *err (a negative errno) when a register URL is
 * invalid or cannot be dialed (a tls+tcp:// URL without cluster.tls_ca). */
struct member *member_new(struct event_base *base, struct cluster *cl, const struct config *c,
	uint8_t role, uint64_t id, const char *inbox, member_view_fn *fn, void *arg, int *err);
/* Reports fn's figures with every announce from now on (gatecast status). */
void member_set_stats(struct member *m, member_stats_fn *fn, void *arg);
/* Tells the registers we are leaving (best effort, waits at most ~200 ms).
 * They keep us as "left" for a lease, and members that hear it drop us at
 * once rather than after a lease. */
void member_leave(struct member *m);
void member_free(struct member *m);
/* Asks the registers for the live list now (at most every 50 ms): for when
 * a message arrives from a member we do not know yet. */
void member_poke(struct member *m);

#endif
