/*
 * jwt_test — a table of good and bad tokens, the encoding edge cases, the
 * group patterns, and a known-answer token computed outside this code.
 *
 * Tokens are minted here with an encoder of our own (mbedtls base64 with
 * the alphabet swapped afterwards) and mbedtls HMAC, so a bug shared by
 * jwt_sign and jwt_verify cannot hide behind their agreeing.
 */
#include "common/jwt.h"

#include "common/buf.h"
#include "common/xmalloc.h"
#include "tests/tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>

#define SECRET "test-secret-0123456789"
#define OLD_SECRET "old-secret-9876543210"
#define NOW 1700000000
#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/*
 * The known-answer token, produced with Python's standard library alone:
 *
 *   python3 -c "import hmac,hashlib,base64,json;
 *     b=lambda x: base64.urlsafe_b64encode(x).rstrip(b'=').decode();
 *     h=b(json.dumps({'alg':'HS256','typ':'JWT'},separators=(',',':')).encode());
 *     p=b(json.dumps({'sub':'user-42','exp':1700003600,'iat':1700000000,
 *       'groups':['company:7','company:7:*']},separators=(',',':')).encode());
 *     m=h+'.'+p;
 *     print(m+'.'+b(hmac.new(b'gatecast-kat-secret',m.encode(),hashlib.sha256).digest()))"
 */
#define KAT_SECRET "gatecast-kat-secret"
#define KAT_TOKEN                                                                            \
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"                                               \
	".eyJzdWIiOiJ1c2VyLTQyIiwiZXhwIjoxNzAwMDAzNjAwLCJpYXQiOjE3MDAwMDAwMDAsImdyb3VwcyI6" \
	"WyJjb21wYW55OjciLCJjb21wYW55Ojc6KiJdfQ"                                             \
	".u-ECA65pG2P9LdF5ZRitGJF5jAXm_ryKcMte2tr7xCU"

/* base64url without padding, by way of mbedtls's standard base64. */
static void
test_b64url(struct buf *out, const void *p, size_t n)
{
	size_t olen = 0;
	unsigned char *tmp = xmalloc(n / 3 * 4 + 8);

	if (mbedtls_base64_encode(tmp, n / 3 * 4 + 8, &olen, p, n) != 0)
		abort();
	for (size_t i = 0; i < olen && tmp[i] != '='; i++)
		buf_append_char(out, tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : (char)tmp[i]);
	free(tmp);
}

static void
test_hmac(const char *secret, const void *msg, size_t n, unsigned char mac[32])
{
	if (mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
		    (const unsigned char *)secret, strlen(secret), msg, n, mac) != 0)
		abort();
}

/* A token for the given header and payload JSON texts, signed with secret
 * (an empty signature part when secret is NULL). Caller frees. */
static char *
mint(const char *header, const char *payload, const char *secret)
{
	struct buf b = BUF_INIT;
	unsigned char mac[32];

	test_b64url(&b, header, strlen(header));
	buf_append_char(&b, '.');
	test_b64url(&b, payload, strlen(payload));
	if (secret != NULL) {
		test_hmac(secret, b.p, b.len, mac);
		buf_append_char(&b, '.');
		test_b64url(&b, mac, sizeof mac);
	} else {
		buf_append_char(&b, '.');
	}
	return buf_steal(&b, NULL);
}

/* Verifies a NUL-terminated token with the usual settings. */
static int
verify(const char *token, const char *previous, int64_t now, int64_t leeway,
	struct jwt_claims *c, const char **why)
{
	return jwt_verify(token, strlen(token), SECRET, previous, now, leeway, 64, c, why);
}

struct jwt_case {
	const char *name;
	const char *header;
	const char *payload;
	const char *secret; /* signs with this; NULL = empty signature */
	int64_t now;
	int64_t leeway;
	int want;
	const char *why; /* the reason, when want != 0 */
};

static const struct jwt_case cases[] = {
	{"a valid token verifies", HS256, "{\"sub\":\"u1\",\"exp\":1700000060,\"iat\":1699999000}",
		SECRET, NOW, 0, 0, NULL},
	{"a header with only alg verifies", "{\"alg\":\"HS256\"}", "{\"sub\":\"u1\",\"exp\":1700000060}",
		SECRET, NOW, 0, 0, NULL},
	{"header keys may come in any order", "{\"typ\":\"JWT\",\"alg\":\"HS256\"}",
		"{\"sub\":\"u1\",\"exp\":1700000060}", SECRET, NOW, 0, 0, NULL},
	{"a token expired a second ago is refused", HS256, "{\"sub\":\"u1\",\"exp\":1699999999}", SECRET,
		NOW, 0, -ETIME, "expired"},
	{"a token that expires now still verifies", HS256, "{\"sub\":\"u1\",\"exp\":1700000000}", SECRET,
		NOW, 0, 0, NULL},
	{"an expired token within the leeway verifies", HS256, "{\"sub\":\"u1\",\"exp\":1699999970}",
		SECRET, NOW, 30, 0, NULL},
	{"an expired token beyond the leeway is refused", HS256, "{\"sub\":\"u1\",\"exp\":1699999969}",
		SECRET, NOW, 30, -ETIME, "expired"},
	{"a token not valid yet is refused", HS256, "{\"sub\":\"u1\",\"exp\":1700009999,\"nbf\":1700000001}",
		SECRET, NOW, 0, -EAGAIN, "not yet valid"},
	{"a token not valid yet within the leeway verifies", HS256,
		"{\"sub\":\"u1\",\"exp\":1700009999,\"nbf\":1700000030}", SECRET, NOW, 30, 0, NULL},
	{"exp at INT64_MAX with a leeway does not overflow", HS256,
		"{\"sub\":\"u1\",\"exp\":9223372036854775807}", SECRET, NOW, 300, 0, NULL},
	{"exp at INT64_MIN is expired without overflow", HS256,
		"{\"sub\":\"u1\",\"exp\":-9223372036854775808}", SECRET, NOW, 300, -ETIME, "expired"},
	{"nbf at INT64_MAX is not valid yet without overflow", HS256,
		"{\"sub\":\"u1\",\"exp\":1700009999,\"nbf\":9223372036854775807}", SECRET, NOW, 300, -EAGAIN,
		"not yet valid"},
	{"alg none with an empty signature is refused", "{\"alg\":\"none\",\"typ\":\"JWT\"}",
		"{\"sub\":\"u1\",\"exp\":1700000060}", NULL, NOW, 0, -EINVAL, "unsupported alg"},
	{"alg none with a valid HS256 signature is refused", "{\"alg\":\"none\"}",
		"{\"sub\":\"u1\",\"exp\":1700000060}", SECRET, NOW, 0, -EINVAL, "unsupported alg"},
	{"alg HS512 is refused", "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", "{\"sub\":\"u1\",\"exp\":1700000060}",
		SECRET, NOW, 0, -EINVAL, "unsupported alg"},
	{"alg in lower case is refused", "{\"alg\":\"hs256\"}", "{\"sub\":\"u1\",\"exp\":1700000060}",
		SECRET, NOW, 0, -EINVAL, "unsupported alg"},
	{"a missing alg is refused", "{\"typ\":\"JWT\"}", "{\"sub\":\"u1\",\"exp\":1700000060}", SECRET,
		NOW, 0, -EINVAL, "alg missing"},
	{"a header with a kid is refused", "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
		"{\"sub\":\"u1\",\"exp\":1700000060}", SECRET, NOW, 0, -EINVAL, "unexpected header key"},
	{"a header with crit is refused", "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
		"{\"sub\":\"u1\",\"exp\":1700000060}", SECRET, NOW, 0, -EINVAL, "unexpected header key"},
	{"a typ other than JWT is refused", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}",
		"{\"sub\":\"u1\",\"exp\":1700000060}", SECRET, NOW, 0, -EINVAL, "typ is not JWT"},
	{"a typ that is not a string is refused", "{\"alg\":\"HS256\",\"typ\":1}",
		"{\"sub\":\"u1\",\"exp\":1700000060}", SECRET, NOW, 0, -EINVAL, "typ is not JWT"},
	{"a duplicate alg in the header is refused", "{\"alg\":\"none\",\"alg\":\"HS256\"}",
		"{\"sub\":\"u1\",\"exp\":1700000060}", SECRET, NOW, 0, -EINVAL, "bad header JSON"},
	{"a header that is not an object is refused", "[\"HS256\"]", "{\"sub\":\"u1\",\"exp\":1700000060}",
		SECRET, NOW, 0, -EINVAL, "bad header JSON"},
	{"a header with trailing bytes is refused", HS256 " x", "{\"sub\":\"u1\",\"exp\":1700000060}",
		SECRET, NOW, 0, -EINVAL, "bad header JSON"},
	{"a token signed with another secret is refused", HS256, "{\"sub\":\"u1\",\"exp\":1700000060}",
		"another-secret", NOW, 0, -EPERM, "signature does not match"},
	{"a payload that is not JSON is refused", HS256, "{\"sub\":\"u1\",", SECRET, NOW, 0, -EINVAL,
		"bad payload JSON"},
	{"a payload that is not an object is refused", HS256, "[1]", SECRET, NOW, 0, -EINVAL,
		"bad payload JSON"},
	{"a duplicate sub in the payload is refused", HS256,
		"{\"sub\":\"u1\",\"sub\":\"admin\",\"exp\":1700000060}", SECRET, NOW, 0, -EINVAL,
		"bad payload JSON"},
	{"a NUL escape in sub is refused", HS256, "{\"sub\":\"u1\\u0000x\",\"exp\":1700000060}", SECRET,
		NOW, 0, -EINVAL, "bad payload JSON"},
	{"a missing sub is refused", HS256, "{\"exp\":1700000060}", SECRET, NOW, 0, -EINVAL,
		"sub missing"},
	{"a numeric sub is refused", HS256, "{\"sub\":42,\"exp\":1700000060}", SECRET, NOW, 0, -EINVAL,
		"sub not a string"},
	{"a null sub is refused", HS256, "{\"sub\":null,\"exp\":1700000060}", SECRET, NOW, 0, -EINVAL,
		"sub not a string"},
	{"an empty sub is refused", HS256, "{\"sub\":\"\",\"exp\":1700000060}", SECRET, NOW, 0, -EINVAL,
		"sub empty"},
	{"a sub of max_sub bytes verifies", HS256,
		"{\"sub\":\"0123456789012345678901234567890123456789012345678901234567890123\","
		"\"exp\":1700000060}",
		SECRET, NOW, 0, 0, NULL},
	{"a sub longer than max_sub is refused", HS256,
		"{\"sub\":\"01234567890123456789012345678901234567890123456789012345678901234\","
		"\"exp\":1700000060}",
		SECRET, NOW, 0, -EINVAL, "sub too long"},
	{"a missing exp is refused", HS256, "{\"sub\":\"u1\"}", SECRET, NOW, 0, -EINVAL, "exp missing"},
	{"exp as a string is refused", HS256, "{\"sub\":\"u1\",\"exp\":\"1700000060\"}", SECRET, NOW, 0,
		-EINVAL, "exp not an integer"},
	{"exp with a fraction is refused", HS256, "{\"sub\":\"u1\",\"exp\":1700000060.5}", SECRET, NOW, 0,
		-EINVAL, "exp not an integer"},
	{"exp beyond 64 bits is refused", HS256, "{\"sub\":\"u1\",\"exp\":9223372036854775808}", SECRET,
		NOW, 0, -EINVAL, "bad payload JSON"},
	{"nbf as a string is refused", HS256, "{\"sub\":\"u1\",\"exp\":1700000060,\"nbf\":\"0\"}", SECRET,
		NOW, 0, -EINVAL, "nbf not an integer"},
	{"iat as null is refused", HS256, "{\"sub\":\"u1\",\"exp\":1700000060,\"iat\":null}", SECRET, NOW,
		0, -EINVAL, "iat not an integer"},
	{"unknown payload claims are ignored", HS256,
		"{\"sub\":\"u1\",\"exp\":1700000060,\"iss\":\"x\",\"aud\":[\"y\"]}", SECRET, NOW, 0, 0, NULL},
	{"groups that are not an array are refused", HS256,
		"{\"sub\":\"u1\",\"exp\":1700000060,\"groups\":\"company:7\"}", SECRET, NOW, 0, -EINVAL,
		"groups not an array"},
	{"a group that is not a string is refused", HS256,
		"{\"sub\":\"u1\",\"exp\":1700000060,\"groups\":[\"a\",7]}", SECRET, NOW, 0, -EINVAL,
		"group not a string"},
	{"an empty group is refused", HS256, "{\"sub\":\"u1\",\"exp\":1700000060,\"groups\":[\"a\",\"\"]}",
		SECRET, NOW, 0, -EINVAL, "group empty"},
	{"an empty groups array verifies", HS256, "{\"sub\":\"u1\",\"exp\":1700000060,\"groups\":[]}",
		SECRET, NOW, 0, 0, NULL},
};

static void
run_table(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct jwt_case *t = &cases[i];
		struct jwt_claims c;
		const char *why = NULL;
		char *tok = mint(t->header, t->payload, t->secret);
		int rc = verify(tok, NULL, t->now, t->leeway, &c, &why);
		tap_eq_int(rc, t->want, t->name);
		if (t->want != 0) {
			if (!tap_ok(why != NULL && strcmp(why, t->why) == 0, "  ... for the stated reason"))
				printf("#   got \"%s\", want \"%s\"\n", why ? why : "(null)", t->why);
			tap_ok(strstr(why ? why : "", SECRET) == NULL, "  ... without the secret in it");
			tap_ok(c.groups == NULL && c.ngroups == 0 && c.sub[0] == '\0',
				"  ... and leaves the claims empty");
		}
		jwt_claims_fini(&c);
		free(tok);
	}
}

static void
test_claims(void)
{
	struct jwt_claims c;
	const char *why;
	char *tok = mint(HS256,
		"{\"sub\":\"u1\",\"exp\":1700000060,\"nbf\":1699999990,\"iat\":1699999980,"
		"\"groups\":[\"company:7\",\"company:8:*\"]}",
		SECRET);

	tap_eq_int(verify(tok, NULL, NOW, 0, &c, &why), 0, "a token with every claim verifies");
	tap_eq_str(c.sub, "u1", "sub is copied out");
	tap_eq_int(c.exp, 1700000060, "exp is read");
	tap_eq_int(c.nbf, 1699999990, "nbf is read");
	tap_eq_int(c.iat, 1699999980, "iat is read");
	tap_eq_int(c.ngroups, 2, "both groups are read");
	tap_ok(c.groups != NULL && c.groups[2] == NULL, "the groups list is NULL-terminated");
	if (c.groups != NULL) {
		tap_eq_str(c.groups[0], "company:7", "the first group is kept as written");
		tap_eq_str(c.groups[1], "company:8:*", "the second group is kept as written");
	}
	jwt_claims_fini(&c);
	tap_ok(c.groups == NULL && c.ngroups == 0, "jwt_claims_fini empties the claims");
	jwt_claims_fini(&c);
	free(tok);

	tok = mint(HS256, "{\"sub\":\"u1\",\"exp\":1700000060}", SECRET);
	tap_eq_int(verify(tok, NULL, NOW, 0, &c, &why), 0, "a token without optional claims verifies");
	tap_ok(c.nbf == 0 && c.iat == 0, "absent nbf and iat read as 0");
	tap_ok(c.groups == NULL && c.ngroups == 0, "absent groups read as NULL");
	jwt_claims_fini(&c);
	free(tok);

	tok = mint(HS256, "{\"sub\":\"u1\",\"exp\":1700000060,\"groups\":[]}", SECRET);
	tap_eq_int(verify(tok, NULL, NOW, 0, &c, &why), 0, "a token with no groups verifies");
	tap_ok(c.groups != NULL && c.groups[0] == NULL && c.ngroups == 0,
		"an empty groups array reads as an empty list");
	jwt_claims_fini(&c);
	free(tok);

	/* max_sub above the struct's room is capped at JWT_MAX_SUB */
	struct buf p = BUF_INIT;
	buf_append_str(&p, "{\"sub\":\"");
	for (int i = 0; i < JWT_MAX_SUB; i++)
		buf_append_char(&p, 'a');
	buf_append_str(&p, "\",\"exp\":1700000060}");
	tok = mint(HS256, p.p, SECRET);
	tap_eq_int(jwt_verify(tok, strlen(tok), SECRET, NULL, NOW, 0, 1000, &c, &why), 0,
		"a sub of JWT_MAX_SUB bytes verifies");
	tap_eq_int(strlen(c.sub), JWT_MAX_SUB, "  ... and is copied whole");
	jwt_claims_fini(&c);
	free(tok);
	buf_reset(&p);
	buf_append_str(&p, "{\"sub\":\"");
	for (int i = 0; i <= JWT_MAX_SUB; i++)
		buf_append_char(&p, 'a');
	buf_append_str(&p, "\",\"exp\":1700000060}");
	tok = mint(HS256, p.p, SECRET);
	tap_eq_int(jwt_verify(tok, strlen(tok), SECRET, NULL, NOW, 0, 1000, &c, &why), -EINVAL,
		"a sub longer than JWT_MAX_SUB is refused whatever max_sub says");
	free(tok);

	/* group limits */
	buf_reset(&p);
	buf_append_str(&p, "{\"sub\":\"u1\",\"exp\":1700000060,\"groups\":[\"");
	for (int i = 0; i < JWT_MAX_GROUP; i++)
		buf_append_char(&p, 'g');
	buf_append_str(&p, "\"]}");
	tok = mint(HS256, p.p, SECRET);
	tap_eq_int(verify(tok, NULL, NOW, 0, &c, &why), 0, "a group of JWT_MAX_GROUP bytes verifies");
	jwt_claims_fini(&c);
	free(tok);
	buf_reset(&p);
	buf_append_str(&p, "{\"sub\":\"u1\",\"exp\":1700000060,\"groups\":[\"");
	for (int i = 0; i <= JWT_MAX_GROUP; i++)
		buf_append_char(&p, 'g');
	buf_append_str(&p, "\"]}");
	tok = mint(HS256, p.p, SECRET);
	tap_eq_int(verify(tok, NULL, NOW, 0, &c, &why), -EINVAL, "a longer group is refused");
	tap_eq_str(why, "group too long", "  ... as too long");
	free(tok);

	for (int n = JWT_MAX_GROUPS; n <= JWT_MAX_GROUPS + 1; n++) {
		buf_reset(&p);
		buf_append_str(&p, "{\"sub\":\"u1\",\"exp\":1700000060,\"groups\":[");
		for (int i = 0; i < n; i++)
			buf_printf(&p, "%s\"g%d\"", i ? "," : "", i);
		buf_append_str(&p, "]}");
		tok = mint("{\"alg\":\"HS256\"}", p.p, SECRET);
		int rc = verify(tok, NULL, NOW, 0, &c, &why);
		if (n == JWT_MAX_GROUPS) {
			tap_eq_int(rc, 0, "JWT_MAX_GROUPS groups verify");
			tap_eq_int(c.ngroups, JWT_MAX_GROUPS, "  ... and are all read");
		} else {
			tap_eq_int(rc, -EINVAL, "one group more is refused");
			tap_eq_str(why, "too many groups", "  ... as too many groups");
		}
		jwt_claims_fini(&c);
		free(tok);
	}
	buf_fini(&p);
}

/* Re-encodes part `which` (0 header, 1 payload, 2 signature) of token
 * after flipping one bit of its decoded bytes. */
static char *
flip_bit(const char *token, int which, size_t byte, unsigned bit)
{
	const char *start = token, *end;
	struct buf b = BUF_INIT;
	unsigned char dec[4096];
	size_t olen;

	for (int i = 0; i < which; i++)
		start = strchr(start, '.') + 1;
	end = strchr(start, '.');
	if (end == NULL)
		end = start + strlen(start);

	/* mbedtls wants standard, padded base64 */
	struct buf std = BUF_INIT;
	for (const char *q = start; q < end; q++)
		buf_append_char(&std, *q == '-' ? '+' : *q == '_' ? '/' : *q);
	while (std.len % 4 != 0)
		buf_append_char(&std, '=');
	if (mbedtls_base64_decode(dec, sizeof dec, &olen, (unsigned char *)std.p, std.len) != 0 ||
		byte >= olen)
		abort();
	buf_fini(&std);
	dec[byte] ^= (unsigned char)(1u << bit);

	buf_append(&b, token, (size_t)(start - token));
	test_b64url(&b, dec, olen);
	buf_append_str(&b, end);
	return buf_steal(&b, NULL);
}

static void
test_tampering(void)
{
	struct jwt_claims c;
	const char *why;
	char *tok = mint(HS256, "{\"sub\":\"u1\",\"exp\":1700000060}", SECRET);
	char *bad;

	/* Swap in a header that is acceptable on its own (same keys, other
	 * order), so only the signature can catch it. */
	char *other = mint("{\"typ\":\"JWT\",\"alg\":\"HS256\"}", "{\"sub\":\"u1\",\"exp\":1700000060}",
		SECRET);
	struct buf b = BUF_INIT;
	buf_append(&b, other, (size_t)(strchr(other, '.') - other));
	buf_append_str(&b, strchr(tok, '.'));
	tap_eq_int(verify(b.p, NULL, NOW, 0, &c, &why), -EPERM,
		"a tampered header (keys reordered) is refused");
	tap_eq_str(why, "signature does not match", "  ... as a signature mismatch");
	buf_fini(&b);
	free(other);

	bad = flip_bit(tok, 1, 21, 0); /* a digit of exp */
	tap_eq_int(verify(bad, NULL, NOW, 0, &c, &why), -EPERM, "a tampered payload is refused");
	free(bad);

	for (size_t byte = 0; byte < 32; byte += 31) {
		bad = flip_bit(tok, 2, byte, byte == 0 ? 7 : 0);
		tap_eq_int(verify(bad, NULL, NOW, 0, &c, &why), -EPERM,
			byte == 0 ? "a signature with its first bit flipped is refused"
				  : "a signature with its last bit flipped is refused");
		free(bad);
	}

	tap_eq_int(jwt_verify(tok, strlen(tok), "wrong", NULL, NOW, 0, 64, &c, &why), -EPERM,
		"the wrong secret is refused");
	tap_eq_int(jwt_verify(tok, strlen(tok), "", NULL, NOW, 0, 64, &c, &why), -EPERM,
		"an empty secret matches nothing");
	free(tok);

	tok = mint(HS256, "{\"sub\":\"u1\",\"exp\":1700000060}", OLD_SECRET);
	tap_eq_int(verify(tok, OLD_SECRET, NOW, 0, &c, &why), 0, "the previous secret is accepted");
	tap_eq_str(c.sub, "u1", "  ... and the claims are read");
	jwt_claims_fini(&c);
	tap_eq_int(verify(tok, NULL, NOW, 0, &c, &why), -EPERM,
		"a token signed with the old secret is refused without a previous secret");
	tap_eq_int(verify(tok, "", NOW, 0, &c, &why), -EPERM, "an empty previous secret matches nothing");
	free(tok);

	tok = mint(HS256, "{\"sub\":\"u1\",\"exp\":1700000060}", "");
	tap_eq_int(jwt_verify(tok, strlen(tok), "", "", NOW, 0, 64, &c, &why), -EPERM,
		"a token signed with an empty secret never verifies");
	free(tok);
}

static void
test_encoding(void)
{
	struct jwt_claims c;
	const char *why;
	char *tok = mint(HS256, "{\"sub\":\"u1\",\"exp\":1700000060}", SECRET);
	size_t len = strlen(tok);
	struct buf b = BUF_INIT;

	tap_eq_int(verify(tok, NULL, NOW, 0, &c, &why), 0, "the token used below verifies as is");
	jwt_claims_fini(&c);
	buf_append_str(&b, tok);
	buf_append_str(&b, ".junk=");
	tap_eq_int(jwt_verify(b.p, len, SECRET, NULL, NOW, 0, 64, &c, &why), 0,
		"only len bytes are read");
	jwt_claims_fini(&c);
	tap_ok(jwt_verify(tok, len - 1, SECRET, NULL, NOW, 0, 64, &c, &why) != 0,
		"a token cut short by one byte is refused");

	buf_reset(&b);

	buf_append_str(&b, tok);
	buf_append_char(&b, '=');
	tap_eq_int(verify(b.p, NULL, NOW, 0, &c, &why), -EINVAL, "a '=' after the signature is refused");
	tap_eq_str(why, "bad base64url in signature", "  ... as bad base64url");

	/* {"alg":"HS256"} is 15 bytes: "eyJhbGciOiJIUzI1NiJ9" has no padding to
	 * add, so pad the 27-byte header instead (needs one '='). */
	buf_reset(&b);
	test_b64url(&b, HS256, strlen(HS256));
	buf_append_str(&b, "=");
	buf_append_char(&b, '.');
	test_b64url(&b, "{\"sub\":\"u1\",\"exp\":1700000060}", 29);
	{
		unsigned char mac[32];
		test_hmac(SECRET, b.p, b.len, mac);
		buf_append_char(&b, '.');
		test_b64url(&b, mac, sizeof mac);
	}
	tap_eq_int(verify(b.p, NULL, NOW, 0, &c, &why), -EINVAL,
		"a padded header is refused even when signed as sent");
	tap_eq_str(why, "bad base64url in header", "  ... as bad base64url");

	/* The KAT signature holds both '-' and '_': in the standard alphabet it
	 * would decode to the same bytes and verify. */
	buf_reset(&b);
	buf_append_str(&b, KAT_TOKEN);
	char *sig = strrchr(b.p, '.') + 1;
	for (char *q = sig; *q != '\0'; q++)
		*q = *q == '-' ? '+' : *q == '_' ? '/' : *q;
	tap_ok(strchr(sig, '+') != NULL && strchr(sig, '/') != NULL, "the KAT signature has '-' and '_'");
	tap_eq_int(jwt_verify(b.p, b.len, KAT_SECRET, NULL, NOW, 0, 64, &c, &why), -EINVAL,
		"standard base64 '+' and '/' are refused");
	tap_eq_str(why, "bad base64url in signature", "  ... as bad base64url");

	/* The signature is 43 characters for 32 bytes: the last character
	 * carries 2 spare bits, which must be zero. */
	buf_reset(&b);
	buf_append_str(&b, KAT_TOKEN); /* ends in 'U' = 20 = 0b010100 */
	b.p[b.len - 1] = 'V';          /* same byte, a spare bit set */
	tap_eq_int(jwt_verify(b.p, b.len, KAT_SECRET, NULL, NOW, 0, 64, &c, &why), -EINVAL,
		"non-zero trailing bits are refused");

	buf_reset(&b);
	buf_append_str(&b, tok);
	b.p[5] = ' ';
	tap_eq_int(verify(b.p, NULL, NOW, 0, &c, &why), -EINVAL, "a space in the header is refused");
	buf_reset(&b);
	buf_append_str(&b, tok);
	buf_append_char(&b, '\n');
	tap_eq_int(verify(b.p, NULL, NOW, 0, &c, &why), -EINVAL, "a trailing newline is refused");
	buf_reset(&b);
	buf_append_str(&b, tok);
	b.p[strchr(tok, '.') - tok + 3] = '\0';
	/* re-sign the NUL-bearing bytes, so only the decoder can refuse them */
	{
		unsigned char mac[32];
		size_t signed_len = (size_t)(strrchr(tok, '.') - tok);
		test_hmac(SECRET, b.p, signed_len, mac);
		b.len = signed_len + 1;
		test_b64url(&b, mac, sizeof mac);
	}
	tap_eq_int(jwt_verify(b.p, b.len, SECRET, NULL, NOW, 0, 64, &c, &why), -EINVAL,
		"a NUL byte is not base64url even when signed");
	tap_eq_str(why, "bad base64url in payload", "  ... as bad base64url");

	tap_eq_int(verify("", NULL, NOW, 0, &c, &why), -EINVAL, "an empty token is refused");
	tap_eq_int(verify("..", NULL, NOW, 0, &c, &why), -EINVAL, "three empty parts are refused");
	buf_reset(&b);
	buf_append(&b, tok, (size_t)(strrchr(tok, '.') - tok));
	tap_eq_int(verify(b.p, NULL, NOW, 0, &c, &why), -EINVAL, "two parts are refused");
	tap_eq_str(why, "not three parts", "  ... as not three parts");
	buf_reset(&b);
	buf_append_str(&b, tok);
	buf_append_str(&b, ".e30");
	tap_eq_int(verify(b.p, NULL, NOW, 0, &c, &why), -EINVAL, "four parts (JWE-like) are refused");

	buf_reset(&b);
	buf_append_str(&b, tok);
	while (b.len <= JWT_MAX_LEN)
		buf_append_char(&b, 'A');
	tap_eq_int(verify(b.p, NULL, NOW, 0, &c, &why), -E2BIG, "a token over JWT_MAX_LEN is refused");
	tap_eq_str(why, "token too long", "  ... as too long");
	b.len = JWT_MAX_LEN;
	tap_ok(jwt_verify(b.p, b.len, SECRET, NULL, NOW, 0, 64, &c, &why) != -E2BIG,
		"a token of exactly JWT_MAX_LEN is not too long");

	/* A long but legal token, near the limit, goes all the way through. */
	buf_reset(&b);
	buf_append_str(&b, "{\"sub\":\"u1\",\"exp\":1700000060,\"pad\":\"");
	for (int i = 0; i < 2900; i++)
		buf_append_char(&b, 'x');
	buf_append_str(&b, "\"}");
	char *big = mint(HS256, b.p, SECRET);
	tap_ok(strlen(big) <= JWT_MAX_LEN && strlen(big) > JWT_MAX_LEN - 200,
		"(a token close to JWT_MAX_LEN was built)");
	tap_eq_int(verify(big, NULL, NOW, 0, &c, &why), 0, "a token close to JWT_MAX_LEN verifies");
	jwt_claims_fini(&c);
	free(big);

	buf_fini(&b);
	free(tok);
}

static void
test_sign(void)
{
	static const char *const groups[] = {"company:7", "company:7:*"};
	struct jwt_claims c;
	const char *why;
	char *tok = jwt_sign(KAT_SECRET, "user-42", 1700000000, 1700003600, groups, 2);

	tap_eq_str(tok, KAT_TOKEN, "jwt_sign matches the known-answer token byte for byte");
	tap_eq_int(jwt_verify(KAT_TOKEN, strlen(KAT_TOKEN), KAT_SECRET, NULL, NOW, 0, 64, &c, &why), 0,
		"the known-answer token verifies");
	tap_eq_str(c.sub, "user-42", "  ... with its sub");
	tap_eq_int(c.exp, 1700003600, "  ... its exp");
	tap_eq_int(c.iat, 1700000000, "  ... its iat");
	tap_ok(c.ngroups == 2 && strcmp(c.groups[1], "company:7:*") == 0, "  ... and its groups");
	jwt_claims_fini(&c);
	free(tok);

	tok = jwt_sign(SECRET, "u9", NOW, NOW + 60, NULL, 0);
	char *indep = mint(HS256, "{\"sub\":\"u9\",\"exp\":1700000060,\"iat\":1700000000}", SECRET);
	tap_eq_str(tok, indep, "jwt_sign without groups matches a token minted independently");
	tap_eq_int(verify(tok, NULL, NOW, 0, &c, &why), 0, "jwt_sign output verifies");
	tap_ok(c.groups == NULL, "  ... without a groups claim");
	jwt_claims_fini(&c);
	free(indep);
	free(tok);

	tok = jwt_sign(SECRET, "\"quoted\\\" \xc3\xa9", NOW, NOW + 60, NULL, 0);
	tap_eq_int(verify(tok, NULL, NOW, 0, &c, &why), 0, "a sub that needs escaping round-trips");
	tap_eq_str(c.sub, "\"quoted\\\" \xc3\xa9", "  ... unchanged");
	jwt_claims_fini(&c);
	free(tok);

	tap_ok(jwt_sign(SECRET, "bad\xff", NOW, NOW + 60, NULL, 0) == NULL,
		"jwt_sign refuses a uid that is not UTF-8");
	static const char *const bad_groups[] = {"ok", "\xc0\xaf"};
	tap_ok(jwt_sign(SECRET, "u1", NOW, NOW + 60, bad_groups, 2) == NULL,
		"jwt_sign refuses a group that is not UTF-8");
}

static bool
allowed(const struct jwt_claims *c, const char *g)
{
	return jwt_group_allowed(c, g, strlen(g));
}

static void
test_groups(void)
{
	char *list[] = {"company:7:*", "team:3", NULL};
	char *star[] = {"*", NULL};
	char *pre[] = {"company:7*", NULL};
	struct jwt_claims c = {.groups = list, .ngroups = 2};
	struct jwt_claims s = {.groups = star, .ngroups = 1};
	struct jwt_claims p = {.groups = pre, .ngroups = 1};
	struct jwt_claims none = {.groups = NULL, .ngroups = 0};

	tap_ok(allowed(&c, "company:7:feed"), "company:7:* matches company:7:feed");
	tap_ok(allowed(&c, "company:7:a:b"), "company:7:* matches deeper groups");
	tap_ok(!allowed(&c, "company:70"), "company:7:* does not match company:70");
	tap_ok(!allowed(&c, "company:7"), "company:7:* does not match company:7");
	tap_ok(!allowed(&c, "company:8:feed"), "company:7:* does not match company:8:feed");
	tap_ok(allowed(&c, "team:3"), "an exact pattern matches itself");
	tap_ok(!allowed(&c, "team:30"), "an exact pattern does not match a longer group");
	tap_ok(!allowed(&c, "team:"), "an exact pattern does not match a shorter group");
	tap_ok(!allowed(&c, "team:3:x"), "an exact pattern is not a prefix");
	tap_ok(jwt_group_allowed(&c, "team:3xyz", 6), "only len bytes of the group count");
	tap_ok(allowed(&s, "anything:at:all"), "* matches every group");
	tap_ok(allowed(&s, ""), "* matches even the empty group");
	tap_ok(allowed(&p, "company:70"), "company:7* is a plain prefix and matches company:70");
	tap_ok(!allowed(&none, "company:7"), "no groups allow nothing");
	tap_ok(!jwt_group_allowed(NULL, "x", 1), "NULL claims allow nothing");
}

int
main(void)
{
	run_table();
	test_claims();
	test_tampering();
	test_encoding();
	test_sign();
	test_groups();
	return tap_done();
}
