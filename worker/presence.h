/*
 * presence — when a worker counts a watched group and pushes its online
 * count (gateway.presence_groups; the gateways report each change of such
 * a group to the worker that owns it, gateway/presence_watch.h).
 *
 * Coalescing, per group: the first change counts at once; changes while a
 * count is running, or within PRESENCE_INTERVAL_MS of the last count's
 * start, wait, and one count then covers them all — so members get at most
 * one online_count per group per interval, and the last one reflects the
 * last change. A group is forgotten once an interval has passed with no
 * change and no count running (forgetting it then changes nothing), so the
 * state is the groups that changed within about a second, capped at
 * max_groups; a change to a new group beyond the cap is refused.
 *
 * Pure: the caller passes the time (ms, monotonic), starts the counts
 * (worker.c: a gather over every gateway) and reports their end. No I/O,
 * no logging.
 */
#ifndef GATECAST_WORKER_PRESENCE_H
#define GATECAST_WORKER_PRESENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PRESENCE_INTERVAL_MS 1000

struct presence;

/* A count of group (len bytes, borrowed for the call) is to start now. */
typedef void presence_count_fn(void *arg, const char *group, size_t len);

struct presence *presence_new(size_t max_groups);
/* NULL is fine. */
void presence_free(struct presence *p);

/* group (borrowed) changed at now. Returns 1 when its count must start now
 * (it is marked running: call presence_done when it ends), 0 when a later
 * presence_due will start it, or -ENOSPC when max_groups other groups are
 * tracked (the change is dropped). */
int presence_touch(struct presence *p, const char *group, size_t len, uint64_t now);

/* Calls fn for each group whose count is due at now (each is marked
 * running) and forgets the idle ones. Returns how many counts it started.
 * fn may call presence_done (a count that ended at once), nothing else of
 * p. */
size_t presence_due(struct presence *p, uint64_t now, presence_count_fn *fn, void *arg);

/* The running count of group ended (pushed, or gave up). Unknown groups
 * are ignored. */
void presence_done(struct presence *p, const char *group, size_t len);

/* Groups tracked now. */
size_t presence_tracked(const struct presence *p);

#endif
