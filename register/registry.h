/*
 * registry — the register's table of live members and their leases. Pure
 * data: the caller passes the time in, so tests control the clock.
 *
 * A member is identified by its 64-bit instance id. An announce adds or
 * renews it; a member that does not renew within its lease is expired.
 * The version number grows whenever the set of members (or an inbox
 * address) changes, so members can tell a changed list from a renewal.
 */
#ifndef GATECAST_REGISTER_REGISTRY_H
#define GATECAST_REGISTER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"

struct registry;

struct registry_member {
	uint8_t role;        /* enum proto_role */
	uint64_t id;
	char *inbox;         /* owned by the registry */
	uint64_t expires_ms;
	bool left;           /* a tombstone: it left gracefully; kept for one lease
	                      * so every member hears of it at its next renew */
	bool has_stats;
	struct proto_stats stats; /* its last report; host points into host[] */
	char host[64];
};

struct registry *registry_new(size_t max_members);
void registry_free(struct registry *r);

/* Adds or renews a member. inbox (len bytes) is copied. Returns 1 when the
 * list changed, 0 for a plain renewal, -ENOSPC when full. */
int registry_announce(struct registry *r, uint8_t role, uint64_t id, const char *inbox,
	size_t len, uint32_t lease_ms, uint64_t now_ms);
/* A graceful leave: the member becomes a tombstone (left = true) until
 * now_ms + lease_ms, so members drop it at once instead of after their
 * grace. 1 when it was live, 0 otherwise. */
int registry_remove(struct registry *r, uint64_t id, uint32_t lease_ms, uint64_t now_ms);
/* Keeps st (copied, host truncated to 63 bytes) as the member's last report. */
void registry_set_stats(struct registry *r, uint64_t id, const struct proto_stats *st);
/* Drops members whose lease ran out before now_ms, and tombstones whose
 * time is up; returns how many live members expired. */
size_t registry_expire(struct registry *r, uint64_t now_ms);

/* Entries, tombstones included (see left). */
size_t registry_count(const struct registry *r);
/* Live members only. */
size_t registry_live(const struct registry *r);
/* The i-th member (0 <= i < count), borrowed until the next change. */
const struct registry_member *registry_at(const struct registry *r, size_t i);
uint64_t registry_version(const struct registry *r);

#endif
