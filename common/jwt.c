/*
 * jwt — see jwt.h. HS256 compact JWS (RFC 7515 §7.1) carrying JWT claims
 * (RFC 7519 §4.1).
 *
 * Strictness, and why:
 *   - base64url is RFC 4648 §5 without padding, as RFC 7515 §2 requires;
 *     '=', the standard alphabet, whitespace and non-zero trailing bits
 *     are refused, so each token has exactly one spelling and a signature
 *     cannot be "re-encoded" into a second token that still verifies;
 *   - the header may only say {"alg":"HS256"} plus an optional
 *     "typ":"JWT". The alg is never taken from the token to choose an
 *     algorithm (RFC 8725 §2.1, §3.1): anything but HS256 is refused, and
 *     any other header key ("kid", "jku", "crit", ...) is refused rather
 *     than ignored, because RFC 7515 §4.1.11 forbids ignoring "crit";
 *   - the payload is parsed only after the signature has matched, so
 *     unauthenticated JSON never reaches more than the header parser;
 *   - duplicate JSON keys are refused (RFC 7515 §5.2 step 4 allows a
 *     parser to take either one; two verifiers must not disagree).
 *
 * Not done here: reading the clock, logging, key ids or key rotation
 * beyond one previous secret, and any claim other than sub, exp, nbf, iat
 * and groups.
 */
#include "common/jwt.h"

#include "common/base64.h"
#include "common/buf.h"
#include "common/ct.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#define JWT_MAC_LEN 32 /* HMAC-SHA256 */
#define JWT_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/* Tokens are base64url without padding, canonical (RFC 7515 §2). */
#define JWT_B64 (BASE64_URL | BASE64_NOPAD | BASE64_CANONICAL)

static void
jwt_b64_encode(struct buf *out, const void *p, size_t n)
{
	size_t k = base64_encoded_len(n, JWT_B64);

	buf_reserve(out, k);
	out->len += base64_encode(p, n, JWT_B64, out->p + out->len);
}

/* HMAC-SHA256 (RFC 2104) of msg under secret. mbedtls fails here only
 * when it cannot allocate its context, and we abort on out-of-memory. */
static void
jwt_hmac(const char *secret, const void *msg, size_t n, unsigned char mac[JWT_MAC_LEN])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	if (md == NULL || mbedtls_md_hmac(md, (const unsigned char *)secret, strlen(secret),
				  (const unsigned char *)msg, n, mac) != 0)
		abort();
}

/* Does sig (siglen bytes) sign msg under secret or previous? Both secrets
 * are always tried, so the time taken does not say which one matched. The
 * expected MACs are wiped afterwards: each is a valid signature for
 * whatever the sender chose to put in msg. */
static bool
jwt_signature_ok(const char *msg, size_t n, const unsigned char *sig, size_t siglen,
	const char *secret, const char *previous)
{
	unsigned char mac[JWT_MAC_LEN];
	bool ok = false;

	if (siglen != JWT_MAC_LEN)
		return false;
	if (secret != NULL && secret[0] != '\0') {
		jwt_hmac(secret, msg, n, mac);
		ok |= ct_equal(mac, sig, JWT_MAC_LEN);
	}
	if (previous != NULL && previous[0] != '\0') {
		jwt_hmac(previous, msg, n, mac);
		ok |= ct_equal(mac, sig, JWT_MAC_LEN);
	}
	mbedtls_platform_zeroize(mac, sizeof mac);
	return ok;
}

/* RFC 7515 §4.1: exactly alg HS256 and, optionally, typ JWT. */
static int
jwt_check_header(const unsigned char *p, size_t n, const char **why)
{
	json_t *root = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
	json_t *alg, *typ;
	int rc = -EINVAL;

	if (root == NULL || !json_is_object(root)) {
		*why = "bad header JSON";
		goto fail;
	}
	alg = json_object_get(root, "alg");
	typ = json_object_get(root, "typ");
	if (alg == NULL) {
		*why = "alg missing";
		goto fail;
	}
	if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0) {
		*why = "unsupported alg";
		goto fail;
	}
	if (typ != NULL && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0)) {
		*why = "typ is not JWT";
		goto fail;
	}
	if (json_object_size(root) != (typ != NULL ? 2u : 1u)) {
		*why = "unexpected header key";
		goto fail;
	}
	rc = 0;
fail:
	json_decref(root);
	return rc;
}

/* An optional NumericDate (RFC 7519 §2), restricted to integer seconds. */
static int
jwt_get_time(json_t *root, const char *key, bool required, int64_t *out)
{
	json_t *v = json_object_get(root, key);

	*out = 0;
	if (v == NULL)
		return required ? -ENOENT : 0;
	if (!json_is_integer(v))
		return -EINVAL;
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* A JSON string of 1..max bytes, or -EINVAL. jansson refuses "\u0000"
 * without JSON_ALLOW_NUL; the strlen check keeps that true here too. */
static int
jwt_get_string(json_t *v, size_t max, const char **s, size_t *n)
{
	if (!json_is_string(v))
		return -EINVAL;
	*s = json_string_value(v);
	*n = json_string_length(v);
	if (*n == 0 || *n > max || strlen(*s) != *n)
		return -EINVAL;
	return 0;
}

static int
jwt_parse_groups(json_t *v, struct jwt_claims *c, const char **why)
{
	size_t n;

	if (!json_is_array(v)) {
		*why = "groups not an array";
		return -EINVAL;
	}
	n = json_array_size(v);
	if (n > JWT_MAX_GROUPS) {
		*why = "too many groups";
		return -EINVAL;
	}
	c->groups = xcalloc(n + 1, sizeof *c->groups);
	for (size_t i = 0; i < n; i++) {
		json_t *g = json_array_get(v, i);
		const char *s;
		size_t len;
		if (!json_is_string(g)) {
			*why = "group not a string";
			return -EINVAL;
		}
		if (jwt_get_string(g, JWT_MAX_GROUP, &s, &len) != 0) {
			*why = json_string_length(g) == 0 ? "group empty" : "group too long";
			return -EINVAL;
		}
		c->groups[i] = xstrndup(s, len);
		c->ngroups++;
	}
	return 0;
}

/* RFC 7519 §4.1.2, §4.1.4-6, plus groups. On failure c may hold part of
 * the claims; the caller finis it. */
static int
jwt_parse_claims(const unsigned char *p, size_t n, size_t max_sub, struct jwt_claims *c,
	const char **why)
{
	json_t *root = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
	json_t *sub, *groups;
	const char *s;
	size_t len;
	int rc = -EINVAL;

	if (root == NULL || !json_is_object(root)) {
		*why = "bad payload JSON";
		goto fail;
	}
	sub = json_object_get(root, "sub");
	if (sub == NULL) {
		*why = "sub missing";
		goto fail;
	}
	if (!json_is_string(sub)) {
		*why = "sub not a string";
		goto fail;
	}
	if (json_string_length(sub) == 0) {
		*why = "sub empty";
		goto fail;
	}
	if (jwt_get_string(sub, max_sub < JWT_MAX_SUB ? max_sub : JWT_MAX_SUB, &s, &len) != 0) {
		*why = "sub too long";
		goto fail;
	}
	memcpy(c->sub, s, len);
	c->sub[len] = '\0';

	switch (jwt_get_time(root, "exp", true, &c->exp)) {
	case 0:
		break;
	case -ENOENT:
		*why = "exp missing";
		goto fail;
	default:
		*why = "exp not an integer";
		goto fail;
	}
	if (jwt_get_time(root, "nbf", false, &c->nbf) != 0) {
		*why = "nbf not an integer";
		goto fail;
	}
	if (jwt_get_time(root, "iat", false, &c->iat) != 0) {
		*why = "iat not an integer";
		goto fail;
	}
	groups = json_object_get(root, "groups");
	if (groups != NULL && jwt_parse_groups(groups, c, why) != 0)
		goto fail;
	rc = 0;
fail:
	json_decref(root);
	return rc;
}

/* Is a later than b by more than leeway? Computed on the unsigned
 * difference, which is exact whenever a > b, so no claim value can make
 * "exp + leeway" overflow. */
static bool
jwt_later_than(int64_t a, int64_t b, int64_t leeway)
{
	if (a <= b)
		return false;
	return (uint64_t)a - (uint64_t)b > (uint64_t)(leeway > 0 ? leeway : 0);
}

int
jwt_verify(const char *token, size_t len, const char *secret, const char *previous, int64_t now,
	int64_t leeway, size_t max_sub, struct jwt_claims *claims, const char **why)
{
	/* base64url decodes 4 characters into at most 3 bytes */
	unsigned char dec[BASE64_DECODED_MAX(JWT_MAX_LEN)];
	const char *end = token + len, *dot1, *dot2;
	size_t n;
	int rc;

	memset(claims, 0, sizeof *claims);
	*why = NULL;
	if (len > JWT_MAX_LEN) {
		*why = "token too long";
		return -E2BIG;
	}
	dot1 = len > 0 ? memchr(token, '.', len) : NULL;
	dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)) : NULL;
	if (dot2 == NULL || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)) != NULL) {
		*why = "not three parts";
		return -EINVAL;
	}

	if (base64_decode(token, (size_t)(dot1 - token), JWT_B64, dec, &n) != 0) {
		*why = "bad base64url in header";
		return -EINVAL;
	}
	rc = jwt_check_header(dec, n, why);
	if (rc != 0)
		return rc;

	if (base64_decode(dot2 + 1, (size_t)(end - dot2 - 1), JWT_B64, dec, &n) != 0) {
		*why = "bad base64url in signature";
		return -EINVAL;
	}
	if (!jwt_signature_ok(token, (size_t)(dot2 - token), dec, n, secret, previous)) {
		*why = "signature does not match";
		return -EPERM;
	}

	if (base64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), JWT_B64, dec, &n) != 0) {
		*why = "bad base64url in payload";
		return -EINVAL;
	}
	rc = jwt_parse_claims(dec, n, max_sub, claims, why);
	if (rc == 0 && jwt_later_than(now, claims->exp, leeway)) {
		*why = "expired";
		rc = -ETIME;
	} else if (rc == 0 && jwt_later_than(claims->nbf, now, leeway)) {
		*why = "not yet valid";
		rc = -EAGAIN;
	}
	if (rc != 0)
		jwt_claims_fini(claims);
	return rc;
}

void
jwt_claims_fini(struct jwt_claims *c)
{
	if (c->groups != NULL) {
		for (size_t i = 0; c->groups[i] != NULL; i++)
			free(c->groups[i]);
		free(c->groups);
	}
	memset(c, 0, sizeof *c);
}

/* json_object, json_integer, json_object_set_new ... fail only on
 * out-of-memory, and we abort on that. json_string also fails on text
 * that is not UTF-8, which jwt_sign reports. */
static json_t *
jwt_json_check(json_t *v)
{
	if (v == NULL)
		abort();
	return v;
}

static void
jwt_json_set(json_t *obj, const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, jwt_json_check(v)) != 0)
		abort();
}

char *
jwt_sign(const char *secret, const char *uid, int64_t iat, int64_t exp,
	const char *const *groups, size_t ngroups)
{
	unsigned char mac[JWT_MAC_LEN];
	struct buf out = BUF_INIT;
	json_t *payload, *s;
	char *text;

	/* jansson (>= 2.8) keeps insertion order, so the key order is ours */
	payload = jwt_json_check(json_object());
	s = json_string(uid);
	if (s == NULL)
		goto fail;
	jwt_json_set(payload, "sub", s);
	jwt_json_set(payload, "exp", json_integer((json_int_t)exp));
	jwt_json_set(payload, "iat", json_integer((json_int_t)iat));
	if (ngroups > 0) {
		json_t *a = jwt_json_check(json_array());
		jwt_json_set(payload, "groups", a);
		for (size_t i = 0; i < ngroups; i++) {
			s = json_string(groups[i]);
			if (s == NULL || json_array_append_new(a, s) != 0)
				goto fail;
		}
	}
	text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	if (text == NULL)
		abort();

	jwt_b64_encode(&out, JWT_HEADER, strlen(JWT_HEADER));
	buf_append_char(&out, '.');
	jwt_b64_encode(&out, text, strlen(text));
	free(text);
	jwt_hmac(secret, out.p, out.len, mac);
	buf_append_char(&out, '.');
	jwt_b64_encode(&out, mac, sizeof mac);
	mbedtls_platform_zeroize(mac, sizeof mac);
	return buf_steal(&out, NULL);
fail:
	json_decref(payload);
	return NULL;
}

bool
jwt_group_allowed(const struct jwt_claims *c, const char *group, size_t len)
{
	if (c == NULL || c->groups == NULL)
		return false;
	for (size_t i = 0; i < c->ngroups; i++) {
		const char *p = c->groups[i];
		size_t n = strlen(p);
		if (n > 0 && p[n - 1] == '*') {
			/* a prefix pattern; n - 1 == 0 is "*", which matches all */
			if (len >= n - 1 && (n == 1 || memcmp(group, p, n - 1) == 0))
				return true;
		} else if (len == n && memcmp(group, p, n) == 0) {
			return true;
		}
	}
	return false;
}
