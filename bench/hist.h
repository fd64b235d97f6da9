/*
 * hist — a log-linear histogram in fixed memory, HDR-style, for latencies
 * in nanoseconds. Values below 128 are kept exactly; above that every
 * power of two is cut into 64 equal buckets, so a value is off by at most
 * 1/64 (1.6 %) of itself, over the whole uint64 range. A histogram is one
 * flat struct (about 30 KB, no pointers): load processes send theirs to the
 * parent as bytes, and the parent adds them up with hist_merge.
 *
 * It does not keep samples, so it cannot tell which request was slow.
 */
#ifndef GATECAST_BENCH_HIST_H
#define GATECAST_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t count;
	uint64_t min;  /* UINT64_MAX while empty */
	uint64_t max;
	uint64_t sum;  /* for the mean; wraps only after 584 years of ns */
	uint64_t b[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_record(struct hist *h, uint64_t v);
/* Adds src's counts to dst (both borrowed). */
void hist_merge(struct hist *dst, const struct hist *src);
/* The value at quantile q (0..1): the highest value of the bucket that
 * holds the ceil(q * count)-th smallest sample, capped at max. 0 when
 * empty. q = 1 gives max exactly. */
uint64_t hist_quantile(const struct hist *h, double q);
/* Bucket of v, and the highest value a bucket holds (for tests). */
unsigned hist_bucket(uint64_t v);
uint64_t hist_bucket_high(unsigned idx);

#endif
