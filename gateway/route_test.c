/*
 * route_test — the wait queue (bounded, expiring, flushed in order once a
 * worker is up) and the choice of worker, through fake ops: the workers are
 * two flags, a message is one byte naming it. The queue keeps copies: the
 * caller's bytes are borrowed for the call only.
 */
#include "gateway/route.h"

#include <errno.h>
#include <string.h>

#include "common/clock.h"
#include "common/config.h"
#include "tests/tap.h"

#define WAIT_MS 1000

/* Two workers; pick gives the key's owner among those up. */
static int workers[2];
static bool up[2];
static int refuse; /* a message byte the links refuse, or 0 */

/* What happened, in order. */
static int sent[16], sent_to[16], nsent;
static uint64_t picked[16];
static int npicked;
static struct {
	enum route_kind kind;
	uint64_t ref;
	int err;
} failed[16];
static int nfailed;

static void *
fake_pick(void *arg, uint64_t key)
{
	if (npicked < 16)
		picked[npicked++] = key;
	if (up[0] && up[1])
		return &workers[key % 2];
	return up[0] ? &workers[0] : up[1] ? &workers[1] : NULL;
}

static int
fake_send(void *arg, void *worker, const void *p, size_t n)
{
	int byte = n == 1 ? ((const unsigned char *)p)[0] : -1;
	if (byte == refuse)
		return -ENOBUFS;
	sent[nsent] = byte;
	sent_to[nsent++] = (int)((int *)worker - workers);
	return 0;
}

static void
fake_fail(void *arg, enum route_kind kind, uint64_t ref, int err)
{
	failed[nfailed].kind = kind;
	failed[nfailed].ref = ref;
	failed[nfailed++].err = err;
}

static const struct route_ops fake_ops = {
	.pick = fake_pick,
	.send = fake_send,
	.fail = fake_fail,
};

/* A message of one byte, b (< 32): MSG(b) is route_send's p, n. */
static const unsigned char bytes[32] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
#define MSG(b) &bytes[b], 1

static void
reset(void)
{
	nsent = nfailed = npicked = 0;
	refuse = 0;
	up[0] = up[1] = false;
}

static void
test_queue(const struct config *cfg)
{
	struct route *rt = route_new(cfg, &fake_ops, NULL);
	reset();
	uint64_t before = clock_ms();
	tap_eq_int(route_send(rt, 1, MSG(1), ROUTE_REQUEST, 101), 0,
		"with no worker up a message is queued");
	tap_eq_int(route_send(rt, 2, MSG(2), ROUTE_MESSAGE, 102), 0, "a second one queues too");
	tap_eq_int(route_send(rt, 3, MSG(3), ROUTE_PRESENCE, 0), 0,
		"the queue takes gateway.max_pending entries");
	tap_eq_int(route_send(rt, 4, MSG(4), ROUTE_OTHER, 0), -ENOBUFS,
		"one more than gateway.max_pending is refused");
	tap_eq_int(route_pending(rt), 3, "a refused message is not queued");
	tap_ok(nsent == 0 && nfailed == 0, "queued messages are neither sent nor failed yet");

	route_expire(rt, before + WAIT_MS - 1);
	tap_ok(nfailed == 0 && route_pending(rt) == 3,
		"nothing expires before gateway.worker_wait has passed");
	route_expire(rt, clock_ms() + WAIT_MS);
	tap_eq_int(nfailed, 3, "after gateway.worker_wait every queued message fails");
	tap_ok(failed[0].kind == ROUTE_REQUEST && failed[0].ref == 101 &&
		       failed[1].kind == ROUTE_MESSAGE && failed[1].ref == 102 &&
		       failed[2].kind == ROUTE_PRESENCE,
		"they fail oldest first, each with its kind and ref");
	tap_ok(failed[0].err == -ETIMEDOUT && failed[2].err == -ETIMEDOUT,
		"an expired message fails with -ETIMEDOUT");
	tap_eq_int(route_pending(rt), 0, "expired messages leave the queue");
	tap_eq_int(nsent, 0, "expired messages are never sent");

	reset();
	route_send(rt, 1, MSG(1), ROUTE_MESSAGE, 1);
	route_send(rt, 2, MSG(2), ROUTE_MESSAGE, 2);
	route_flush(rt);
	tap_ok(nsent == 0 && route_pending(rt) == 2, "a flush with no worker up keeps the queue");
	up[0] = true;
	tap_eq_int(route_send(rt, 3, MSG(3), ROUTE_MESSAGE, 3), 0, "a message behind others queues");
	tap_ok(nsent == 0 && route_pending(rt) == 3,
		"while anything waits, a new message waits behind it even with a worker up");
	route_flush(rt);
	tap_ok(nsent == 3 && sent[0] == 1 && sent[1] == 2 && sent[2] == 3,
		"once a worker is up the queue is sent in order");
	tap_ok(route_pending(rt) == 0 && nfailed == 0, "a flushed queue is empty and failed nothing");
	route_expire(rt, clock_ms() + 10 * WAIT_MS);
	tap_eq_int(nfailed, 0, "sent messages do not expire");

	reset();
	route_send(rt, 1, MSG(1), ROUTE_MESSAGE, 1);
	route_send(rt, 2, MSG(2), ROUTE_REQUEST, 22);
	route_send(rt, 3, MSG(3), ROUTE_MESSAGE, 3);
	up[1] = true;
	refuse = 2;
	route_flush(rt);
	tap_ok(nsent == 2 && sent[0] == 1 && sent[1] == 3,
		"a message its link refuses does not stop the flush");
	tap_ok(nfailed == 1 && failed[0].kind == ROUTE_REQUEST && failed[0].ref == 22 &&
		       failed[0].err == -ENOBUFS,
		"a message its link refused fails with -ENOBUFS");

	reset();
	up[0] = true;
	tap_eq_int(route_send(rt, 7, MSG(7), ROUTE_MESSAGE, 7), 0,
		"with a worker up and nothing waiting a message is sent at once");
	tap_ok(nsent == 1 && sent[0] == 7 && route_pending(rt) == 0, "a message sent at once is not queued");
	refuse = 8;
	tap_eq_int(route_send(rt, 8, MSG(8), ROUTE_MESSAGE, 8), -ENOBUFS,
		"a direct send its link refuses returns the link's error");
	tap_eq_int(nfailed, 0, "a refused direct send is the caller's to answer, not fail's");

	reset();
	unsigned char mine[1] = {5};
	route_send(rt, 5, mine, 1, ROUTE_MESSAGE, 5);
	mine[0] = 6;
	up[0] = true;
	route_flush(rt);
	tap_ok(nsent == 1 && sent[0] == 5, "a queued message is a copy: the caller's bytes are borrowed");

	/* Left queued: route_free frees them (the sanitizer build checks). */
	reset();
	route_send(rt, 1, MSG(1), ROUTE_MESSAGE, 1);
	route_send(rt, 2, MSG(2), ROUTE_MESSAGE, 2);
	route_free(rt);
	tap_eq_int(nfailed, 0, "freeing the route fails nothing");
	route_free(NULL);
}

static void
test_choice(const struct config *cfg)
{
	struct route *rt = route_new(cfg, &fake_ops, NULL);
	reset();
	up[0] = up[1] = true;
	uint64_t k = route_key_client(5);
	for (int i = 0; i < 4; i++)
		route_send(rt, route_key_client(5), MSG(10 + i), ROUTE_MESSAGE, 5);
	tap_ok(nsent == 4 && sent_to[1] == sent_to[0] && sent_to[2] == sent_to[0] &&
		       sent_to[3] == sent_to[0],
		"one client's messages all go to the same worker while the set is unchanged");
	tap_ok(npicked == 4 && picked[0] == k && picked[3] == k, "the worker is picked by the client's key");

	reset();
	route_send(rt, route_key_client(6), MSG(1), ROUTE_MESSAGE, 6);
	up[0] = up[1] = true;
	route_flush(rt);
	tap_ok(nsent == 1 && npicked >= 2 && picked[npicked - 1] == route_key_client(6),
		"a queued message is picked for by the key it was queued with");

	tap_ok(route_key_client(5) == route_key_client(5), "a client's key is stable");
	tap_ok(route_key_client(5) != route_key_client(6), "clients' keys differ");
	bool top = true;
	for (uint64_t n = 0; n < 64; n++)
		top = top && (route_key_push(n) >> 63) == 1;
	tap_ok(top, "a push connection's key always has the top bit set");
	route_free(rt);
}

int
main(void)
{
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.gateway_max_pending = 3;
	cfg.gateway_worker_wait_ms = WAIT_MS;
	test_queue(&cfg);
	test_choice(&cfg);
	return tap_done();
}
