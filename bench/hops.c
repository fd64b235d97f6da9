/*
 * gchops — what process hops alone cost on this machine: the latency floor
 * of any path through N processes, with no server code at all.
 *
 *   gchops [-n HOPS] [-r RATE] [-t SECONDS]
 *
 * Forks HOPS - 1 relays in a ring of unix stream socketpairs. The parent
 * writes an 8-byte CLOCK_MONOTONIC stamp RATE times a second (open loop);
 * each relay blocks in poll, reads it and writes it on; the parent measures
 * how long the stamp took to come back: HOPS wakeups of a sleeping process,
 * each one a read and a write. gatecast's push path is 4 such hops
 * (publisher → gateway → worker → gateway → client), nchan's and Node's 2.
 * Prints one JSON line with the percentiles (hist.h), like gcload. At a
 * rate the ring cannot follow, stamps beyond GCHOPS_MAX_OUTSTANDING in
 * flight are skipped (counted; exit status 1) instead of blocking.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/hist.h"
#include "common/clock.h"

/* Stamps in flight at most. A unix socket charges each small write about
 * 1 KB of its ~200 KB send buffer, so a link holds only ~200 stamps; 64
 * stay clear of that even when all are in one link. */
#define GCHOPS_MAX_OUTSTANDING 64

static void
relay(int in, int out)
{
	uint64_t v;
	for (;;) {
		ssize_t r = read(in, &v, sizeof v);
		if (r != (ssize_t)sizeof v)
			_exit(0);
		if (write(out, &v, sizeof v) != (ssize_t)sizeof v)
			_exit(0);
	}
}

int
main(int argc, char **argv)
{
	int hops = 4, rate = 2000;
	double secs = 5;
	int opt;
	while ((opt = getopt(argc, argv, "n:r:t:")) != -1) {
		if (opt == 'n')
			hops = atoi(optarg);
		else if (opt == 'r')
			rate = atoi(optarg);
		else if (opt == 't')
			secs = atof(optarg);
		else {
			fprintf(stderr, "usage: gchops [-n HOPS (4)] [-r RATE (2000)] [-t SECONDS (5)]\n");
			return 2;
		}
	}
	if (hops < 1 || hops > 64 || rate < 1 || secs <= 0) {
		fprintf(stderr, "gchops: -n 1..64, -r >= 1, -t > 0\n");
		return 2;
	}
	/* sp[i] links process i to process i + 1 (process 0 is us). */
	int sp[64][2];
	for (int i = 0; i < hops; i++)
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp[i]) != 0) {
			perror("socketpair");
			return 2;
		}
	pid_t kids[64];
	for (int i = 1; i < hops; i++) {
		if ((kids[i] = fork()) == 0)
			relay(sp[i - 1][1], sp[i][0]);
	}
	int out = sp[0][0], in = sp[hops - 1][1];

	struct hist h;
	hist_init(&h);
	uint64_t period = 1000000000u / (uint64_t)rate, start = clock_ns();
	uint64_t end = start + (uint64_t)(secs * 1e9), next = start, sent = 0, got = 0, skipped = 0;
	while (next < end) {
		/* Take a stamp that came back, waiting at most until the next
		 * send is due (not at all when it is due already). */
		uint64_t t = clock_ns(), wait = next > t ? next - t : 0;
		struct pollfd p = {in, POLLIN, 0};
		struct timespec ts = {(time_t)(wait / 1000000000u), (long)(wait % 1000000000u)};
		if (ppoll(&p, 1, &ts, NULL) > 0) {
			uint64_t v;
			if (read(in, &v, sizeof v) == (ssize_t)sizeof v) {
				hist_record(&h, clock_ns() - v);
				got++;
			}
		}
		if (clock_ns() < next)
			continue;
		next += period;
		/* Never more stamps in the ring than its socket buffers hold:
		 * a rate the relays cannot follow would otherwise block our
		 * write while the last relay blocks writing back to us. */
		if (sent - got >= GCHOPS_MAX_OUTSTANDING) {
			skipped++;
			continue;
		}
		uint64_t v = clock_ns();
		if (write(out, &v, sizeof v) != (ssize_t)sizeof v) {
			perror("write");
			return 1;
		}
		sent++;
	}
	while (got < sent) {
		uint64_t v;
		if (read(in, &v, sizeof v) != (ssize_t)sizeof v)
			break;
		hist_record(&h, clock_ns() - v);
		got++;
	}
	for (int i = 1; i < hops; i++) {
		kill(kids[i], SIGTERM);
		waitpid(kids[i], NULL, 0);
	}
	printf("{\"scenario\":\"hops\",\"hops\":%d,\"rate\":%d,\"sent\":%llu,\"received\":%llu,"
	       "\"skipped\":%llu,"
	       "\"latency\":{\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
	       "\"max_us\":%.1f}}\n",
		hops, rate, (unsigned long long)sent, (unsigned long long)got,
		(unsigned long long)skipped,
		(double)hist_quantile(&h, 0.50) / 1e3, (double)hist_quantile(&h, 0.90) / 1e3,
		(double)hist_quantile(&h, 0.99) / 1e3, (double)hist_quantile(&h, 0.999) / 1e3, (double)h.max / 1e3);
	if (skipped > 0)
		fprintf(stderr, "gchops: %llu stamps skipped: the ring cannot follow %d/s\n",
			(unsigned long long)skipped, rate);
	return got == sent && skipped == 0 ? 0 : 1;
}
