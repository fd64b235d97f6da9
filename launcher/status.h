/*
 * status — `gatecast status`: what every process of the cluster says about
 * itself. Gateways and workers put their counters (pid, host, start time,
 * RSS, connections, uids, groups, messages in/out, pushes and pushes/s) in
 * every announce to the register (proto_stats); the register keeps the
 * last one per member and answers a PROTO_STATUS_QUERY with all of them
 * and its own. So the figures are at most register.renew old and come from
 * the processes, on every host — nothing is guessed.
 */
#ifndef GATECAST_LAUNCHER_STATUS_H
#define GATECAST_LAUNCHER_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct buf;
struct config;

/* What the launcher knows of one child, to show those the register does
 * not list (yet). */
struct status_child {
	const char *role;
	unsigned index;
	pid_t pid;   /* 0 = not running (waiting for a restart) */
	bool ready;
};

/* Asks the registers of c (register.connect, or register.listen), sealed
 * with cluster.secret, for the status of every member and appends a table
 * and the cluster totals to out. kids (NULL when nkids is 0) are the
 * launcher's children: those not in the register's list get a row saying
 * so. 0, or -1 with err (size errlen) saying why (no register answered, no
 * cluster.secret). Blocks for at most ~2 s. */
int status_from_register(const struct config *c, const struct status_child *kids, size_t nkids,
	struct buf *out, char *err, size_t errlen);

#endif
