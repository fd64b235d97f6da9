/*
 * name_test — strings and integers name the same way, and each refusal has
 * its own error.
 */
#include "proto/name.h"

#include <errno.h>
#include <stdint.h>

#include "tests/tap.h"

/* name_from_json on a value built from JSON text; 1 when it gives want. */
static int
reads_as(const char *json, size_t max, const char *want)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	struct name nm;
	int ok = v != NULL && name_from_json(v, max, &nm) == 0 && nm.n == strlen(want) &&
		 memcmp(nm.p, want, nm.n) == 0;
	json_decref(v);
	return ok;
}

static int
refuses(const char *json, size_t max)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	struct name nm;
	int rc = name_from_json(v, max, &nm);
	json_decref(v);
	return rc < 0 && nm.p == NULL ? rc : 0;
}

int
main(void)
{
	tap_ok(reads_as("\"alice\"", 64, "alice"), "a string is its bytes");
	tap_ok(reads_as("42", 64, "42") && reads_as("\"42\"", 64, "42"), "42 and \"42\" name the same");
	tap_ok(reads_as("-9223372036854775808", 64, "-9223372036854775808"),
		"the most negative integer fits NAME_NUM_SIZE");
	tap_ok(reads_as("\"\xc3\xa9t\xc3\xa9\"", 64, "\xc3\xa9t\xc3\xa9"), "UTF-8 is kept byte for byte");
	tap_ok(reads_as("\"abcd\"", 4, "abcd"), "a name of exactly max_len bytes is fine");
	tap_eq_int(refuses("\"abcde\"", 4), -ENAMETOOLONG, "a string over max_len is too long");
	tap_eq_int(refuses("12345", 4), -ENAMETOOLONG, "an integer's text over max_len is too long");
	tap_eq_int(refuses("\"\"", 4), -ENODATA, "the empty string is refused");
	tap_eq_int(refuses("1.5", 64), -EDOM, "a real is not an integer");
	tap_eq_int(refuses("true", 64), -EINVAL, "a boolean is not a name");
	tap_eq_int(refuses("[\"a\"]", 64), -EINVAL, "an array is not a name");
	tap_eq_int(refuses("null", 64), -EINVAL, "null is not a name");

	struct name nm;
	tap_eq_int(name_from_json(NULL, 64, &nm), -EINVAL, "a missing field is not a name");
	json_t *nul = json_stringn("a\0b", 3);
	tap_eq_int(name_from_json(nul, 64, &nm), -EINVAL, "a string holding a NUL is refused");
	json_decref(nul);
	return tap_done();
}
