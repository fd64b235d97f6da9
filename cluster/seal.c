/*
 * seal — see seal.h.
 *
 * The sender table is an array sorted by sender id (binary search): senders
 * are the processes of one cluster, tens to hundreds, and only a message
 * whose tag verified can add one, so an outsider cannot grow it or force
 * evictions. Eviction (when full) scans for the least recently heard entry.
 */
#include "cluster/seal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include "common/ct.h"
#include "common/xmalloc.h"

#define SEAL_KEY_LEN 32
#define SEAL_BLOCK 64 /* SHA-256's block: HMAC pads the key to it */
#define SEAL_KDF_LABEL "gatecast cluster v1"

struct seal_sender {
	uint64_t id;
	uint64_t top;    /* highest counter accepted */
	uint64_t window; /* bit i: counter top - i was accepted (bit 0 is top) */
	uint64_t heard;  /* s->tick when last accepted, for eviction */
};

struct seal {
	/* HMAC (RFC 2104) with its two keyed pads hashed once: each tag clones
	 * `inner` (SHA-256 after key ^ ipad) and `outer` (after key ^ opad)
	 * instead of rehashing them, which saves two of the ~5 compressions a
	 * small message costs. */
	mbedtls_md_context_t inner, outer, work;
	uint64_t self;
	uint64_t counter;
	uint64_t max_skew;
	uint64_t tick;
	struct seal_sender *senders; /* sorted by id */
	size_t n;
	struct seal_stats stats;
};

static void
seal_put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static uint64_t
seal_get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

struct seal *
seal_new(const char *secret, uint64_t self_id, uint32_t max_skew_ms)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	unsigned char key[SEAL_KEY_LEN];
	struct seal *s = xcalloc(1, sizeof *s);

	unsigned char pad[SEAL_BLOCK];

	if (md == NULL ||
		mbedtls_md_hmac(md, (const unsigned char *)secret, strlen(secret),
			(const unsigned char *)SEAL_KDF_LABEL, strlen(SEAL_KDF_LABEL), key) != 0)
		abort();
	mbedtls_md_init(&s->inner);
	mbedtls_md_init(&s->outer);
	mbedtls_md_init(&s->work);
	if (mbedtls_md_setup(&s->inner, md, 0) != 0 || mbedtls_md_setup(&s->outer, md, 0) != 0 ||
		mbedtls_md_setup(&s->work, md, 0) != 0)
		abort(); /* only fails to allocate: see xmalloc.h */
	/* The key (32 bytes) is shorter than a block: pad it with zeros. */
	memset(pad, 0x36, sizeof pad);
	for (size_t i = 0; i < sizeof key; i++)
		pad[i] ^= key[i];
	if (mbedtls_md_starts(&s->inner) != 0 || mbedtls_md_update(&s->inner, pad, sizeof pad) != 0)
		abort();
	memset(pad, 0x5c, sizeof pad);
	for (size_t i = 0; i < sizeof key; i++)
		pad[i] ^= key[i];
	if (mbedtls_md_starts(&s->outer) != 0 || mbedtls_md_update(&s->outer, pad, sizeof pad) != 0)
		abort();
	mbedtls_platform_zeroize(pad, sizeof pad);
	mbedtls_platform_zeroize(key, sizeof key);
	s->self = self_id;
	s->max_skew = max_skew_ms;
	s->senders = xcalloc(SEAL_MAX_SENDERS, sizeof *s->senders);
	return s;
}

void
seal_free(struct seal *s)
{
	if (s == NULL)
		return;
	/* mbedtls_md_free zeroizes the hash states, keyed pads included. */
	mbedtls_md_free(&s->inner);
	mbedtls_md_free(&s->outer);
	mbedtls_md_free(&s->work);
	free(s->senders);
	free(s);
}

uint64_t
seal_id(const struct seal *s)
{
	return s->self;
}

const struct seal_stats *
seal_stats(const struct seal *s)
{
	return &s->stats;
}

/* The tag over (to, the 24 header bytes of the trailer, body). */
static void
seal_tag(struct seal *s, const void *body, size_t n, const char *to,
	const unsigned char head[24], unsigned char tag[SEAL_TAG_LEN])
{
	unsigned char mac[32], len[4];
	size_t tn = strlen(to);

	len[0] = (unsigned char)(tn >> 24);
	len[1] = (unsigned char)(tn >> 16);
	len[2] = (unsigned char)(tn >> 8);
	len[3] = (unsigned char)tn;
	if (mbedtls_md_clone(&s->work, &s->inner) != 0 || mbedtls_md_update(&s->work, len, 4) != 0 ||
		mbedtls_md_update(&s->work, (const unsigned char *)to, tn) != 0 ||
		mbedtls_md_update(&s->work, head, 24) != 0 ||
		mbedtls_md_update(&s->work, body, n) != 0 || mbedtls_md_finish(&s->work, mac) != 0 ||
		mbedtls_md_clone(&s->work, &s->outer) != 0 ||
		mbedtls_md_update(&s->work, mac, sizeof mac) != 0 ||
		mbedtls_md_finish(&s->work, mac) != 0)
		abort(); /* cannot fail on set-up contexts */
	memcpy(tag, mac, SEAL_TAG_LEN);
}

void
seal_trailer(struct seal *s, const void *body, size_t n, const char *to, uint64_t now_ms,
	unsigned char out[SEAL_TRAILER])
{
	seal_put64(out, s->self);
	seal_put64(out + 8, ++s->counter);
	seal_put64(out + 16, now_ms);
	seal_tag(s, body, n, to, out, out + 24);
	s->stats.sealed++;
}

/* Index of sender id, or where it would go (*found false). */
static size_t
seal_find(const struct seal *s, uint64_t id, bool *found)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->senders[mid].id == id) {
			*found = true;
			return mid;
		}
		if (s->senders[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Makes room for one more sender: forgets the least recently heard. */
static void
seal_evict(struct seal *s)
{
	size_t old = 0;
	for (size_t i = 1; i < s->n; i++)
		if (s->senders[i].heard < s->senders[old].heard)
			old = i;
	memmove(&s->senders[old], &s->senders[old + 1], (s->n - old - 1) * sizeof *s->senders);
	s->n--;
	s->stats.evicted++;
}

/* The replay window: accepts counter c from sender id at most once. */
static int
seal_admit(struct seal *s, uint64_t id, uint64_t c)
{
	bool found;
	size_t i = seal_find(s, id, &found);

	if (!found) {
		if (s->n == SEAL_MAX_SENDERS) {
			seal_evict(s);
			i = seal_find(s, id, &found);
		}
		memmove(&s->senders[i + 1], &s->senders[i], (s->n - i) * sizeof *s->senders);
		s->n++;
		s->senders[i] = (struct seal_sender){id, c, 1, ++s->tick};
		return 0;
	}
	struct seal_sender *e = &s->senders[i];
	if (c > e->top) {
		uint64_t shift = c - e->top;
		e->window = shift >= SEAL_WINDOW ? 1 : (e->window << shift) | 1;
		e->top = c;
	} else {
		uint64_t back = e->top - c;
		if (back >= SEAL_WINDOW || (e->window >> back & 1))
			return -EALREADY;
		e->window |= UINT64_C(1) << back;
	}
	e->heard = ++s->tick;
	return 0;
}

int
seal_check(struct seal *s, const void *p, size_t n, const char *to, uint64_t now_ms,
	uint64_t *sender)
{
	const unsigned char *t;
	unsigned char tag[SEAL_TAG_LEN];
	int rc;

	if (n < SEAL_TRAILER) {
		s->stats.malformed++;
		return -EBADMSG;
	}
	t = (const unsigned char *)p + (n - SEAL_TRAILER);
	seal_tag(s, p, n - SEAL_TRAILER, to, t, tag);
	if (!ct_equal(tag, t + 24, SEAL_TAG_LEN)) {
		s->stats.forged++;
		return -EPERM;
	}
	uint64_t id = seal_get64(t), counter = seal_get64(t + 8), when = seal_get64(t + 16);
	uint64_t skew = when > now_ms ? when - now_ms : now_ms - when;
	if (skew > s->max_skew) {
		s->stats.stale++;
		return -ETIME;
	}
	if ((rc = seal_admit(s, id, counter)) != 0) {
		s->stats.replayed++;
		return rc;
	}
	s->stats.opened++;
	*sender = id;
	return 0;
}

void
seal_msg(struct seal *s, nng_msg *m, const char *to, uint64_t now_ms)
{
	unsigned char t[SEAL_TRAILER];
	seal_trailer(s, nng_msg_body(m), nng_msg_len(m), to, now_ms, t);
	if (nng_msg_append(m, t, sizeof t) != 0)
		abort(); /* out of memory: see xmalloc.h */
}

int
seal_open(struct seal *s, nng_msg *m, const char *to, uint64_t now_ms, uint64_t *sender)
{
	int rc = seal_check(s, nng_msg_body(m), nng_msg_len(m), to, now_ms, sender);
	if (rc == 0)
		nng_msg_chop(m, SEAL_TRAILER);
	return rc;
}
