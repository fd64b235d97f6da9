/*
 * hash — the tree's one 64-bit integer mix and one byte-string hash, for
 * hash tables and for rendezvous routing.
 *
 * Both are unseeded and fixed: the same input gives the same value in every
 * process, on every host and in every version, because gateways route a
 * watched group to its worker by hash_bytes of its name and pick peers by
 * hash_mix64 (cluster/peers.c), and two gateways must agree. Changing either
 * function reroutes a running cluster during an upgrade: the fixed vectors
 * in hash_test.c guard that.
 *
 * Not for untrusted keys where collisions are an attack (there is no seed),
 * and not cryptographic.
 */
#ifndef GATECAST_COMMON_HASH_H
#define GATECAST_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

/* MurmurHash3's 64-bit finalizer (fmix64): every input bit affects every
 * output bit, so sequential ids spread over a table. hash_mix64(0) == 0. */
static inline uint64_t
hash_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* FNV-1a over the len bytes at p (borrowed; NULL is fine when len is 0),
 * then half of fmix64 so that names differing in one last byte spread over
 * the high and low bits alike. */
static inline uint64_t
hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64-bit offset basis */
	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL; /* FNV 64-bit prime */
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

#endif
