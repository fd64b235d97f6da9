/*
 * guard_test — origins, client IPs behind proxies, per-IP slots, the rate
 * bucket.
 */
#include <string.h>

#include "common/config.h"
#include "gateway/guard.h"
#include "tests/tap.h"

static struct http_span
span(const char *s)
{
	struct http_span h = {s, s ? strlen(s) : 0};
	return h;
}

int
main(void)
{
	struct config c;
	char err[256];
	config_defaults(&c);
	struct guard *g = guard_new(&c);

	tap_ok(guard_origin_ok(g, span(NULL)), "with no allow-list any origin passes");
	tap_ok(config_set(&c, "gateway.allowed_origins=https://a.example, https://b.example", err,
		       sizeof err) == 0,
		"the test's setting applies");
	tap_ok(guard_origin_ok(g, span("https://b.example")), "a listed origin passes");
	tap_ok(!guard_origin_ok(g, span("https://evil.example")), "an unlisted origin is refused");
	tap_ok(!guard_origin_ok(g, span("https://a.example.evil")), "a prefix of a listed origin is not it");
	tap_ok(!guard_origin_ok(g, span(NULL)), "no Origin at all is refused when a list is set");

	uint64_t direct = guard_client_ip(g, "10.0.0.9", span(NULL));
	tap_ok(guard_client_ip(g, "10.0.0.9", span("1.2.3.4")) == direct,
		"X-Forwarded-For from an untrusted peer is ignored");
	tap_ok(config_set(&c, "gateway.trusted_proxies=10.0.0.9,10.0.0.10", err, sizeof err) == 0,
		"the test's setting applies");
	uint64_t client = guard_client_ip(g, "198.51.100.7", span(NULL));
	tap_ok(guard_client_ip(g, "10.0.0.9", span("198.51.100.7")) == client,
		"behind a trusted proxy the forwarded address counts");
	tap_ok(guard_client_ip(g, "10.0.0.9", span("6.6.6.6, 198.51.100.7, 10.0.0.10")) == client,
		"the rightmost address that is not a proxy is the client, not what it claimed");

	tap_ok(config_set(&c, "gateway.max_connections_per_ip=2", err, sizeof err) == 0,
		"the test's setting applies");
	tap_ok(guard_ip_acquire(g, client) && guard_ip_acquire(g, client), "two slots are granted");
	tap_ok(!guard_ip_acquire(g, client), "a third connection from the IP is refused");
	tap_ok(guard_ip_acquire(g, direct), "other IPs are not affected");
	guard_ip_release(g, client);
	tap_ok(guard_ip_acquire(g, client), "a released slot can be taken again");
	int ok = 1;
	for (uint64_t ip = 1000; ip < 5000; ip++)
		ok &= guard_ip_acquire(g, ip);
	tap_ok(ok && !guard_ip_acquire(g, client), "the table grows and keeps its counts");

	tap_ok(config_set(&c, "gateway.rate_limit=10", err, sizeof err) == 0,
		"the test's setting applies");
	tap_ok(config_set(&c, "gateway.rate_burst=3", err, sizeof err) == 0,
		"the test's setting applies");
	struct guard_bucket b;
	guard_bucket_init(g, &b, 1000);
	tap_ok(guard_rate_take(g, &b, 1000) && guard_rate_take(g, &b, 1000) &&
			guard_rate_take(g, &b, 1000),
		"a burst of rate_burst messages passes");
	tap_ok(!guard_rate_take(g, &b, 1000), "the next one at once is limited");
	tap_ok(!guard_rate_take(g, &b, 1050), "half a token later still limited");
	tap_ok(guard_rate_take(g, &b, 1100), "after 1/rate seconds one more passes");
	tap_ok(guard_rate_take(g, &b, 6000) && guard_rate_take(g, &b, 6000) &&
			guard_rate_take(g, &b, 6000) && !guard_rate_take(g, &b, 6000),
		"a long pause refills only up to the burst");

	guard_free(g);
	config_fini(&c);
	return tap_done();
}
