/*
 * conn_index — the gateway's connection state: client sequence number →
 * connection, uid → connections, group → connections, and per connection its
 * uid and groups.
 *
 * The index stores an opaque pointer per connection and never dereferences
 * it. Keys are byte strings (uids, groups) given as pointer + length; the
 * index copies them. It is pure data structure code: no I/O, no logging.
 *
 * Iteration callbacks must not add to or remove from the index (the gateway
 * closes connections asynchronously, so a visit never frees anything).
 *
 * Memory matters: a gateway holds up to hundreds of thousands of connections.
 * Per-connection overhead of the index should stay small (an entry in an id
 * hash; uid/group sets only for connections that have them).
 */
#ifndef GATECAST_GATEWAY_CONN_INDEX_H
#define GATECAST_GATEWAY_CONN_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn_index;

/* Visits one connection: id and the pointer given to conn_index_add. */
typedef void conn_index_visit_fn(void *arg, uint64_t id, void *conn);
/* Visits one name (uid or group); name is NOT NUL-terminated and borrowed for
 * the call. */
typedef void conn_index_name_fn(void *arg, const char *name, size_t len);

struct conn_index *conn_index_new(void);
/* Frees the index (not the connections). NULL is fine. */
void conn_index_free(struct conn_index *ix);

/* Adds a connection. Returns 0 or -EEXIST when id is present. conn is
 * borrowed and must stay valid until conn_index_remove. */
int conn_index_add(struct conn_index *ix, uint64_t id, void *conn);
/* The connection's pointer, or NULL when id is not present. */
void *conn_index_get(const struct conn_index *ix, uint64_t id);
/* Removes the connection and its uid binding and group memberships. No-op
 * when absent. */
void conn_index_remove(struct conn_index *ix, uint64_t id);

/* Binds uid to the connection, replacing any uid it had (a connection has at
 * most one uid; a uid may have many connections). Returns 0 or -ENOENT. */
int conn_index_bind(struct conn_index *ix, uint64_t id, const char *uid, size_t len);
/* Removes the connection's uid binding. Returns 0, -ENOENT (no such
 * connection) or -ENODATA (it had no uid). */
int conn_index_unbind(struct conn_index *ix, uint64_t id);
/* The connection's uid (not NUL-terminated, *len set) or NULL. Borrowed until
 * the next change of that connection. */
const char *conn_index_uid(const struct conn_index *ix, uint64_t id, size_t *len);

/* Adds the connection to group. Returns 0 (also when already a member),
 * -ENOENT (no such connection). */
int conn_index_join(struct conn_index *ix, uint64_t id, const char *group, size_t len);
/* Removes the connection from group. 0, -ENOENT (no such connection) or
 * -ENODATA (not a member). */
int conn_index_leave(struct conn_index *ix, uint64_t id, const char *group, size_t len);
/* Removes every member of group; returns how many there were. */
size_t conn_index_ungroup(struct conn_index *ix, const char *group, size_t len);
/* Number of groups the connection is in (0 when absent). */
size_t conn_index_group_count_of(const struct conn_index *ix, uint64_t id);

/* Visits connections; each returns how many it visited. */
size_t conn_index_each(const struct conn_index *ix, conn_index_visit_fn *fn, void *arg);
size_t conn_index_each_of_uid(const struct conn_index *ix, const char *uid, size_t len,
	conn_index_visit_fn *fn, void *arg);
size_t conn_index_each_of_group(const struct conn_index *ix, const char *group, size_t len,
	conn_index_visit_fn *fn, void *arg);

/* Counts. */
size_t conn_index_count(const struct conn_index *ix);             /* connections */
size_t conn_index_uid_total(const struct conn_index *ix);         /* distinct uids */
size_t conn_index_group_total(const struct conn_index *ix);       /* non-empty groups */
size_t conn_index_count_of_uid(const struct conn_index *ix, const char *uid, size_t len);
size_t conn_index_count_of_group(const struct conn_index *ix, const char *group, size_t len);

/* Visits names: every bound uid; every non-empty group; the distinct uids of
 * the members of group (connections without a uid are skipped). Each returns
 * how many names it visited. */
size_t conn_index_each_uid_name(const struct conn_index *ix, conn_index_name_fn *fn, void *arg);
size_t conn_index_each_group_name(const struct conn_index *ix, conn_index_name_fn *fn, void *arg);
size_t conn_index_each_uid_of_group(const struct conn_index *ix, const char *group, size_t len,
	conn_index_name_fn *fn, void *arg);
/* Visits the names of the groups connection id is in (none when absent);
 * returns how many. */
size_t conn_index_each_group_of(const struct conn_index *ix, uint64_t id, conn_index_name_fn *fn,
	void *arg);

#endif
