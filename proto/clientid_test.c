/*
 * clientid_test — client id text form and instance ids.
 */
#include <string.h>
#include <time.h>

#include "proto/clientid.h"
#include "tests/tap.h"

static void
test_format(void)
{
	char s[CLIENTID_LEN + 1];

	clientid_format(0x65a1f0c27d3e9b10ULL, 1, s);
	tap_eq_str(s, "65a1f0c27d3e9b10000000000001", "an id is the member id then the sequence");
	tap_eq_int(strlen(s), CLIENTID_LEN, "  ... 28 characters long");

	clientid_format(0, 0, s);
	tap_eq_str(s, "0000000000000000000000000000", "zeros are padded to full width");

	clientid_format(UINT64_MAX, CLIENTID_SEQ_MAX, s);
	tap_eq_str(s, "ffffffffffffffffffffffffffff", "the largest id is all lowercase f");

	clientid_format(0xABCDEF0123456789ULL, 0xfedcba987654ULL, s);
	tap_eq_str(s, "abcdef0123456789fedcba987654", "hex digits are lowercase");
}

static void
test_parse(void)
{
	uint64_t g = 0, q = 0;
	char s[CLIENTID_LEN + 1];

	clientid_format(0x65a1f0c27d3e9b10ULL, 0x123456789abcULL, s);
	tap_ok(clientid_parse(s, CLIENTID_LEN, &g, &q), "a formatted id parses");
	tap_ok(g == 0x65a1f0c27d3e9b10ULL && q == 0x123456789abcULL,
		"  ... back to its member id and sequence");

	tap_ok(clientid_parse("65A1F0C27D3E9B10123456789ABC", CLIENTID_LEN, &g, &q),
		"uppercase hex parses");
	tap_ok(g == 0x65a1f0c27d3e9b10ULL && q == 0x123456789abcULL, "  ... to the same values");
	tap_ok(clientid_parse("65a1F0c27D3e9b10123456789aBc", CLIENTID_LEN, &g, &q),
		"mixed case parses");

	tap_ok(clientid_parse("65a1f0c27d3e9b10000000000001xyz", CLIENTID_LEN, &g, &q) &&
	       q == 1, "only len bytes are read");

	tap_ok(!clientid_parse("65a1f0c27d3e9b1000000000001", 27, &g, &q),
		"27 digits are rejected");
	tap_ok(!clientid_parse("65a1f0c27d3e9b100000000000001", 29, &g, &q),
		"29 digits are rejected");
	tap_ok(!clientid_parse("", 0, &g, &q), "an empty id is rejected");
	tap_ok(!clientid_parse(NULL, 0, &g, &q), "a NULL id is rejected");
	tap_ok(!clientid_parse("65a1f0c27d3e9b1g000000000001", CLIENTID_LEN, &g, &q),
		"a 'g' is rejected");
	tap_ok(!clientid_parse("0x65a1f0c27d3e9b100000000001", CLIENTID_LEN, &g, &q),
		"a 0x prefix is rejected");
	tap_ok(!clientid_parse("+5a1f0c27d3e9b10000000000001", CLIENTID_LEN, &g, &q),
		"a sign is rejected");
	tap_ok(!clientid_parse(" 5a1f0c27d3e9b10000000000001", CLIENTID_LEN, &g, &q),
		"a space is rejected");
	tap_ok(!clientid_parse("65a1f0c27d3e9b10\0" "00000000001", CLIENTID_LEN, &g, &q),
		"a NUL inside is rejected");
	tap_ok(!clientid_parse("65a1f0c27d3e9b10:00000000001", CLIENTID_LEN, &g, &q),
		"':' (just after '9') is rejected");
	tap_ok(!clientid_parse("65a1f0c27d3e9b10@00000000001", CLIENTID_LEN, &g, &q),
		"'@' (just before 'A') is rejected");

	g = 7;
	q = 8;
	tap_ok(!clientid_parse("65a1f0c27d3e9b1g000000000001", CLIENTID_LEN, &g, &q) && g == 7 && q == 8,
		"a failed parse leaves the outputs alone");
}

static void
test_instance(void)
{
	uint64_t a = clientid_new_instance();
	uint64_t b = clientid_new_instance();
	uint64_t now = (uint64_t)time(NULL);

	tap_ok(a != b, "two new instances differ");
	tap_ok((a >> 32) + 2 >= now && (a >> 32) <= now, "the top 32 bits are the time in seconds");
	tap_ok((a & 0xffffffffu) != (b & 0xffffffffu), "the low 32 bits are random");
}

int
main(void)
{
	test_format();
	test_parse();
	test_instance();
	return tap_done();
}
