/*
 * push_batch_test — splitting the body of POST /api/batch into its commands.
 */
#include <errno.h>
#include <string.h>

#include "push/push_batch.h"
#include "tests/tap.h"

int
main(void)
{
	size_t off[4], len[4];
	const char *arr = " [ {\"a\":\"],\\\"\"} , 1,[2,3] ,\"x\" ] ";
	tap_eq_int(push_batch_split(arr, strlen(arr), off, len, 4), 4,
		"an array splits into its elements");
	tap_eq_mem(arr + off[0], len[0], "{\"a\":\"],\\\"\"}", 12, "strings hide brackets and commas");
	tap_eq_mem(arr + off[2], len[2], "[2,3]", 5, "nested arrays stay whole");
	tap_eq_mem(arr + off[3], len[3], "\"x\"", 3, "the last element is trimmed");
	tap_eq_int(push_batch_split("[]", 2, off, len, 4), 0, "an empty array has no elements");
	tap_eq_int(push_batch_split("{}", 2, off, len, 4), -EINVAL, "an object is not an array");
	tap_eq_int(push_batch_split("[1,2,3,4,5,6]", 13, off, len, 4), 6,
		"the count goes past max");

	return tap_done();
}
