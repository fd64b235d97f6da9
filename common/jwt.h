/*
 * jwt — strict HS256 JSON Web Tokens (RFC 7519 on RFC 7515 compact JWS),
 * the credential a client presents when it opens a connection.
 *
 * Deliberately narrow: one algorithm (HMAC-SHA256 with a shared secret,
 * RFC 7518 §3.2), one header shape, the claims gatecast uses (sub, exp,
 * nbf, iat, groups), and nothing that makes a token mean more than its
 * bytes say — no "kid", no "jku", no "crit", no "alg":"none", no padding
 * or standard-alphabet base64. Anything unexpected is refused rather than
 * ignored. Other payload claims (iss, aud, jti, ...) are ignored; checking
 * them would be the caller's policy. Pure: no I/O, no logging, no clock
 * (the caller passes "now").
 */
#ifndef GATECAST_COMMON_JWT_H
#define GATECAST_COMMON_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/attr.h"

#define JWT_MAX_LEN 4096   /* bytes of a whole compact token */
#define JWT_MAX_SUB 128    /* bytes of sub, whatever max_sub says */
#define JWT_MAX_GROUP 128  /* bytes of one groups entry */
#define JWT_MAX_GROUPS 256 /* entries in groups */

struct jwt_claims {
	char sub[JWT_MAX_SUB + 1]; /* uid, NUL-terminated; non-empty */
	int64_t exp;               /* NumericDate, integer seconds */
	int64_t nbf, iat;          /* 0 when absent */
	char **groups;             /* NULL-terminated list of patterns ("company:7",
	                            * "company:7:*"), NULL when the claim is absent
	                            * (an empty array gives a list holding only
	                            * NULL); owned, freed by jwt_claims_fini */
	size_t ngroups;            /* entries in groups, excluding the NULL */
};

/*
 * Verifies the compact token at token (len bytes, need not be
 * NUL-terminated; borrowed for the call) at time now (unix seconds),
 * against secret or, when previous != NULL, previous (NUL-terminated,
 * borrowed; an empty secret matches nothing). leeway (seconds, >= 0)
 * absorbs clock skew for exp and nbf. sub is accepted up to
 * min(max_sub, JWT_MAX_SUB) bytes.
 *
 * The header is checked first, then the signature (HMAC-SHA256 over
 * "header.payload", compared in constant time), and only then is the
 * payload parsed, so an unsigned payload never reaches the JSON parser.
 *
 * Returns 0 and fills *claims (release with jwt_claims_fini), or a
 * negative errno, with *why set to a static string naming the reason
 * (never holding secret material) and *claims zeroed (jwt_claims_fini on
 * it is harmless):
 *   -E2BIG   len > JWT_MAX_LEN ("token too long")
 *   -EINVAL  malformed: not three '.'-separated parts; a part not in the
 *            base64url alphabet without padding ('=', '+', '/', whitespace
 *            and non-zero trailing bits are refused); header or payload
 *            not a JSON object, or with duplicate keys; header other than
 *            {"alg":"HS256","typ":"JWT"} or {"alg":"HS256"} in any key
 *            order ("unsupported alg" for alg "none", "HS512", ...; other
 *            keys and a typ other than "JWT" are refused); sub missing, not
 *            a string, empty or too long; exp missing or not an integer;
 *            nbf or iat present but not an integer; groups present but not
 *            an array of at most JWT_MAX_GROUPS non-empty strings of at
 *            most JWT_MAX_GROUP bytes each
 *   -EPERM   the signature matches neither secret ("signature does not
 *            match")
 *   -ETIME   now > exp + leeway ("expired")
 *   -EAGAIN  now + leeway < nbf ("not yet valid")
 * The time checks cannot overflow, whatever the claims hold.
 */
MUST_CHECK int jwt_verify(const char *token, size_t len,
	const char *secret, const char *previous, int64_t now, int64_t leeway, size_t max_sub,
	struct jwt_claims *claims, const char **why);

/* Frees the groups list and zeroes c. c may be zeroed already. */
void jwt_claims_fini(struct jwt_claims *c);

/*
 * Mints a token signed with secret: header {"alg":"HS256","typ":"JWT"},
 * payload {"sub":uid,"exp":exp,"iat":iat} with ,"groups":[...] appended
 * when ngroups > 0, compact JSON in that key order. All arguments are
 * borrowed for the call. Returns a malloc'ed NUL-terminated string for the
 * caller to free, or NULL when uid or a group is not valid UTF-8. No limit
 * is checked here: a token jwt_verify would refuse (empty uid, too many
 * groups, longer than JWT_MAX_LEN) is still minted.
 */
MUST_CHECK char *jwt_sign(const char *secret, const char *uid,
	int64_t iat, int64_t exp, const char *const *groups, size_t ngroups);

/*
 * Does group (len bytes, need not be NUL-terminated; borrowed) match one
 * of c's patterns? A pattern matches the same bytes exactly, or, when it
 * ends in '*', any group starting with the bytes before that '*':
 * "company:7:*" matches "company:7:feed" but neither "company:70" nor
 * "company:7"; "*" alone matches every group. A '*' elsewhere is an
 * ordinary byte. False when c has no groups.
 */
bool jwt_group_allowed(const struct jwt_claims *c, const char *group, size_t len);

#endif
