/*
 * hash_test — the values are fixed forever (hash.h says why), so the checks
 * are fixed vectors taken from the functions these replaced
 * (cluster/peers.c's peers_mix, gateway/presence_watch.c's key), plus the
 * properties the tables rely on.
 */
#include "common/hash.h"
#include "tests/tap.h"

#define S(s) s, sizeof s - 1

int
main(void)
{
	tap_ok(hash_mix64(1) == 0xb456bcfc34c2cb2cULL, "the mix of 1 is fmix64's, as peers used");
	tap_ok(hash_mix64(7 ^ hash_mix64(3)) == 0x7ec6cbc1f4d75066ULL,
		"a rendezvous weight is the one peers computed before");
	tap_ok(hash_mix64(0) == 0, "the mix of 0 is 0");
	tap_ok(hash_mix64(2) != hash_mix64(3), "neighbouring ids mix apart");
	tap_ok((hash_mix64(2) ^ hash_mix64(3)) >> 32 != 0 && (uint32_t)(hash_mix64(2) ^ hash_mix64(3)) != 0,
		"neighbouring ids differ in the high and the low half");

	tap_ok(hash_bytes(S("company:7")) == 0x9274642129cd8f93ULL,
		"a group's hash is the one presence_watch routed by before");
	tap_ok(hash_bytes(S("company:7")) != hash_bytes(S("company:8")),
		"names differing in the last byte hash apart");
	tap_ok(hash_bytes(NULL, 0) == hash_bytes("x", 0), "the empty string hashes the same from any pointer");
	tap_ok(hash_bytes(S("ab")) != hash_bytes(S("ba")), "the order of bytes matters");
	tap_ok(hash_bytes(S("a\0b")) != hash_bytes(S("a")), "bytes after a NUL count");
	return tap_done();
}
