/*
 * guard — see guard.h. The per-IP table is a small open-addressing map of
 * 64-bit IP hashes to counts (a hash collision only means two addresses
 * share a budget).
 */
#include "gateway/guard.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/config.h"
#include "common/hash.h"
#include "common/xmalloc.h"

struct guard_slot {
	uint64_t ip; /* 0 = empty */
	uint32_t count;
};

struct guard {
	const struct config *cfg;
	struct guard_slot *slots;
	size_t cap, used;
};

static uint64_t
guard_hash(const char *p, size_t n)
{
	uint64_t h = hash_bytes(p, n);
	return h ? h : 1;
}

struct guard *
guard_new(const struct config *c)
{
	struct guard *g = xcalloc(1, sizeof *g);
	g->cfg = c;
	g->cap = 1024;
	g->slots = xcalloc(g->cap, sizeof *g->slots);
	return g;
}

void
guard_free(struct guard *g)
{
	if (g == NULL)
		return;
	free(g->slots);
	free(g);
}

/* Is the item (n bytes at p) in the comma-separated list? */
static bool
guard_listed(const char *list, const char *p, size_t n)
{
	const char *s = list;
	while (*s) {
		while (*s == ' ' || *s == ',')
			s++;
		const char *e = s;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > s && t[-1] == ' ')
			t--;
		if ((size_t)(t - s) == n && n > 0 && memcmp(s, p, n) == 0)
			return true;
		s = e;
	}
	return false;
}

bool
guard_origin_ok(const struct guard *g, struct http_span origin)
{
	if (g->cfg->gateway_allowed_origins[0] == '\0')
		return true;
	return origin.n > 0 && guard_listed(g->cfg->gateway_allowed_origins, origin.p, origin.n);
}

uint64_t
guard_client_ip(const struct guard *g, const char *peer_ip, struct http_span xff)
{
	const char *proxies = g->cfg->gateway_trusted_proxies;
	if (xff.n == 0 || !guard_listed(proxies, peer_ip, strlen(peer_ip)))
		return guard_hash(peer_ip, strlen(peer_ip));
	/* Walk X-Forwarded-For from the right: the first address that is not
	 * one of our proxies is the client (anything left of it is whatever
	 * the client chose to send). */
	const char *end = xff.p + xff.n;
	while (end > xff.p) {
		const char *start = end;
		while (start > xff.p && start[-1] != ',')
			start--;
		const char *a = start, *b = end;
		while (a < b && *a == ' ')
			a++;
		while (b > a && b[-1] == ' ')
			b--;
		if (b > a && !guard_listed(proxies, a, (size_t)(b - a)))
			return guard_hash(a, (size_t)(b - a));
		end = start > xff.p ? start - 1 : start;
	}
	return guard_hash(peer_ip, strlen(peer_ip));
}

static struct guard_slot *
guard_find(struct guard *g, uint64_t ip, bool insert)
{
	size_t i = (size_t)hash_mix64(ip) & (g->cap - 1);
	for (;; i = (i + 1) & (g->cap - 1)) {
		if (g->slots[i].ip == ip)
			return &g->slots[i];
		if (g->slots[i].ip == 0)
			return insert ? &g->slots[i] : NULL;
	}
}

static void
guard_grow(struct guard *g)
{
	struct guard_slot *old = g->slots;
	size_t oldcap = g->cap;
	g->cap *= 2;
	g->slots = xcalloc(g->cap, sizeof *g->slots);
	g->used = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].ip == 0 || old[i].count == 0)
			continue;
		*guard_find(g, old[i].ip, true) = old[i];
		g->used++;
	}
	free(old);
}

bool
guard_ip_acquire(struct guard *g, uint64_t ip)
{
	uint32_t max = g->cfg->gateway_max_connections_per_ip;
	if (max == 0)
		return true;
	if ((g->used + 1) * 4 > g->cap * 3)
		guard_grow(g);
	struct guard_slot *s = guard_find(g, ip, true);
	if (s->ip == 0) {
		s->ip = ip;
		g->used++;
	}
	if (s->count >= max)
		return false;
	s->count++;
	return true;
}

void
guard_ip_release(struct guard *g, uint64_t ip)
{
	if (g->cfg->gateway_max_connections_per_ip == 0)
		return;
	struct guard_slot *s = guard_find(g, ip, false);
	/* Slots at zero stay until the next growth drops them: removal from
	 * linear probing would need backward shifting, and IPs come back. */
	if (s != NULL && s->count > 0)
		s->count--;
}

int
guard_token(const struct guard *g, const char *token, size_t len, struct jwt_claims *claims,
	const char **why)
{
	const struct config *c = g->cfg;
	return jwt_verify(token, len, c->auth_secret,
		c->auth_previous_secret[0] ? c->auth_previous_secret : NULL, (int64_t)time(NULL),
		(int64_t)(c->auth_leeway_ms / 1000), c->gateway_max_uid_len, claims, why);
}

void
guard_bucket_init(const struct guard *g, struct guard_bucket *b, uint64_t now_ms)
{
	b->tokens = g->cfg->gateway_rate_burst * 1000u;
	b->last_ms = (uint32_t)now_ms;
}

bool
guard_rate_take(const struct guard *g, struct guard_bucket *b, uint64_t now_ms)
{
	uint32_t rate = g->cfg->gateway_rate_limit;
	if (rate == 0)
		return true;
	uint64_t cap = (uint64_t)g->cfg->gateway_rate_burst * 1000u;
	uint32_t elapsed = (uint32_t)now_ms - b->last_ms;
	uint64_t t = b->tokens + (uint64_t)elapsed * rate; /* rate/s = rate per 1000 ms, in thousandths */
	b->tokens = (uint32_t)(t > cap ? cap : t);
	b->last_ms = (uint32_t)now_ms;
	if (b->tokens < 1000)
		return false;
	b->tokens -= 1000;
	return true;
}
