/*
 * tap — a tiny TAP (Test Anything Protocol) harness for unit tests.
 *
 * Each test binary calls tap_ok/tap_eq_* and ends with `return tap_done();`,
 * which prints the plan and returns non-zero when any check failed. Test
 * names read as sentences: tap_ok(x == 1, "bind replaces the old uid").
 */
#ifndef GATECAST_TESTS_TAP_H
#define GATECAST_TESTS_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int
tap_ok_at(int cond, const char *file, int line, const char *name)
{
	tap_n++;
	printf("%s %d - %s\n", cond ? "ok" : "not ok", tap_n, name);
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define tap_ok(cond, name) tap_ok_at(!!(cond), __FILE__, __LINE__, name)

#define tap_eq_int(got, want, name)                                                          \
	do {                                                                                 \
		long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);             \
		if (!tap_ok(tap_g_ == tap_w_, name))                                         \
			printf("#   got %lld, want %lld\n", tap_g_, tap_w_);                     \
	} while (0)

#define tap_eq_str(got, want, name)                                                          \
	do {                                                                                 \
		const char *tap_g_ = (got), *tap_w_ = (want);                                \
		int tap_c_ = tap_g_ != NULL && tap_w_ != NULL && strcmp(tap_g_, tap_w_) == 0; \
		if (!tap_ok(tap_c_, name))                                                   \
			printf("#   got \"%s\", want \"%s\"\n", tap_g_ ? tap_g_ : "(null)",      \
				tap_w_ ? tap_w_ : "(null)");                                 \
	} while (0)

#define tap_eq_mem(got, glen, want, wlen, name)                                              \
	tap_ok((size_t)(glen) == (size_t)(wlen) && memcmp((got), (want), (wlen)) == 0, name)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d checks failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif
