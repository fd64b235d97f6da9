/*
 * jwt_fuzz — libFuzzer target for jwt_verify.
 *
 * Each input is verified twice with fixed secrets: once as it is, which
 * exercises the splitting, the base64url decoder, the header checks and
 * the signature compare; and once with its signature part replaced by the
 * correct HMAC of its first two parts, since a fuzzer cannot forge
 * HMAC-SHA256 and would otherwise never reach the payload parser. Whatever
 * verifies must hold claims within the documented limits, and must verify
 * again, with the same claims, after jwt_sign re-mints it. Any broken rule
 * aborts, so libFuzzer keeps the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "common/buf.h"
#include "common/jwt.h"

#define FUZZ_SECRET "fuzz-secret"
#define FUZZ_PREVIOUS "fuzz-previous"
#define FUZZ_NOW 1700000000
#define FUZZ_LEEWAY 30
#define FUZZ_MAX_SUB 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
jwt_fuzz_b64url(struct buf *out, const unsigned char *p, size_t n)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			buf_append_char(out, alphabet[(acc >> bits) & 63]);
		}
	}
	if (bits > 0)
		buf_append_char(out, alphabet[(acc << (6 - bits)) & 63]);
}

static void
jwt_fuzz_check_claims(const struct jwt_claims *c)
{
	size_t n = strnlen(c->sub, sizeof c->sub);

	if (n == 0 || n > FUZZ_MAX_SUB)
		abort();
	if (c->groups == NULL) {
		if (c->ngroups != 0)
			abort();
		return;
	}
	if (c->ngroups > JWT_MAX_GROUPS || c->groups[c->ngroups] != NULL)
		abort();
	for (size_t i = 0; i < c->ngroups; i++) {
		size_t len = strlen(c->groups[i]);
		if (len == 0 || len > JWT_MAX_GROUP)
			abort();
		/* every exact pattern allows itself */
		if (c->groups[i][len - 1] != '*' && !jwt_group_allowed(c, c->groups[i], len))
			abort();
	}
	(void)jwt_group_allowed(c, "company:7:feed", 14);
}

/* Verifies p; when it verifies, checks the claims and that jwt_sign
 * re-mints a token carrying the same claims. */
static void
jwt_fuzz_verify(const char *p, size_t n)
{
	struct jwt_claims c, again;
	const char *why = NULL;
	int rc = jwt_verify(p, n, FUZZ_SECRET, FUZZ_PREVIOUS, FUZZ_NOW, FUZZ_LEEWAY, FUZZ_MAX_SUB,
		&c, &why);

	if (rc != 0) {
		if (why == NULL || c.groups != NULL || c.ngroups != 0 || c.sub[0] != '\0')
			abort();
		if (rc != -EINVAL && rc != -E2BIG && rc != -EPERM && rc != -ETIME && rc != -EAGAIN)
			abort();
		return;
	}
	jwt_fuzz_check_claims(&c);

	char *tok = jwt_sign(FUZZ_SECRET, c.sub, c.iat, c.exp, (const char *const *)c.groups,
		c.ngroups);
	if (tok == NULL)
		abort();
	/* nbf is not minted, so the re-minted token is never "not yet valid" */
	rc = jwt_verify(tok, strlen(tok), FUZZ_SECRET, NULL, FUZZ_NOW, FUZZ_LEEWAY, FUZZ_MAX_SUB,
		&again, &why);
	if (rc != 0 && !(rc == -E2BIG && strlen(tok) > JWT_MAX_LEN))
		abort();
	if (rc == 0) {
		if (strcmp(again.sub, c.sub) != 0 || again.exp != c.exp || again.iat != c.iat ||
			again.ngroups != c.ngroups)
			abort();
		for (size_t i = 0; i < c.ngroups; i++)
			if (strcmp(again.groups[i], c.groups[i]) != 0)
				abort();
	}
	jwt_claims_fini(&again);
	free(tok);
	jwt_claims_fini(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char mac[32];
	struct buf b = BUF_INIT;
	const uint8_t *dot;

	/* a copy of exactly size bytes, so a read past len is caught */
	char *p = malloc(size ? size : 1);
	if (p == NULL)
		return 0;
	p[0] = '\0';
	if (size)
		memcpy(p, data, size);
	jwt_fuzz_verify(p, size);
	free(p);

	/* The same header and payload, correctly signed. */
	dot = size > 0 ? memchr(data, '.', size) : NULL;
	dot = dot != NULL ? memchr(dot + 1, '.', size - (size_t)(dot + 1 - data)) : NULL;
	if (dot == NULL)
		return 0;
	buf_append(&b, data, (size_t)(dot - data));
	if (mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
		    (const unsigned char *)FUZZ_SECRET, strlen(FUZZ_SECRET),
		    (const unsigned char *)b.p, b.len, mac) != 0)
		abort();
	buf_append_char(&b, '.');
	jwt_fuzz_b64url(&b, mac, sizeof mac);
	/* anything after the signature stays, so a fourth part is still seen */
	const uint8_t *rest = memchr(dot + 1, '.', size - (size_t)(dot + 1 - data));
	if (rest != NULL)
		buf_append(&b, rest, size - (size_t)(rest - data));
	p = malloc(b.len);
	if (p == NULL)
		abort();
	memcpy(p, b.p, b.len);
	jwt_fuzz_verify(p, b.len);
	free(p);
	buf_fini(&b);
	return 0;
}
