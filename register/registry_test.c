/*
 * registry_test — leases, renewals, removal and versions.
 */
#include <errno.h>
#include <string.h>

#include "register/registry.h"
#include "tests/tap.h"

int
main(void)
{
	struct registry *r = registry_new(2);
	uint64_t v0 = registry_version(r);

	tap_eq_int(registry_announce(r, 1, 10, "ipc:///a", 8, 3000, 1000), 1,
		"a new member changes the list");
	tap_ok(registry_version(r) > v0, "the version grows with a change");
	uint64_t v1 = registry_version(r);
	tap_eq_int(registry_announce(r, 1, 10, "ipc:///a", 8, 3000, 2000), 0,
		"a renewal does not change the list");
	tap_eq_int(registry_version(r), v1, "a renewal keeps the version");
	tap_eq_int(registry_announce(r, 1, 10, "ipc:///b", 8, 3000, 2000), 1,
		"a new inbox address is a change");
	tap_eq_str(registry_at(r, 0)->inbox, "ipc:///b", "the new inbox is kept");
	tap_eq_int(registry_announce(r, 2, 20, "tcp://x:1", 9, 1000, 2000), 1, "second member added");
	tap_eq_int(registry_announce(r, 2, 30, "tcp://x:2", 9, 1000, 2000), -ENOSPC,
		"a full registry refuses new members");
	tap_eq_int(registry_expire(r, 3000), 0, "nothing expires within the lease");
	tap_eq_int(registry_expire(r, 3001), 1, "the member with the short lease expires");
	tap_eq_int(registry_count(r), 1, "one member is left");
	tap_eq_int(registry_at(r, 0)->id, 10, "the renewed member survives");
	{
		char host[100];
		memset(host, 'h', sizeof host);
		struct proto_stats st = {.pid = 77, .host = {host, sizeof host}, .connections = 5};
		registry_set_stats(r, 10, &st);
		memset(host, 'x', sizeof host); /* the registry keeps its own copy */
		const struct registry_member *m = registry_at(r, 0);
		tap_ok(m->has_stats, "the report is kept");
		tap_eq_int(m->stats.pid, 77, "with its pid");
		tap_eq_int(m->stats.connections, 5, "and its counters");
		tap_eq_int(m->stats.host.n, 63, "a long host name is cut to 63 bytes");
		tap_ok(m->stats.host.p[0] == 'h' && m->stats.host.p == m->host, "and copied");
		registry_set_stats(r, 99, &st); /* unknown id: ignored */
	}
	tap_eq_int(registry_remove(r, 10, 3000, 1000), 1, "a leaving member is removed at once");
	tap_eq_int(registry_remove(r, 10, 3000, 1000), 0, "removing twice is a no-op");
	tap_eq_int(registry_live(r), 0, "no live member is left");
	tap_eq_int(registry_count(r), 1, "its tombstone stays for a lease");
	tap_ok(registry_at(r, 0)->left, "the entry is marked left");
	tap_eq_int(registry_announce(r, 1, 10, "ipc://x", 7, 3000, 1100), 0,
		"a late renewal does not revive it");
	tap_ok(registry_at(r, 0)->left, "still left after the late renewal");
	tap_eq_int(registry_expire(r, 3999), 0, "the tombstone lives for its lease");
	tap_eq_int(registry_count(r), 1, "tombstone kept until its time");
	tap_eq_int(registry_expire(r, 4101), 0, "an expired tombstone is no expired member");
	tap_eq_int(registry_count(r), 0, "the registry is empty");
	tap_ok(registry_at(r, 0) == NULL, "no member past the end");
	registry_free(r);
	return tap_done();
}
