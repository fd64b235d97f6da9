/*
 * http_api_test — the push HTTP API's batch splitting and reply status
 * mapping (its head parser is http1_test's, its writer http_reply_test's).
 */
#include <errno.h>
#include <string.h>

#include "http/http_api.h"
#include "tests/tap.h"

static int
reply_status(const char *json)
{
	return http_api_reply_status(json, strlen(json));
}

int
main(void)
{
	size_t off[4], len[4];
	const char *arr = " [ {\"a\":\"],\\\"\"} , 1,[2,3] ,\"x\" ] ";
	tap_eq_int(http_api_split_array(arr, strlen(arr), off, len, 4), 4,
		"an array splits into its elements");
	tap_eq_mem(arr + off[0], len[0], "{\"a\":\"],\\\"\"}", 12, "strings hide brackets and commas");
	tap_eq_mem(arr + off[2], len[2], "[2,3]", 5, "nested arrays stay whole");
	tap_eq_mem(arr + off[3], len[3], "\"x\"", 3, "the last element is trimmed");
	tap_eq_int(http_api_split_array("[]", 2, off, len, 4), 0, "an empty array has no elements");
	tap_eq_int(http_api_split_array("{}", 2, off, len, 4), -EINVAL, "an object is not an array");
	tap_eq_int(http_api_split_array("[1,2,3,4,5,6]", 13, off, len, 4), 6,
		"the count goes past max");

	tap_eq_int(reply_status("{\"ok\":true,\"delivered\":0}"), 200, "ok is 200");
	tap_eq_int(reply_status("{\"ok\":false,\"error\":\"timeout\"}"), 504,
		"timeout is 504");
	tap_eq_int(reply_status("{\"ok\":false,\"error\":\"too_many_groups\"}"), 409,
		"too_many_groups is 409");
	tap_eq_int(reply_status("{\"ok\":false,\"error\":\"no_worker\"}"), 503,
		"no_worker is 503");
	tap_eq_int(reply_status("junk"), 500, "a reply that is not JSON is 500");

	return tap_done();
}
