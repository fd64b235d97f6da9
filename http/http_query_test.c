/*
 * http_query_test — one parameter of a query string or form body, found
 * and percent-decoded.
 */
#include "http/http_query.h"

#include <errno.h>
#include <string.h>

#include "tests/tap.h"

static void
test_query_param(void)
{
	static const char q[] = "uid=42&token=a%2Fb+c&empty=&flag&pct=%41%62&bad=%4&bad2=%zz"
				"&nul=%00&long=abcdefgh&uid=99";
	struct http_span query = {q, strlen(q)};
	char out[8];

	tap_eq_int(http_query_param(query, "uid", out, sizeof out), 2, "uid is found");
	tap_eq_str(out, "42", "the first uid wins");
	tap_eq_int(http_query_param(query, "token", out, sizeof out), 5, "token is found");
	tap_eq_str(out, "a/b c", "percent-encoding and '+' are decoded");
	tap_eq_int(http_query_param(query, "pct", out, sizeof out), 2, "pct is found");
	tap_eq_str(out, "Ab", "hex digits of either case decode");
	tap_eq_int(http_query_param(query, "empty", out, sizeof out), 0, "an empty value is found");
	tap_eq_str(out, "", "an empty value decodes to the empty string");
	tap_eq_int(http_query_param(query, "flag", out, sizeof out), 0,
		"a name without '=' has an empty value");
	tap_eq_int(http_query_param(query, "missing", out, sizeof out), -ENOENT,
		"a missing name is -ENOENT");
	tap_eq_int(http_query_param(query, "ui", out, sizeof out), -ENOENT,
		"a prefix of a name does not match");
	tap_eq_int(http_query_param(query, "bad", out, sizeof out), -EINVAL,
		"a truncated escape is -EINVAL");
	tap_eq_int(http_query_param(query, "bad2", out, sizeof out), -EINVAL,
		"an escape of non-hex digits is -EINVAL");
	tap_eq_int(http_query_param(query, "nul", out, sizeof out), -EINVAL,
		"an escaped NUL is -EINVAL");
	tap_eq_int(http_query_param(query, "long", out, sizeof out), -ENOSPC,
		"a value that does not fit is -ENOSPC");
	tap_eq_str(out, "", "out is empty after an error");
	tap_eq_int(http_query_param(query, "uid", out, 2), -ENOSPC,
		"the NUL must fit as well");
	tap_eq_int(http_query_param(query, "uid", out, 3), 2, "a value that just fits is found");

	struct http_span none = {NULL, 0};
	tap_eq_int(http_query_param(none, "uid", out, sizeof out), -ENOENT,
		"an absent query has no parameters");
	struct http_span trailing = {"%", 1};
	tap_eq_int(http_query_param(trailing, "uid", out, sizeof out), -ENOENT,
		"a malformed pair that is not asked for does not matter");
	struct http_span amps = {"&&uid=7&", 8};
	tap_eq_int(http_query_param(amps, "uid", out, sizeof out), 1, "empty pairs are skipped");
	tap_eq_str(out, "7", "the value after empty pairs is right");
}

int
main(void)
{
	test_query_param();
	return tap_done();
}
