/*
 * seal_test — sealing and opening cluster messages: what opens, what is
 * refused and with which error, the replay window, the sender table, and a
 * known-answer trailer computed outside this code.
 */
#include "cluster/seal.h"

#include "tests/tap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "seal-test-secret-0123456789"
#define NOW UINT64_C(1700000000000)
#define SKEW 30000
#define INBOX "ipc:///tmp/gatecast/gateway-1.ipc"

/* A body plus room for its trailer. */
struct sealed {
	unsigned char p[256];
	size_t n;
};

static struct sealed
seal_make(struct seal *s, const char *body, const char *to, uint64_t now)
{
	struct sealed m;
	m.n = strlen(body);
	memcpy(m.p, body, m.n);
	seal_trailer(s, m.p, m.n, to, now, m.p + m.n);
	m.n += SEAL_TRAILER;
	return m;
}

static int
seal_try(struct seal *s, const struct sealed *m, const char *to, uint64_t now, uint64_t *from)
{
	uint64_t dummy;
	return seal_check(s, m->p, m->n, to, now, from ? from : &dummy);
}

/*
 * Produced with Python's standard library alone:
 *
 *   import hmac, hashlib, struct
 *   k = hmac.new(b'gatecast-kat-secret-0123', b'gatecast cluster v1', hashlib.sha256).digest()
 *   to = b'ipc:///tmp/x.ipc'; body = b'hello'
 *   head = struct.pack('>QQQ', 0x0102030405060708, 1, 1700000000000)
 *   tag = hmac.new(k, struct.pack('>I', len(to)) + to + head + body, hashlib.sha256).digest()[:16]
 *   trailer = head + tag
 */
static const unsigned char kat_trailer[SEAL_TRAILER] =
	"\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x01\x8b\xcf"
	"\xe5\x68\x00\x40\xff\x04\x4c\x66\x40\xef\x0a\x26\xfa\x3c\x0c\x33\x0e\xe9\x14";

static void
test_known_answer(void)
{
	struct seal *s = seal_new("gatecast-kat-secret-0123", UINT64_C(0x0102030405060708), SKEW);
	unsigned char t[SEAL_TRAILER];
	seal_trailer(s, "hello", 5, "ipc:///tmp/x.ipc", NOW, t);
	tap_eq_mem(t, sizeof t, kat_trailer, sizeof kat_trailer,
		"the trailer matches one computed with Python's hmac module");

	struct seal *r = seal_new("gatecast-kat-secret-0123", 99, SKEW);
	unsigned char m[5 + SEAL_TRAILER];
	memcpy(m, "hello", 5);
	memcpy(m + 5, kat_trailer, SEAL_TRAILER);
	uint64_t from = 0;
	tap_eq_int(seal_check(r, m, sizeof m, "ipc:///tmp/x.ipc", NOW + 5, &from), 0,
		"the known-answer message opens");
	tap_ok(from == UINT64_C(0x0102030405060708), "and names its sender");
	seal_free(s);
	seal_free(r);
}

static void
test_round_trip(void)
{
	struct seal *a = seal_new(SECRET, 1, SKEW), *b = seal_new(SECRET, 2, SKEW);
	struct sealed m = seal_make(a, "an op for gateway 1", INBOX, NOW);
	uint64_t from = 0;
	tap_eq_int(seal_try(b, &m, INBOX, NOW, &from), 0, "a sealed message opens at its receiver");
	tap_eq_int(from, 1, "the sender id is the sealer's");
	tap_eq_int(seal_id(a), 1, "seal_id is the id given to seal_new");

	struct sealed e = seal_make(a, "", INBOX, NOW);
	tap_eq_int(e.n, SEAL_TRAILER, "an empty body seals to a bare trailer");
	tap_eq_int(seal_try(b, &e, INBOX, NOW, NULL), 0, "and opens");

	struct sealed m2 = seal_make(a, "same body", INBOX, NOW);
	struct sealed m3 = seal_make(a, "same body", INBOX, NOW);
	tap_ok(memcmp(m2.p + m2.n - SEAL_TAG_LEN, m3.p + m3.n - SEAL_TAG_LEN, SEAL_TAG_LEN) != 0,
		"the same body sealed twice gets different tags (the counter moved)");
	tap_eq_int(seal_stats(a)->sealed, 4, "sealed messages are counted");
	tap_eq_int(seal_stats(b)->opened, 2, "opened messages are counted");
	seal_free(a);
	seal_free(b);
}

static void
test_nng_msg(void)
{
	struct seal *a = seal_new(SECRET, 7, SKEW), *b = seal_new(SECRET, 8, SKEW);
	nng_msg *m;
	uint64_t from = 0;
	if (nng_msg_alloc(&m, 0) != 0)
		abort();
	nng_msg_append(m, "payload", 7);
	seal_msg(a, m, "register", NOW);
	tap_eq_int(nng_msg_len(m), 7 + SEAL_TRAILER, "seal_msg appends the trailer");
	tap_eq_int(seal_open(b, m, "register", NOW, &from), 0, "seal_open accepts it");
	tap_eq_mem(nng_msg_body(m), nng_msg_len(m), "payload", 7, "and strips the trailer");
	tap_eq_int(from, 7, "and names the sender");
	seal_msg(a, m, "register", NOW);
	((unsigned char *)nng_msg_body(m))[0] ^= 1;
	size_t before = nng_msg_len(m);
	tap_eq_int(seal_open(b, m, "register", NOW, &from), -EPERM, "a tampered nng message is refused");
	tap_eq_int(nng_msg_len(m), before, "and left as it was");
	nng_msg_free(m);
	seal_free(a);
	seal_free(b);
}

static void
test_tampering(void)
{
	struct seal *a = seal_new(SECRET, 1, SKEW), *b = seal_new(SECRET, 2, SKEW);
	struct sealed m = seal_make(a, "{\"send_to_all\":\"hi\"}", INBOX, NOW);

	/* Every single bit of body and trailer matters. */
	bool all = true;
	for (size_t i = 0; i < m.n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			struct sealed x = m;
			x.p[i] ^= (unsigned char)(1u << bit);
			if (seal_try(b, &x, INBOX, NOW, NULL) != -EPERM)
				all = false;
		}
	}
	tap_ok(all, "flipping any bit of body, sender, counter, time or tag gives -EPERM");

	struct sealed cut = m;
	cut.n -= 1;
	tap_eq_int(seal_try(b, &cut, INBOX, NOW, NULL), -EPERM, "a truncated message is refused");
	struct sealed longer = m;
	memmove(longer.p + 1, longer.p, longer.n);
	longer.p[0] = 'x';
	longer.n++;
	tap_eq_int(seal_try(b, &longer, INBOX, NOW, NULL), -EPERM, "a byte put in front is refused");

	unsigned char tiny[SEAL_TRAILER - 1] = {0};
	uint64_t from;
	tap_eq_int(seal_check(b, tiny, sizeof tiny, INBOX, NOW, &from), -EBADMSG,
		"fewer bytes than a trailer is -EBADMSG");
	tap_eq_int(seal_check(b, tiny, 0, INBOX, NOW, &from), -EBADMSG, "so is an empty message");
	unsigned char zeros[SEAL_TRAILER + 8] = {0};
	tap_eq_int(seal_check(b, zeros, sizeof zeros, INBOX, NOW, &from), -EPERM,
		"an all-zero trailer is -EPERM");

	tap_eq_int(seal_try(b, &m, INBOX, NOW, NULL), 0, "the untouched message still opens");
	tap_eq_int(seal_stats(b)->forged, m.n * 8 + 3, "every forgery is counted");
	tap_eq_int(seal_stats(b)->malformed, 2, "short messages are counted");
	seal_free(a);
	seal_free(b);
}

static void
test_wrong_secret_and_receiver(void)
{
	struct seal *a = seal_new(SECRET, 1, SKEW);
	struct seal *other = seal_new("another-secret-0123456789", 2, SKEW);
	struct seal *b = seal_new(SECRET, 3, SKEW);
	struct sealed m = seal_make(a, "hello", INBOX, NOW);
	tap_eq_int(seal_try(other, &m, INBOX, NOW, NULL), -EPERM,
		"a message does not open with another secret");
	struct sealed o = seal_make(other, "hello", INBOX, NOW);
	tap_eq_int(seal_try(b, &o, INBOX, NOW, NULL), -EPERM,
		"a message sealed with another secret is refused");
	tap_eq_int(seal_try(b, &m, "ipc:///tmp/gatecast/gateway-2.ipc", NOW, NULL), -EPERM,
		"a message sealed for one inbox does not open at another");
	tap_eq_int(seal_try(b, &m, "register", NOW, NULL), -EPERM,
		"nor as an announce to a register");
	/* The length prefix keeps (to, body) pairs apart that concatenate alike. */
	struct sealed p1 = seal_make(a, "bc", "a", NOW);
	struct sealed p2;
	p2.n = p1.n - 1;
	memcpy(p2.p, p1.p + 1, p2.n); /* body "c": "ab" + "c" == "a" + "bc" */
	tap_eq_int(seal_try(b, &p2, "ab", NOW, NULL), -EPERM,
		"moving bytes between receiver name and body breaks the tag");
	tap_eq_int(seal_try(b, &p1, "a", NOW, NULL), 0, "the right receiver opens it");
	seal_free(a);
	seal_free(other);
	seal_free(b);
}

static void
test_time(void)
{
	struct seal *a = seal_new(SECRET, 1, SKEW), *b = seal_new(SECRET, 2, SKEW);
	struct sealed old = seal_make(a, "old", INBOX, NOW - SKEW - 1);
	tap_eq_int(seal_try(b, &old, INBOX, NOW, NULL), -ETIME,
		"a message older than the skew is -ETIME");
	struct sealed future = seal_make(a, "future", INBOX, NOW + SKEW + 1);
	tap_eq_int(seal_try(b, &future, INBOX, NOW, NULL), -ETIME,
		"a message from further in the future than the skew is -ETIME");
	struct sealed edge = seal_make(a, "edge", INBOX, NOW - SKEW);
	tap_eq_int(seal_try(b, &edge, INBOX, NOW, NULL), 0, "exactly max_skew old is accepted");
	struct sealed early = seal_make(a, "early", INBOX, NOW + SKEW);
	tap_eq_int(seal_try(b, &early, INBOX, NOW, NULL), 0, "exactly max_skew ahead is accepted");
	struct sealed zero = seal_make(a, "epoch", INBOX, 0);
	tap_eq_int(seal_try(b, &zero, INBOX, NOW, NULL), -ETIME, "time 0 is -ETIME");
	struct sealed huge = seal_make(a, "far", INBOX, UINT64_MAX);
	tap_eq_int(seal_try(b, &huge, INBOX, NOW, NULL), -ETIME, "time 2^64-1 is -ETIME");
	tap_eq_int(seal_stats(b)->stale, 4, "stale messages are counted");

	/* A refused stale message leaves no trace: the sender's window did not
	 * move, so a message sealed before it still opens. */
	struct seal *c = seal_new(SECRET, 3, SKEW);
	struct sealed first = seal_make(a, "first", INBOX, NOW);
	struct sealed late = seal_make(a, "late", INBOX, NOW + 10 * SKEW);
	tap_eq_int(seal_try(c, &late, INBOX, NOW, NULL), -ETIME, "the later message is stale here");
	tap_eq_int(seal_try(c, &first, INBOX, NOW, NULL), 0,
		"and did not advance the counter of its sender");
	seal_free(a);
	seal_free(b);
	seal_free(c);
}

static void
test_replay_and_reorder(void)
{
	struct seal *a = seal_new(SECRET, 1, SKEW), *b = seal_new(SECRET, 2, SKEW);
	struct sealed m[100];
	for (int i = 0; i < 100; i++)
		m[i] = seal_make(a, "msg", INBOX, NOW);

	tap_eq_int(seal_try(b, &m[0], INBOX, NOW, NULL), 0, "the first message opens");
	tap_eq_int(seal_try(b, &m[0], INBOX, NOW, NULL), -EALREADY,
		"the same message again is a replay");
	tap_eq_int(seal_try(b, &m[0], INBOX, NOW + 1000, NULL), -EALREADY,
		"also a second later, within the skew");
	tap_eq_int(seal_try(b, &m[5], INBOX, NOW, NULL), 0, "a gap in counters is fine");
	tap_eq_int(seal_try(b, &m[3], INBOX, NOW, NULL), 0, "a message overtaken by a later one opens");
	tap_eq_int(seal_try(b, &m[3], INBOX, NOW, NULL), -EALREADY, "but only once");
	tap_eq_int(seal_try(b, &m[5], INBOX, NOW, NULL), -EALREADY,
		"the highest one is still remembered");
	tap_eq_int(seal_try(b, &m[4], INBOX, NOW, NULL), 0, "the other skipped one opens too");
	tap_eq_int(seal_try(b, &m[70], INBOX, NOW, NULL), 0, "a jump of 65 opens");
	tap_eq_int(seal_try(b, &m[6], INBOX, NOW, NULL), -EALREADY,
		"a counter 64 below the highest is refused (outside the window)");
	tap_eq_int(seal_try(b, &m[7], INBOX, NOW, NULL), 0,
		"one 63 below the highest, never seen, opens");
	tap_eq_int(seal_try(b, &m[7], INBOX, NOW, NULL), -EALREADY, "once");
	int replays = 0;
	for (int i = 0; i <= 70; i++)
		replays += seal_try(b, &m[i], INBOX, NOW, NULL) == -EALREADY;
	/* m[0..6] are below the window, m[7] and m[70] were seen; m[8..69]
	 * never opened and are inside the window, so they open now. */
	tap_eq_int(replays, 7 + 2, "every message seen before is refused, the unseen ones open");
	replays = 0;
	for (int i = 0; i <= 70; i++)
		replays += seal_try(b, &m[i], INBOX, NOW, NULL) == -EALREADY;
	tap_eq_int(replays, 71, "replaying all of them again opens none");
	tap_eq_int(seal_stats(b)->replayed, 6 + 9 + 71, "replays are counted");
	seal_free(a);
	seal_free(b);
}

static void
test_interleaved_senders(void)
{
	struct seal *a = seal_new(SECRET, 10, SKEW), *c = seal_new(SECRET, 5, SKEW);
	struct seal *r = seal_new(SECRET, 1, SKEW);
	struct sealed ma[3], mc[3];
	for (int i = 0; i < 3; i++) {
		ma[i] = seal_make(a, "from a", INBOX, NOW);
		mc[i] = seal_make(c, "from c", INBOX, NOW);
	}
	uint64_t from = 0;
	bool ok = true;
	for (int i = 0; i < 3; i++) {
		ok &= seal_try(r, &ma[i], INBOX, NOW, &from) == 0 && from == 10;
		ok &= seal_try(r, &mc[i], INBOX, NOW, &from) == 0 && from == 5;
	}
	tap_ok(ok, "two senders with the same counters interleave without conflict");
	tap_eq_int(seal_try(r, &ma[1], INBOX, NOW, NULL), -EALREADY, "replays of one sender are refused");
	tap_eq_int(seal_try(r, &mc[2], INBOX, NOW, NULL), -EALREADY, "and of the other");
	struct sealed next = seal_make(c, "again", INBOX, NOW);
	tap_eq_int(seal_try(r, &next, INBOX, NOW, NULL), 0, "each sender's next message opens");
	seal_free(a);
	seal_free(c);
	seal_free(r);
}

static void
test_eviction(void)
{
	struct seal *r = seal_new(SECRET, 1, SKEW);
	struct seal *first = seal_new(SECRET, 1000000, SKEW);
	struct seal *kept = seal_new(SECRET, 2000000, SKEW);
	struct sealed f1 = seal_make(first, "f", INBOX, NOW);
	struct sealed k1 = seal_make(kept, "k", INBOX, NOW);
	tap_eq_int(seal_try(r, &f1, INBOX, NOW, NULL), 0, "sender 'first' opens a message");
	tap_eq_int(seal_try(r, &k1, INBOX, NOW, NULL), 0, "sender 'kept' too");

	/* Fill the table; 'kept' keeps talking so it stays recent. */
	bool ok = true;
	for (uint64_t id = 2; id < SEAL_MAX_SENDERS; id++) {
		struct seal *s = seal_new(SECRET, id * 7919, SKEW);
		struct sealed m = seal_make(s, "x", INBOX, NOW);
		ok &= seal_try(r, &m, INBOX, NOW, NULL) == 0;
		seal_free(s);
		if (id % 512 == 0) {
			struct sealed k = seal_make(kept, "k", INBOX, NOW);
			ok &= seal_try(r, &k, INBOX, NOW, NULL) == 0;
		}
	}
	tap_ok(ok, "the table takes SEAL_MAX_SENDERS senders");
	tap_eq_int(seal_stats(r)->evicted, 0, "nobody was evicted yet");
	tap_eq_int(seal_try(r, &k1, INBOX, NOW, NULL), -EALREADY, "'kept' is still remembered");
	tap_eq_int(seal_try(r, &f1, INBOX, NOW, NULL), -EALREADY, "and so is 'first'");

	struct seal *newcomer = seal_new(SECRET, 3, SKEW);
	struct sealed n1 = seal_make(newcomer, "n", INBOX, NOW);
	tap_eq_int(seal_try(r, &n1, INBOX, NOW, NULL), 0, "one more sender is accepted");
	tap_eq_int(seal_stats(r)->evicted, 1, "by evicting one");
	tap_eq_int(seal_try(r, &n1, INBOX, NOW, NULL), -EALREADY, "the newcomer is remembered");
	tap_eq_int(seal_try(r, &k1, INBOX, NOW, NULL), -EALREADY,
		"the recently heard sender was not evicted");
	/* 'first' was the least recently heard: forgotten, so its old message
	 * opens again (within the skew): the documented cost of a full table. */
	tap_eq_int(seal_try(r, &f1, INBOX, NOW, NULL), 0,
		"the least recently heard sender was evicted, and its old message opens once more");
	tap_eq_int(seal_stats(r)->evicted, 2, "which evicted another");
	seal_free(r);
	seal_free(first);
	seal_free(kept);
	seal_free(newcomer);
}

int
main(void)
{
	test_known_answer();
	test_round_trip();
	test_nng_msg();
	test_tampering();
	test_wrong_secret_and_receiver();
	test_time();
	test_replay_and_reorder();
	test_interleaved_senders();
	test_eviction();
	return tap_done();
}
