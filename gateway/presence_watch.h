/*
 * presence_watch — which groups want their online count
 * (gateway.presence_groups), and the routing key that sends every change of
 * one group to the same worker on every gateway.
 *
 * Patterns are comma-separated, trimmed, empty ones skipped; a pattern
 * matches the group of the same bytes, or, when it ends in '*', every group
 * that starts with the bytes before it — as a token's "groups" claim does
 * (docs/auth.md, "What a token holds"): "company:*" matches "company:7", "*" matches all.
 *
 * The gateway tells the worker that owns a watched group each time the
 * group's members change (a join, a leave, an ungroup, a member's uid bound
 * or unbound, a member closing); the worker counts and pushes
 * (worker/presence.h). Pure: no I/O, no logging.
 */
#ifndef GATECAST_GATEWAY_PRESENCE_WATCH_H
#define GATECAST_GATEWAY_PRESENCE_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct presence_watch;

/* patterns is copied. Never NULL; an empty list watches nothing. */
struct presence_watch *presence_watch_new(const char *patterns);
/* NULL is fine. */
void presence_watch_free(struct presence_watch *pw);

/* Is any group watched at all? (Saves the per-change work when not.) */
bool presence_watch_any(const struct presence_watch *pw);
/* Is group (len bytes, borrowed) watched? */
bool presence_watch_match(const struct presence_watch *pw, const char *group, size_t len);
/* The key that picks group's worker (peers_pick): a hash of its bytes, the
 * same in every process. */
uint64_t presence_watch_key(const char *group, size_t len);

#endif
