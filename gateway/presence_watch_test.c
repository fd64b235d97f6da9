/*
 * presence_watch_test — gateway.presence_groups patterns and the routing key.
 */
#include "gateway/presence_watch.h"

#include <string.h>

#include "tests/tap.h"

#define S(lit) lit, sizeof(lit) - 1

int
main(void)
{
	struct presence_watch *pw = presence_watch_new("");
	tap_ok(!presence_watch_any(pw), "an empty list watches nothing");
	tap_ok(!presence_watch_match(pw, S("company:7")), "an empty list matches nothing");
	presence_watch_free(pw);

	pw = presence_watch_new(" company:* ,, lobby,\tteam:7:*\t");
	tap_ok(presence_watch_any(pw), "a list with patterns watches");
	tap_ok(presence_watch_match(pw, S("company:7")), "a prefix pattern matches what follows");
	tap_ok(presence_watch_match(pw, S("company:")), "a prefix pattern matches the bare prefix");
	tap_ok(!presence_watch_match(pw, S("company")), "a prefix pattern needs the whole prefix");
	tap_ok(presence_watch_match(pw, S("lobby")), "an exact pattern matches its group");
	tap_ok(!presence_watch_match(pw, S("lobby2")) && !presence_watch_match(pw, S("lobb")),
		"an exact pattern matches nothing else");
	tap_ok(presence_watch_match(pw, S("team:7:feed")) && !presence_watch_match(pw, S("team:70")),
		"blanks around patterns are trimmed and empty ones skipped");
	tap_ok(!presence_watch_match(pw, S(" lobby")), "groups are compared byte for byte");
	presence_watch_free(pw);

	pw = presence_watch_new("*");
	tap_ok(presence_watch_match(pw, S("anything")) && presence_watch_match(pw, S("x")),
		"* matches every group");
	presence_watch_free(pw);
	presence_watch_free(NULL);

	tap_ok(presence_watch_key(S("company:7")) == presence_watch_key(S("company:7")),
		"the key of a group is stable");
	tap_ok(presence_watch_key(S("company:7")) != presence_watch_key(S("company:8")),
		"close names get different keys");
	/* A fixed vector: every gateway, on any host or version, must route a
	 * group to the same worker. */
	tap_ok(presence_watch_key(S("company:7")) == 0x9274642129cd8f93ULL,
		"the key is FNV-1a with a final mix, the same everywhere");
	return tap_done();
}
