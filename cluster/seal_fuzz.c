/*
 * seal_fuzz — libFuzzer target for seal_check.
 *
 * Each input is used three ways:
 *   1. as received bytes, opened by a fresh receiver: only the documented
 *      errors may come back, -EBADMSG exactly when it is shorter than a
 *      trailer (a fuzzer cannot forge the tag, so 0 means the input is a
 *      seed sealed with FUZZ_SECRET for FUZZ_TO at FUZZ_NOW);
 *   2. as a body, sealed and opened: it must open once, name its sender,
 *      and be refused for another receiver, when any byte is flipped, and
 *      the second time;
 *   3. as a script against a model of the replay window: a byte with the
 *      high bit set seals one more message (stale when bit 6 is set too),
 *      any other byte delivers message (byte % sealed so far). A fresh
 *      message opens iff its counter is above every counter opened so far,
 *      or less than SEAL_WINDOW below the highest and not opened before.
 * Any broken rule aborts, so libFuzzer keeps the input.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/seal.h"

#define FUZZ_SECRET "fuzz-cluster-secret"
#define FUZZ_TO "fuzz"
#define FUZZ_NOW UINT64_C(1700000000000)
#define FUZZ_SKEW 30000
#define FUZZ_MAX_BODY 4096
#define FUZZ_MAX_MSGS 128

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_raw(const uint8_t *data, size_t size)
{
	struct seal *rx = seal_new(FUZZ_SECRET, 1, FUZZ_SKEW);
	uint64_t from = 0;
	int rc = seal_check(rx, data, size, FUZZ_TO, FUZZ_NOW, &from);
	if ((rc == -EBADMSG) != (size < SEAL_TRAILER))
		abort();
	if (rc != 0 && rc != -EBADMSG && rc != -EPERM && rc != -ETIME && rc != -EALREADY)
		abort();
	if (rc == 0 && seal_check(rx, data, size, FUZZ_TO, FUZZ_NOW, &from) != -EALREADY)
		abort();
	seal_free(rx);
}

static void
fuzz_round_trip(const uint8_t *data, size_t size)
{
	static unsigned char m[FUZZ_MAX_BODY + SEAL_TRAILER];
	struct seal *tx = seal_new(FUZZ_SECRET, 2, FUZZ_SKEW);
	struct seal *rx = seal_new(FUZZ_SECRET, 3, FUZZ_SKEW);
	uint64_t from = 0;
	size_t n = size < FUZZ_MAX_BODY ? size : FUZZ_MAX_BODY;

	memcpy(m, data, n);
	seal_trailer(tx, m, n, FUZZ_TO, FUZZ_NOW, m + n);
	if (seal_check(rx, m, n + SEAL_TRAILER, "fuzz-other", FUZZ_NOW, &from) != -EPERM)
		abort();
	size_t at = n > 0 ? (size_t)data[0] % (n + SEAL_TRAILER) : 0;
	m[at] ^= 0x20;
	if (seal_check(rx, m, n + SEAL_TRAILER, FUZZ_TO, FUZZ_NOW, &from) != -EPERM)
		abort();
	m[at] ^= 0x20;
	if (seal_check(rx, m, n + SEAL_TRAILER, FUZZ_TO, FUZZ_NOW, &from) != 0 || from != 2)
		abort();
	if (seal_check(rx, m, n + SEAL_TRAILER, FUZZ_TO, FUZZ_NOW, &from) != -EALREADY)
		abort();
	seal_free(tx);
	seal_free(rx);
}

static void
fuzz_script(const uint8_t *data, size_t size)
{
	static unsigned char msgs[FUZZ_MAX_MSGS][1 + SEAL_TRAILER];
	bool stale[FUZZ_MAX_MSGS], opened[FUZZ_MAX_MSGS];
	struct seal *tx = seal_new(FUZZ_SECRET, 4, FUZZ_SKEW);
	struct seal *rx = seal_new(FUZZ_SECRET, 5, FUZZ_SKEW);
	size_t nmsgs = 0;
	uint64_t top = 0; /* highest counter opened; counters start at 1 */

	for (size_t i = 0; i < size; i++) {
		uint8_t op = data[i];
		if (op & 0x80) {
			if (nmsgs == FUZZ_MAX_MSGS)
				continue;
			bool old = op & 0x40;
			msgs[nmsgs][0] = op;
			seal_trailer(tx, msgs[nmsgs], 1, FUZZ_TO,
				old ? FUZZ_NOW - FUZZ_SKEW - 1 - (op & 0x3f) : FUZZ_NOW + (op & 0x3f),
				msgs[nmsgs] + 1);
			stale[nmsgs] = old;
			opened[nmsgs] = false;
			nmsgs++;
			continue;
		}
		if (nmsgs == 0)
			continue;
		size_t k = op % nmsgs;
		uint64_t c = k + 1, from = 0;
		int want;
		if (stale[k])
			want = -ETIME;
		else if (opened[k])
			want = -EALREADY;
		else if (c > top || top - c < SEAL_WINDOW)
			want = 0;
		else
			want = -EALREADY;
		int rc = seal_check(rx, msgs[k], sizeof msgs[k], FUZZ_TO, FUZZ_NOW, &from);
		if (rc != want || (rc == 0 && from != 4))
			abort();
		if (rc == 0) {
			opened[k] = true;
			if (c > top)
				top = c;
		}
	}
	seal_free(tx);
	seal_free(rx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_raw(data, size);
	fuzz_round_trip(data, size);
	fuzz_script(data, size);
	return 0;
}
