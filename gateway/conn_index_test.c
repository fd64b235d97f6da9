/*
 * conn_index_test — the connection index against its contract, then a long
 * randomized run checked against a naive model (so table growth, shrinking
 * and deletion paths all run), then a rough memory figure per connection.
 */
#include "gateway/conn_index.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "tests/tap.h"

#define S(lit) lit, sizeof(lit) - 1

/* --- visitors --- */

#define MAX_SEEN 64

struct seen_ids {
	size_t n;
	uint64_t id[MAX_SEEN];
	void *conn[MAX_SEEN];
};

static void
seen_id(void *arg, uint64_t id, void *conn)
{
	struct seen_ids *s = arg;
	if (s->n < MAX_SEEN) {
		s->id[s->n] = id;
		s->conn[s->n] = conn;
	}
	s->n++;
}

static bool
seen_has_id(const struct seen_ids *s, uint64_t id)
{
	for (size_t i = 0; i < s->n && i < MAX_SEEN; i++)
		if (s->id[i] == id)
			return true;
	return false;
}

struct seen_names {
	size_t n;
	char name[MAX_SEEN][1100];
	size_t len[MAX_SEEN];
};

static void
seen_name(void *arg, const char *name, size_t len)
{
	struct seen_names *s = arg;
	if (s->n < MAX_SEEN && len <= sizeof s->name[0]) {
		memcpy(s->name[s->n], name, len);
		s->len[s->n] = len;
	}
	s->n++;
}

static bool
seen_has_name(const struct seen_names *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n && i < MAX_SEEN; i++)
		if (s->len[i] == len && memcmp(s->name[i], name, len) == 0)
			return true;
	return false;
}

static struct seen_ids *
ids_of_uid(struct conn_index *ix, const char *uid, size_t len)
{
	static struct seen_ids s;
	s.n = 0;
	conn_index_each_of_uid(ix, uid, len, seen_id, &s);
	return &s;
}

static struct seen_ids *
ids_of_group(struct conn_index *ix, const char *group, size_t len)
{
	static struct seen_ids s;
	s.n = 0;
	conn_index_each_of_group(ix, group, len, seen_id, &s);
	return &s;
}

static struct seen_names *
uid_names(struct conn_index *ix)
{
	static struct seen_names s;
	s.n = 0;
	conn_index_each_uid_name(ix, seen_name, &s);
	return &s;
}

static struct seen_names *
group_names(struct conn_index *ix)
{
	static struct seen_names s;
	s.n = 0;
	conn_index_each_group_name(ix, seen_name, &s);
	return &s;
}

static struct seen_names *
uids_of_group(struct conn_index *ix, const char *group, size_t len)
{
	static struct seen_names s;
	s.n = 0;
	conn_index_each_uid_of_group(ix, group, len, seen_name, &s);
	return &s;
}

/* --- contract tests --- */

static int conn_a, conn_b, conn_c;

static void
test_lifecycle(void)
{
	conn_index_free(NULL);
	tap_ok(1, "free accepts NULL");

	struct conn_index *ix = conn_index_new();
	tap_eq_int(conn_index_count(ix), 0, "a new index is empty");
	tap_eq_int(conn_index_uid_total(ix), 0, "a new index has no uids");
	tap_eq_int(conn_index_group_total(ix), 0, "a new index has no groups");
	struct seen_ids s = {0};
	tap_eq_int(conn_index_each(ix, seen_id, &s), 0, "each on an empty index visits nothing");
	tap_eq_int(s.n, 0, "each on an empty index calls nothing");

	tap_eq_int(conn_index_add(ix, 1, &conn_a), 0, "add succeeds");
	tap_eq_int(conn_index_add(ix, 1, &conn_b), -EEXIST, "add of a present id is EEXIST");
	tap_ok(conn_index_get(ix, 1) == &conn_a, "get returns the added pointer");
	tap_ok(conn_index_get(ix, 2) == NULL, "get of a missing id is NULL");
	tap_eq_int(conn_index_add(ix, 0, &conn_b), 0, "id 0 is an ordinary id");
	tap_eq_int(conn_index_add(ix, UINT64_MAX, &conn_c), 0, "the largest id is an ordinary id");
	tap_ok(conn_index_get(ix, 0) == &conn_b && conn_index_get(ix, UINT64_MAX) == &conn_c,
		"get finds ids 0 and UINT64_MAX");
	tap_eq_int(conn_index_count(ix), 3, "count counts connections");

	s.n = 0;
	tap_eq_int(conn_index_each(ix, seen_id, &s), 3, "each returns how many it visited");
	tap_ok(s.n == 3 && seen_has_id(&s, 0) && seen_has_id(&s, 1) && seen_has_id(&s, UINT64_MAX),
		"each visits every connection once");
	bool pointers = true;
	for (size_t i = 0; i < s.n; i++)
		if (conn_index_get(ix, s.id[i]) != s.conn[i])
			pointers = false;
	tap_ok(pointers, "each passes each connection's pointer");

	conn_index_remove(ix, 1);
	tap_ok(conn_index_get(ix, 1) == NULL, "remove makes the id absent");
	tap_eq_int(conn_index_count(ix), 2, "remove lowers the count");
	conn_index_remove(ix, 1);
	conn_index_remove(ix, 12345);
	tap_eq_int(conn_index_count(ix), 2, "remove of a missing id is a no-op");
	tap_eq_int(conn_index_add(ix, 1, &conn_b), 0, "a removed id can be added again");
	tap_ok(conn_index_get(ix, 1) == &conn_b, "the re-added id has its new pointer");
	conn_index_free(ix);
}

static void
test_missing(void)
{
	struct conn_index *ix = conn_index_new();
	size_t len = 99;
	tap_eq_int(conn_index_bind(ix, 7, S("u")), -ENOENT, "bind of a missing id is ENOENT");
	tap_eq_int(conn_index_unbind(ix, 7), -ENOENT, "unbind of a missing id is ENOENT");
	tap_eq_int(conn_index_join(ix, 7, S("g")), -ENOENT, "join of a missing id is ENOENT");
	tap_eq_int(conn_index_leave(ix, 7, S("g")), -ENOENT, "leave of a missing id is ENOENT");
	tap_ok(conn_index_uid(ix, 7, &len) == NULL, "uid of a missing id is NULL");
	tap_eq_int(conn_index_group_count_of(ix, 7), 0, "a missing id is in no groups");
	tap_eq_int(conn_index_uid_total(ix) + conn_index_group_total(ix), 0,
		"failed calls create no uids or groups");
	tap_eq_int(conn_index_ungroup(ix, S("g")), 0, "ungroup of an unknown group removes nothing");
	tap_eq_int(conn_index_count_of_uid(ix, S("u")), 0, "an unknown uid has no connections");
	tap_eq_int(conn_index_count_of_group(ix, S("g")), 0, "an unknown group has no connections");
	struct seen_ids s = {0};
	tap_eq_int(conn_index_each_of_uid(ix, S("u"), seen_id, &s), 0,
		"each_of_uid of an unknown uid visits nothing");
	tap_eq_int(conn_index_each_of_group(ix, S("g"), seen_id, &s), 0,
		"each_of_group of an unknown group visits nothing");
	tap_eq_int(s.n, 0, "visits of unknown names call nothing");
	tap_eq_int(uids_of_group(ix, S("g"))->n, 0, "an unknown group has no uids");

	tap_eq_int(conn_index_add(ix, 7, &conn_a), 0, "add for the ENODATA checks");
	tap_ok(conn_index_uid(ix, 7, &len) == NULL, "uid of a connection without one is NULL");
	tap_eq_int(conn_index_unbind(ix, 7), -ENODATA, "unbind without a uid is ENODATA");
	tap_eq_int(conn_index_leave(ix, 7, S("g")), -ENODATA, "leave of an unknown group is ENODATA");
	tap_eq_int(conn_index_add(ix, 8, &conn_b), 0, "add a second connection");
	tap_eq_int(conn_index_join(ix, 8, S("g")), 0, "the second connection joins g");
	tap_eq_int(conn_index_leave(ix, 7, S("g")), -ENODATA,
		"leave of a group the connection is not in is ENODATA");
	tap_eq_int(conn_index_count_of_group(ix, S("g")), 1, "a failed leave changes nothing");
	conn_index_free(ix);
}

static void
test_uids(void)
{
	struct conn_index *ix = conn_index_new();
	size_t len = 0;
	conn_index_add(ix, 1, &conn_a);
	conn_index_add(ix, 2, &conn_b);

	tap_eq_int(conn_index_bind(ix, 1, S("alice")), 0, "bind succeeds");
	const char *u = conn_index_uid(ix, 1, &len);
	tap_ok(u != NULL && len == 5 && memcmp(u, "alice", 5) == 0, "uid returns the bound uid");
	tap_eq_int(conn_index_uid_total(ix), 1, "a bound uid is counted");
	tap_eq_int(conn_index_bind(ix, 1, S("alice")), 0, "binding the same uid again succeeds");
	tap_eq_int(conn_index_count_of_uid(ix, S("alice")), 1, "binding the same uid again adds nothing");

	tap_eq_int(conn_index_bind(ix, 1, S("bob")), 0, "bind to another uid succeeds");
	u = conn_index_uid(ix, 1, &len);
	tap_ok(u != NULL && len == 3 && memcmp(u, "bob", 3) == 0, "bind replaces the old uid");
	tap_eq_int(conn_index_count_of_uid(ix, S("alice")), 0, "the old uid loses the connection");
	tap_eq_int(conn_index_uid_total(ix), 1, "a uid without connections is not counted");
	struct seen_names *names = uid_names(ix);
	tap_ok(names->n == 1 && seen_has_name(names, S("bob")), "the old uid vanishes from the names");

	tap_eq_int(conn_index_bind(ix, 2, S("bob")), 0, "a second connection binds the same uid");
	tap_eq_int(conn_index_count_of_uid(ix, S("bob")), 2, "a uid counts both its connections");
	tap_eq_int(conn_index_uid_total(ix), 1, "two connections of one uid are one uid");
	struct seen_ids *s = ids_of_uid(ix, S("bob"));
	tap_ok(s->n == 2 && seen_has_id(s, 1) && seen_has_id(s, 2), "each_of_uid visits both connections");
	tap_eq_int(conn_index_each_of_uid(ix, S("bob"), seen_id, &(struct seen_ids){0}), 2,
		"each_of_uid returns how many it visited");
	tap_ok(s->conn[0] == &conn_a || s->conn[0] == &conn_b, "each_of_uid passes the pointers");

	tap_eq_int(conn_index_unbind(ix, 1), 0, "unbind succeeds");
	tap_ok(conn_index_uid(ix, 1, &len) == NULL, "unbind clears the uid");
	tap_eq_int(conn_index_count_of_uid(ix, S("bob")), 1, "unbind leaves the uid's other connection");
	tap_eq_int(conn_index_unbind(ix, 1), -ENODATA, "a second unbind is ENODATA");
	conn_index_remove(ix, 2);
	tap_eq_int(conn_index_uid_total(ix), 0, "removing the last connection removes the uid");
	tap_eq_int(uid_names(ix)->n, 0, "no uid names remain");
	conn_index_free(ix);
}

static void
test_groups(void)
{
	struct conn_index *ix = conn_index_new();
	conn_index_add(ix, 1, &conn_a);
	conn_index_add(ix, 2, &conn_b);
	conn_index_add(ix, 3, &conn_c);

	tap_eq_int(conn_index_join(ix, 1, S("room")), 0, "join succeeds");
	tap_eq_int(conn_index_join(ix, 1, S("room")), 0, "joining again succeeds");
	tap_eq_int(conn_index_count_of_group(ix, S("room")), 1, "join is idempotent");
	tap_eq_int(conn_index_group_count_of(ix, 1), 1, "a repeated join counts once for the connection");
	conn_index_join(ix, 2, S("room"));
	conn_index_join(ix, 3, S("room"));
	conn_index_join(ix, 1, S("lobby"));
	tap_eq_int(conn_index_group_total(ix), 2, "group_total counts groups");
	tap_eq_int(conn_index_group_count_of(ix, 1), 2, "group_count_of counts a connection's groups");
	struct seen_ids *s = ids_of_group(ix, S("room"));
	tap_ok(s->n == 3 && seen_has_id(s, 1) && seen_has_id(s, 2) && seen_has_id(s, 3),
		"each_of_group visits every member");
	struct seen_names *names = group_names(ix);
	tap_ok(names->n == 2 && seen_has_name(names, S("room")) && seen_has_name(names, S("lobby")),
		"each_group_name visits every group");

	tap_eq_int(conn_index_leave(ix, 2, S("room")), 0, "leave succeeds");
	tap_eq_int(conn_index_count_of_group(ix, S("room")), 2, "leave removes the member");
	s = ids_of_group(ix, S("room"));
	tap_ok(s->n == 2 && !seen_has_id(s, 2), "a connection that left is not visited");
	tap_eq_int(conn_index_leave(ix, 2, S("room")), -ENODATA, "leaving twice is ENODATA");
	tap_eq_int(conn_index_leave(ix, 1, S("lobby")), 0, "leaving the only member's group succeeds");
	tap_eq_int(conn_index_group_total(ix), 1, "an empty group is not counted");
	names = group_names(ix);
	tap_ok(names->n == 1 && !seen_has_name(names, S("lobby")), "an empty group vanishes from the names");

	conn_index_join(ix, 2, S("room"));
	conn_index_join(ix, 2, S("other"));
	tap_eq_int(conn_index_ungroup(ix, S("room")), 3, "ungroup returns how many members there were");
	tap_eq_int(conn_index_count_of_group(ix, S("room")), 0, "ungroup empties the group");
	tap_eq_int(conn_index_group_total(ix), 1, "ungroup removes the group");
	tap_eq_int(conn_index_group_count_of(ix, 1), 0, "ungroup removes the group from its members");
	tap_eq_int(conn_index_group_count_of(ix, 2), 1, "ungroup keeps the members' other groups");
	tap_eq_int(conn_index_count_of_group(ix, S("other")), 1, "the other group keeps its member");
	tap_eq_int(conn_index_ungroup(ix, S("room")), 0, "a second ungroup removes nothing");
	tap_eq_int(conn_index_count(ix), 3, "ungroup keeps the connections");

	/* One connection in many groups, left in mixed order. */
	char name[16];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "g%d", i);
		conn_index_join(ix, 3, name, strlen(name));
		conn_index_join(ix, 1, name, strlen(name));
	}
	tap_eq_int(conn_index_group_count_of(ix, 3), 20, "a connection can be in many groups");
	bool ok = true;
	for (int i = 0; i < 20; i += 2) {
		snprintf(name, sizeof name, "g%d", i);
		ok &= conn_index_leave(ix, 3, name, strlen(name)) == 0;
	}
	tap_ok(ok, "leaving half of many groups succeeds");
	tap_eq_int(conn_index_group_count_of(ix, 3), 10, "leaving half of many groups leaves the rest");
	ok = true;
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "g%d", i);
		ok &= conn_index_count_of_group(ix, name, strlen(name)) == (size_t)(i % 2 ? 2 : 1);
	}
	tap_ok(ok, "every group keeps the right members");
	conn_index_remove(ix, 1);
	tap_eq_int(conn_index_group_total(ix), 11, "remove drops the connection from all its groups");
	conn_index_free(ix);
}

static void
test_remove_cleans(void)
{
	struct conn_index *ix = conn_index_new();
	conn_index_add(ix, 1, &conn_a);
	conn_index_bind(ix, 1, S("alice"));
	conn_index_join(ix, 1, S("g1"));
	conn_index_join(ix, 1, S("g2"));
	conn_index_join(ix, 1, S("g3"));
	conn_index_remove(ix, 1);
	tap_eq_int(conn_index_count(ix), 0, "remove cleans the connection");
	tap_eq_int(conn_index_uid_total(ix), 0, "remove cleans the uid");
	tap_eq_int(conn_index_group_total(ix), 0, "remove cleans the groups");
	tap_eq_int(conn_index_count_of_uid(ix, S("alice")), 0, "the removed connection's uid is empty");
	tap_eq_int(conn_index_count_of_group(ix, S("g2")), 0, "the removed connection's groups are empty");
	tap_eq_int(uid_names(ix)->n + group_names(ix)->n, 0, "names of a removed connection vanish");
	tap_eq_int(conn_index_add(ix, 1, &conn_b), 0, "the id can be added again");
	tap_ok(conn_index_uid(ix, 1, &(size_t){0}) == NULL && conn_index_group_count_of(ix, 1) == 0,
		"a re-added id starts with no uid and no groups");
	conn_index_free(ix);
}

static void
test_uids_of_group(void)
{
	struct conn_index *ix = conn_index_new();
	for (uint64_t id = 1; id <= 5; id++)
		conn_index_add(ix, id, &conn_a);
	conn_index_bind(ix, 1, S("alice"));
	conn_index_bind(ix, 2, S("alice"));
	conn_index_bind(ix, 3, S("bob"));
	conn_index_bind(ix, 5, S("carol"));
	for (uint64_t id = 1; id <= 4; id++)
		conn_index_join(ix, id, S("room"));
	struct seen_names *names = uids_of_group(ix, S("room"));
	tap_eq_int(names->n, 2, "each_uid_of_group visits each distinct uid once");
	tap_ok(seen_has_name(names, S("alice")) && seen_has_name(names, S("bob")) &&
			!seen_has_name(names, S("carol")),
		"each_uid_of_group visits the uids of members only");
	tap_eq_int(conn_index_each_uid_of_group(ix, S("room"), seen_name, &(struct seen_names){0}), 2,
		"each_uid_of_group returns how many names it visited");
	conn_index_join(ix, 4, S("nobody"));
	tap_eq_int(uids_of_group(ix, S("nobody"))->n, 0, "members without a uid are skipped");
	conn_index_free(ix);
}

static struct seen_names *
groups_of(struct conn_index *ix, uint64_t id)
{
	static struct seen_names s;
	s.n = 0;
	conn_index_each_group_of(ix, id, seen_name, &s);
	return &s;
}

static void
test_groups_of(void)
{
	struct conn_index *ix = conn_index_new();
	conn_index_add(ix, 1, &conn_a);
	conn_index_add(ix, 2, &conn_b);
	tap_eq_int(groups_of(ix, 1)->n, 0, "each_group_of a connection in no group visits nothing");
	tap_eq_int(groups_of(ix, 9)->n, 0, "each_group_of an absent connection visits nothing");
	conn_index_join(ix, 1, S("one"));
	struct seen_names *g = groups_of(ix, 1);
	tap_ok(g->n == 1 && seen_has_name(g, S("one")), "each_group_of visits the only group");
	conn_index_join(ix, 1, S("a long group name past the inline bytes"));
	conn_index_join(ix, 1, S("three"));
	conn_index_join(ix, 2, S("other"));
	conn_index_leave(ix, 1, S("one"));
	g = groups_of(ix, 1);
	tap_ok(g->n == 2 && seen_has_name(g, S("a long group name past the inline bytes")) &&
			seen_has_name(g, S("three")) && !seen_has_name(g, S("other")),
		"each_group_of visits the connection's groups, not others'");
	tap_eq_int(conn_index_each_group_of(ix, 1, seen_name, &(struct seen_names){0}), 2,
		"each_group_of returns how many groups it visited");
	conn_index_free(ix);
}

static void
test_odd_names(void)
{
	struct conn_index *ix = conn_index_new();
	size_t len = 0;
	conn_index_add(ix, 1, &conn_a);
	conn_index_add(ix, 2, &conn_b);
	conn_index_add(ix, 3, &conn_c);

	conn_index_bind(ix, 1, S("a\0b"));
	conn_index_bind(ix, 2, S("a\0c"));
	conn_index_bind(ix, 3, S("a"));
	tap_eq_int(conn_index_uid_total(ix), 3, "names differing after a zero byte are distinct");
	const char *u = conn_index_uid(ix, 1, &len);
	tap_ok(u != NULL && len == 3 && memcmp(u, "a\0b", 3) == 0, "uid returns bytes past a zero byte");
	tap_eq_int(conn_index_count_of_uid(ix, S("a\0b")), 1, "a name with a zero byte is found");
	struct seen_names *names = uid_names(ix);
	tap_ok(names->n == 3 && seen_has_name(names, S("a\0b")) && seen_has_name(names, S("a\0c")) &&
			seen_has_name(names, S("a")),
		"names with zero bytes are visited whole");

	conn_index_bind(ix, 3, "", 0);
	u = conn_index_uid(ix, 3, &len);
	tap_ok(u != NULL && len == 0, "the empty name is a uid");
	tap_eq_int(conn_index_count_of_uid(ix, "", 0), 1, "the empty uid is found");
	tap_eq_int(conn_index_join(ix, 3, "", 0), 0, "the empty name is a group");
	tap_eq_int(conn_index_count_of_group(ix, "", 0), 1, "the empty group is found");

	/* Long names, around the length where storage may change, and pairs
	 * differing only in the last byte. */
	static char long_a[1000], long_b[1000];
	memset(long_a, 'x', sizeof long_a);
	memset(long_b, 'x', sizeof long_b);
	long_b[sizeof long_b - 1] = 'y';
	conn_index_bind(ix, 1, long_a, sizeof long_a);
	conn_index_bind(ix, 2, long_b, sizeof long_b);
	tap_eq_int(conn_index_count_of_uid(ix, long_a, sizeof long_a), 1, "a long uid is found");
	tap_eq_int(conn_index_count_of_uid(ix, long_b, sizeof long_b), 1,
		"long uids differing in the last byte are distinct");
	u = conn_index_uid(ix, 2, &len);
	tap_ok(u != NULL && len == sizeof long_b && memcmp(u, long_b, len) == 0, "uid returns a long uid whole");
	names = uid_names(ix);
	tap_ok(names->n == 3 && seen_has_name(names, long_a, sizeof long_a) &&
			seen_has_name(names, long_b, sizeof long_b),
		"long uid names are visited whole");
	conn_index_join(ix, 1, long_a, sizeof long_a);
	conn_index_join(ix, 2, long_a, sizeof long_a);
	tap_eq_int(conn_index_count_of_group(ix, long_a, sizeof long_a), 2, "a long group name works");
	names = uids_of_group(ix, long_a, sizeof long_a);
	tap_ok(names->n == 2 && seen_has_name(names, long_a, sizeof long_a) &&
			seen_has_name(names, long_b, sizeof long_b),
		"a long group's long uids are visited");

	bool ok = true;
	for (size_t n = 1; n <= 40; n++) {
		conn_index_bind(ix, 3, long_b + sizeof long_b - n, n);
		u = conn_index_uid(ix, 3, &len);
		ok &= u != NULL && len == n && memcmp(u, long_b + sizeof long_b - n, n) == 0;
		ok &= conn_index_count_of_uid(ix, long_b + sizeof long_b - n, n) == 1;
	}
	tap_ok(ok, "names of every length from 1 to 40 round-trip");
	tap_eq_int(conn_index_uid_total(ix), 3, "rebinding through 40 names leaves one uid for it");

	conn_index_remove(ix, 1);
	conn_index_remove(ix, 2);
	conn_index_remove(ix, 3);
	tap_eq_int(conn_index_uid_total(ix) + conn_index_group_total(ix), 0,
		"removing everything leaves no names");
	conn_index_free(ix);
}

/* Leak checkers (ASan, valgrind) verify this one: everything an index can
 * hold is still in it when it is freed. */
static void
test_free_populated(void)
{
	static char long_name[300];
	memset(long_name, 'n', sizeof long_name);
	struct conn_index *ix = conn_index_new();
	char name[16];
	for (uint64_t id = 1; id <= 50; id++) {
		conn_index_add(ix, id, &conn_a);
		long_name[0] = (char)('a' + id % 3);
		conn_index_bind(ix, id, long_name, sizeof long_name);
		conn_index_join(ix, id, long_name, sizeof long_name);
		for (uint64_t g = 0; g < id % 7; g++) {
			snprintf(name, sizeof name, "g%d", (int)g);
			conn_index_join(ix, id, name, strlen(name));
		}
	}
	tap_eq_int(conn_index_uid_total(ix), 3, "a populated index has its uids");
	tap_eq_int(conn_index_group_count_of(ix, 6), 7, "a populated index has its groups");
	conn_index_free(ix);
	tap_ok(1, "freeing a populated index frees everything it holds");
}

/* --- randomized run against a model --- */

#define M_IDS 6000
#define M_UIDS 400
#define M_GROUPS 64
#define M_OPS 200000
#define M_CHECK_EVERY 4000

struct mconn {
	bool present;
	int uid; /* -1 = none */
	uint64_t groups;
};

static struct mconn model[M_IDS];
static char uid_name[M_UIDS][48];
static size_t uid_len[M_UIDS];
static char group_name[M_GROUPS][300];
static size_t group_len[M_GROUPS];
static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t
rng(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint32_t
rnd(uint32_t n)
{
	return (uint32_t)(rng() % n);
}

/* Sparse, scattered ids: i * an odd constant, so model index ↔ id is 1:1. */
static uint64_t
m_id(uint32_t i)
{
	return (uint64_t)i * 0x9e3779b97f4a7c15ULL;
}

static void
m_names(void)
{
	for (int i = 0; i < M_UIDS; i++) {
		char *p = uid_name[i];
		switch (i % 4) {
		case 0: /* short */
			uid_len[i] = (size_t)snprintf(p, 48, "u%d", i);
			break;
		case 1: /* embedded zero bytes */
			uid_len[i] = (size_t)snprintf(p, 48, "u.%d.z", i);
			p[1] = '\0';
			p[uid_len[i] - 2] = '\0';
			break;
		case 2: /* longer than a short-name buffer */
			uid_len[i] = (size_t)snprintf(p, 48, "user-with-a-rather-long-name-%d", i);
			break;
		default: /* around 16 bytes */
			uid_len[i] = (size_t)snprintf(p, 48, "%0*d", 14 + i % 5, i);
			break;
		}
	}
	uid_len[0] = 0; /* the empty name */
	for (int i = 0; i < M_GROUPS; i++) {
		char *p = group_name[i];
		group_len[i] = (size_t)snprintf(p, 300, "g%d", i);
		if (i % 3 == 1) {
			memset(p, 'G', 299);
			snprintf(p + 280, 20, "%d", i);
			group_len[i] = 299;
		}
		if (i % 5 == 2)
			p[0] = '\0';
	}
	group_len[0] = 0;
}

static size_t
m_count(void)
{
	size_t n = 0;
	for (int i = 0; i < M_IDS; i++)
		n += model[i].present;
	return n;
}

/* Visitor state: marks model indices (via the conn pointer) and catches
 * wrong ids or double visits. */
struct mark {
	uint8_t hit[M_IDS];
	size_t n;
	bool bad;
};

static void
mark_id(void *arg, uint64_t id, void *conn)
{
	struct mark *mk = arg;
	ptrdiff_t i = (struct mconn *)conn - model;
	if (i < 0 || i >= M_IDS || m_id((uint32_t)i) != id || mk->hit[i]) {
		mk->bad = true;
		return;
	}
	mk->hit[i] = 1;
	mk->n++;
}

struct name_mark {
	const char *names;
	size_t stride;
	const size_t *lens;
	int count;
	uint8_t hit[M_UIDS];
	bool bad;
};

static void
mark_name(void *arg, const char *name, size_t len)
{
	struct name_mark *nm = arg;
	for (int i = 0; i < nm->count; i++) {
		if (nm->lens[i] == len && memcmp(nm->names + (size_t)i * nm->stride, name, len) == 0) {
			if (nm->hit[i])
				nm->bad = true;
			nm->hit[i] = 1;
			return;
		}
	}
	nm->bad = true;
}

/* Compares everything the index can report with the model. */
static bool
m_check(struct conn_index *ix)
{
	static struct mark mk;
	static struct name_mark nm;
	size_t n = m_count();
	if (conn_index_count(ix) != n)
		return false;
	memset(&mk, 0, sizeof mk);
	if (conn_index_each(ix, mark_id, &mk) != n || mk.bad || mk.n != n)
		return false;

	int uid_conns[M_UIDS] = {0}, group_conns[M_GROUPS] = {0};
	for (uint32_t i = 0; i < M_IDS; i++) {
		struct mconn *c = &model[i];
		if (!c->present) {
			if (conn_index_get(ix, m_id(i)) != NULL)
				return false;
			continue;
		}
		if (conn_index_get(ix, m_id(i)) != c)
			return false;
		size_t len = 0;
		const char *u = conn_index_uid(ix, m_id(i), &len);
		if (c->uid < 0 ? u != NULL
			       : u == NULL || len != uid_len[c->uid] || memcmp(u, uid_name[c->uid], len) != 0)
			return false;
		if (c->uid >= 0)
			uid_conns[c->uid]++;
		if (conn_index_group_count_of(ix, m_id(i)) != (size_t)__builtin_popcountll(c->groups))
			return false;
		for (int g = 0; g < M_GROUPS; g++)
			if (c->groups >> g & 1)
				group_conns[g]++;
	}

	size_t uids = 0;
	for (int u = 0; u < M_UIDS; u++) {
		uids += uid_conns[u] > 0;
		if (conn_index_count_of_uid(ix, uid_name[u], uid_len[u]) != (size_t)uid_conns[u])
			return false;
		memset(&mk, 0, sizeof mk);
		if (conn_index_each_of_uid(ix, uid_name[u], uid_len[u], mark_id, &mk) != (size_t)uid_conns[u])
			return false;
		if (mk.bad || mk.n != (size_t)uid_conns[u])
			return false;
		for (int i = 0; i < M_IDS; i++)
			if (mk.hit[i] && model[i].uid != u)
				return false;
	}
	if (conn_index_uid_total(ix) != uids)
		return false;
	memset(&nm, 0, sizeof nm);
	nm.names = &uid_name[0][0];
	nm.stride = sizeof uid_name[0];
	nm.lens = uid_len;
	nm.count = M_UIDS;
	if (conn_index_each_uid_name(ix, mark_name, &nm) != uids || nm.bad)
		return false;
	for (int u = 0; u < M_UIDS; u++)
		if (nm.hit[u] != (uid_conns[u] > 0))
			return false;

	size_t groups = 0;
	for (int g = 0; g < M_GROUPS; g++) {
		groups += group_conns[g] > 0;
		if (conn_index_count_of_group(ix, group_name[g], group_len[g]) != (size_t)group_conns[g])
			return false;
		memset(&mk, 0, sizeof mk);
		if (conn_index_each_of_group(ix, group_name[g], group_len[g], mark_id, &mk) !=
			(size_t)group_conns[g])
			return false;
		if (mk.bad || mk.n != (size_t)group_conns[g])
			return false;
		uint8_t want[M_UIDS] = {0};
		size_t nwant = 0;
		for (int i = 0; i < M_IDS; i++) {
			if (mk.hit[i] != (model[i].present && (model[i].groups >> g & 1)))
				return false;
			if (mk.hit[i] && model[i].uid >= 0 && !want[model[i].uid]) {
				want[model[i].uid] = 1;
				nwant++;
			}
		}
		memset(&nm, 0, sizeof nm);
		nm.names = &uid_name[0][0];
		nm.stride = sizeof uid_name[0];
		nm.lens = uid_len;
		nm.count = M_UIDS;
		if (conn_index_each_uid_of_group(ix, group_name[g], group_len[g], mark_name, &nm) != nwant ||
			nm.bad || memcmp(nm.hit, want, sizeof want) != 0)
			return false;
	}
	if (conn_index_group_total(ix) != groups)
		return false;
	memset(&nm, 0, sizeof nm);
	nm.names = &group_name[0][0];
	nm.stride = sizeof group_name[0];
	nm.lens = group_len;
	nm.count = M_GROUPS;
	if (conn_index_each_group_name(ix, mark_name, &nm) != groups || nm.bad)
		return false;
	for (int g = 0; g < M_GROUPS; g++)
		if (nm.hit[g] != (group_conns[g] > 0))
			return false;
	return true;
}

/* One random operation; false when the index's answer differs from the
 * model's. Population drifts up and down in waves, so tables and member sets
 * grow and shrink repeatedly. */
static bool
m_step(struct conn_index *ix, int op_no)
{
	bool filling = (op_no / 40000) % 2 == 0;
	uint32_t i = rnd(M_IDS);
	uint64_t id = m_id(i);
	struct mconn *c = &model[i];
	int u = (int)rnd(M_UIDS), g = (int)rnd(M_GROUPS);
	uint32_t r = rnd(100);

	if (r < (filling ? 30u : 3u)) {
		int rc = conn_index_add(ix, id, c);
		if (rc != (c->present ? -EEXIST : 0))
			return false;
		if (!c->present) {
			c->present = true;
			c->uid = -1;
			c->groups = 0;
		}
	} else if (r < 40) {
		conn_index_remove(ix, id);
		c->present = false;
	} else if (r < 60) {
		if (conn_index_bind(ix, id, uid_name[u], uid_len[u]) != (c->present ? 0 : -ENOENT))
			return false;
		if (c->present)
			c->uid = u;
	} else if (r < 65) {
		int want = !c->present ? -ENOENT : c->uid < 0 ? -ENODATA : 0;
		if (conn_index_unbind(ix, id) != want)
			return false;
		if (c->present)
			c->uid = -1;
	} else if (r < 88) {
		if (conn_index_join(ix, id, group_name[g], group_len[g]) != (c->present ? 0 : -ENOENT))
			return false;
		if (c->present)
			c->groups |= 1ULL << g;
	} else if (r < 99) {
		int want = !c->present ? -ENOENT : !(c->groups >> g & 1) ? -ENODATA : 0;
		if (conn_index_leave(ix, id, group_name[g], group_len[g]) != want)
			return false;
		if (c->present)
			c->groups &= ~(1ULL << g);
	} else if (rnd(10) == 0) {
		size_t want = 0;
		for (int j = 0; j < M_IDS; j++) {
			if (model[j].present && (model[j].groups >> g & 1)) {
				want++;
				model[j].groups &= ~(1ULL << g);
			}
		}
		if (conn_index_ungroup(ix, group_name[g], group_len[g]) != want)
			return false;
	} else {
		if (conn_index_get(ix, id) != (c->present ? c : NULL))
			return false;
	}
	return true;
}

static void
test_random(void)
{
	m_names();
	struct conn_index *ix = conn_index_new();
	bool steps = true, checks = true;
	int failed_at = -1;
	size_t peak = 0;
	for (int op = 0; op < M_OPS && steps && checks; op++) {
		steps = m_step(ix, op);
		if (conn_index_count(ix) > peak)
			peak = conn_index_count(ix);
		if (op % M_CHECK_EVERY == M_CHECK_EVERY - 1)
			checks = m_check(ix);
		if (!steps || !checks)
			failed_at = op;
	}
	if (failed_at >= 0)
		printf("# model mismatch at operation %d\n", failed_at);
	tap_ok(steps, "200k random operations return what the model expects");
	tap_ok(checks && m_check(ix), "the index matches the model after random operations");
	tap_ok(peak > 4000, "the random run reaches thousands of connections");

	for (uint32_t i = 0; i < M_IDS; i++) {
		conn_index_remove(ix, m_id(i));
		model[i].present = false;
	}
	tap_ok(m_check(ix), "removing every connection empties the index");
	tap_eq_int(conn_index_uid_total(ix) + conn_index_group_total(ix), 0,
		"no names remain after removing every connection");
	conn_index_free(ix);
}

/* --- memory --- */

static void
test_memory(void)
{
	enum { N = 100000, GROUPS = 100 };
	char name[32];
#ifdef __GLIBC__
	struct mallinfo2 before = mallinfo2();
#endif
	struct conn_index *ix = conn_index_new();
	bool ok = true;
	for (uint32_t i = 0; i < N; i++) {
		uint64_t id = (uint64_t)i + 1;
		ok &= conn_index_add(ix, id, &conn_a) == 0;
		int n = snprintf(name, sizeof name, "user:%06u", (unsigned)i);
		ok &= conn_index_bind(ix, id, name, (size_t)n) == 0;
		n = snprintf(name, sizeof name, "group:%02u", (unsigned)(i % GROUPS));
		ok &= conn_index_join(ix, id, name, (size_t)n) == 0;
	}
	tap_ok(ok && conn_index_count(ix) == N && conn_index_uid_total(ix) == N &&
			conn_index_group_total(ix) == GROUPS,
		"100k connections with a uid and a group each are indexed");
#ifdef __GLIBC__
	struct mallinfo2 after = mallinfo2();
	size_t used = after.uordblks + after.hblkhd - before.uordblks - before.hblkhd;
	if (after.uordblks + after.hblkhd > before.uordblks + before.hblkhd && used > N)
		printf("# about %zu bytes per connection (100k connections, own uid each, one of %d "
		       "groups)\n",
			used / N, GROUPS);
	else
		printf("# bytes per connection not measurable here (malloc is not glibc's, e.g. under "
		       "a sanitizer)\n");
#else
	printf("# bytes per connection not measured (no mallinfo2)\n");
#endif
	for (uint32_t i = 0; i < N; i += 2)
		conn_index_remove(ix, (uint64_t)i + 1);
	tap_eq_int(conn_index_count(ix), N / 2, "removing half of 100k connections leaves the other half");
	tap_eq_int(conn_index_count_of_group(ix, S("group:01")), N / GROUPS,
		"groups keep their remaining members");
	tap_eq_int(conn_index_count_of_group(ix, S("group:00")), 0, "groups of removed members are gone");
	conn_index_free(ix);
}

int
main(void)
{
	test_lifecycle();
	test_missing();
	test_uids();
	test_groups();
	test_remove_cleans();
	test_uids_of_group();
	test_groups_of();
	test_odd_names();
	test_free_populated();
	test_random();
	test_memory();
	return tap_done();
}
