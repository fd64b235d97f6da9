/* hist_test — buckets are contiguous and tight, quantiles land in the right bucket. */
#include "bench/hist.h"
#include "tests/tap.h"

#include <stdlib.h>

static struct hist h, h2;

int
main(void)
{
	tap_eq_int(hist_bucket(0), 0, "zero has bucket zero");
	tap_eq_int(hist_bucket(127), 127, "values below 128 are exact");
	tap_eq_int(hist_bucket(128), 128, "128 starts the first shared bucket");
	tap_eq_int(hist_bucket(129), 128, "128 and 129 share a bucket");
	tap_eq_int(hist_bucket(UINT64_MAX), HIST_BUCKETS - 1, "the largest value has the last bucket");

	int contiguous = 1, tight = 1;
	for (unsigned i = 1; i < HIST_BUCKETS; i++) {
		uint64_t lo = hist_bucket_high(i - 1) + 1;
		if (hist_bucket(lo) != i || hist_bucket(hist_bucket_high(i)) != i)
			contiguous = 0;
		uint64_t width = hist_bucket_high(i) - lo + 1;
		if (lo >= 128 && (double)width / (double)lo > 1.0 / 64 + 1e-12)
			tight = 0;
	}
	tap_ok(contiguous, "every bucket starts where the one before ends");
	tap_ok(tight, "a bucket is at most 1/64 of its lowest value wide");

	hist_init(&h);
	tap_eq_int(hist_quantile(&h, 0.5), 0, "an empty histogram answers 0");
	for (uint64_t v = 1; v <= 1000000; v++)
		hist_record(&h, v * 1000);
	uint64_t p50 = hist_quantile(&h, 0.5), p99 = hist_quantile(&h, 0.99);
	tap_ok(p50 >= 500000000 && p50 <= 500000000 * (1 + 1.0 / 64), "p50 of 1..1e6 µs is 500 ms within 1/64");
	tap_ok(p99 >= 990000000 && p99 <= 990000000 * (1 + 1.0 / 64), "p99 within 1/64");
	tap_eq_int(hist_quantile(&h, 1.0), 1000000000, "q = 1 is the exact max");
	tap_eq_int(h.min, 1000, "min is exact");

	hist_init(&h2);
	hist_record(&h2, 5);
	hist_merge(&h2, &h);
	tap_eq_int(h2.count, 1000001, "merge adds counts");
	tap_eq_int(h2.min, 5, "merge keeps the smaller min");
	tap_eq_int(hist_quantile(&h2, 0.0), 5, "q = 0 is the smallest sample");
	return tap_done();
}
