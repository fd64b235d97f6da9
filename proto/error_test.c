/*
 * error_test — every code's name reads back as that code; unknown names
 * and empty ones are told apart.
 */
#include <string.h>

#include "proto/error.h"
#include "tests/tap.h"

int
main(void)
{
	int round = 1;
	for (int e = PROTO_ERR_NONE + 1; e < PROTO_ERR_OTHER; e++) {
		const char *n = proto_error_name((enum proto_error)e);
		round &= n != NULL && n[0] != '\0' && (int)proto_error_from_name(n, strlen(n)) == e;
	}
	tap_ok(round, "every code has a name that maps back to it");
	tap_eq_str(proto_error_name(PROTO_ERR_BAD_REQUEST), "bad_request",
		"bad_request is named as the API says");
	tap_eq_str(proto_error_name(PROTO_ERR_TOO_MANY_GROUPS), "too_many_groups",
		"too_many_groups is named as the API says");
	tap_eq_int(proto_error_from_name("timeout", 7), PROTO_ERR_TIMEOUT,
		"a name from the wire is looked up");
	tap_eq_int(proto_error_from_name("timeou", 6), PROTO_ERR_OTHER,
		"a prefix of a name is not that name");
	tap_eq_int(proto_error_from_name("whatever", 8), PROTO_ERR_OTHER,
		"an unknown name is OTHER");
	tap_eq_int(proto_error_from_name("", 0), PROTO_ERR_NONE, "an empty name is no error");
	tap_ok(proto_error_name(PROTO_ERR__COUNT) == NULL, "a value out of range has no name");
	return tap_done();
}
