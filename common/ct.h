/*
 * ct — constant-time helpers for comparing secrets (MACs, tokens).
 *
 * memcmp returns at the first differing byte, so the time it takes tells an
 * attacker how long a prefix of a forged MAC was right. ct_equal always
 * reads all n bytes. It does not hide n itself, which callers fix (a MAC
 * has a known length), and it is not a general-purpose ordering compare.
 */
#ifndef GATECAST_COMMON_CT_H
#define GATECAST_COMMON_CT_H

#include <stdbool.h>
#include <stddef.h>

/* Are the n bytes at a and b equal? Both are borrowed for the call. The
 * time taken depends on n only: the differences are accumulated into a
 * volatile, so the compiler can neither stop at the first difference nor
 * turn the loop back into memcmp. */
static inline bool
ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *pa = a;
	const volatile unsigned char *pb = b;
	volatile unsigned char acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= (unsigned char)(pa[i] ^ pb[i]);
	return acc == 0;
}

#endif
