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

#include <stddef.h>
#include <stdint.h>

struct registry;

struct registry_member {
	uint8_t role;        /* enum proto_role */
	uint64_t id;
	char *inbox;         /* owned by the registry */
	uint64_t expires_ms;
};

struct registry *registry_new(size_t max_members);
void registry_free(struct registry *r);

/* Adds or renews a member. inbox (len bytes) is copied. Returns 1 when the
 * list changed, 0 for a plain renewal, -ENOSPC when full. */
int registry_announce(struct registry *r, uint8_t role, uint64_t id, const char *inbox,
	size_t len, uint32_t lease_ms, uint64_t now_ms);
/* Removes a member at once (graceful leave). 1 when removed, 0 if absent. */
int registry_remove(struct registry *r, uint64_t id);
/* Drops members whose lease ran out before now_ms; returns how many. */
size_t registry_expire(struct registry *r, uint64_t now_ms);

size_t registry_count(const struct registry *r);
/* The i-th member (0 <= i < count), borrowed until the next change. */
const struct registry_member *registry_at(const struct registry *r, size_t i);
uint64_t registry_version(const struct registry *r);

#endif
