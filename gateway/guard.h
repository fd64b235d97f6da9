/*
 * guard — the gateway's door policy: which browsers may connect and what
 * they may do, decided from configuration alone (no I/O, no logging).
 *
 *   origin      gateway.allowed_origins (empty = any)
 *   client IP   the peer address, or — only when the peer is one of
 *               gateway.trusted_proxies — the last X-Forwarded-For entry that
 *               is not itself a trusted proxy
 *   per IP      at most gateway.max_connections_per_ip connections
 *   tokens      HS256 JWTs with auth.secret (or auth.previous_secret)
 *   rate        a token bucket per connection: gateway.rate_limit messages
 *               per second, bursts of gateway.rate_burst
 */
#ifndef GATECAST_GATEWAY_GUARD_H
#define GATECAST_GATEWAY_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "common/jwt.h"
#include "http/http1.h"

struct config;
struct guard;

/* Per connection, kept by the caller (8 bytes). */
struct guard_bucket {
	uint32_t tokens;  /* thousandths of a message */
	uint32_t last_ms; /* when it was last filled (ms, wraps: differences only) */
};

/* c is borrowed for the guard's life. */
struct guard *guard_new(const struct config *c);
void guard_free(struct guard *g);

bool guard_origin_ok(const struct guard *g, struct http_span origin);

/* A key for the client's IP: see above. peer_ip is text ("127.0.0.1"). */
uint64_t guard_client_ip(const struct guard *g, const char *peer_ip, struct http_span xff);
/* Takes one of the IP's connection slots: false when it has none left. */
bool guard_ip_acquire(struct guard *g, uint64_t ip);
/* Gives a slot back (after guard_ip_acquire returned true). */
void guard_ip_release(struct guard *g, uint64_t ip);

/* Verifies a token at the current time with the configured secrets and
 * leeway. Same contract as jwt_verify. */
int guard_token(const struct guard *g, const char *token, size_t len, struct jwt_claims *claims,
	const char **why);

/* Starts a full bucket. */
void guard_bucket_init(const struct guard *g, struct guard_bucket *b, uint64_t now_ms);
/* Takes one message's token: true when it may pass. */
bool guard_rate_take(const struct guard *g, struct guard_bucket *b, uint64_t now_ms);

#endif
