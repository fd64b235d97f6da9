/*
 * name — the protocol's one rule for a uid or a group given in JSON (push
 * commands, a client's login and join messages, a login's uid checked
 * against its token): a non-empty string, taken byte for byte, or an
 * integer, taken as its decimal text; so "42" and 42 name the same uid.
 *
 * The length limit is the caller's (gateway.max_uid_len or
 * gateway.max_group_len from the config). It does not copy, and it does
 * not say which error message to give: each caller words its own.
 */
#ifndef GATECAST_PROTO_NAME_H
#define GATECAST_PROTO_NAME_H

#include <jansson.h>
#include <stddef.h>

#include "common/attr.h"

/* Room for any json_int_t's decimal text and its NUL. */
#define NAME_NUM_SIZE 24

/* A name read from JSON: p/n are either v's string (borrowed from the
 * json_t, valid while it lives) or num. Do not copy the struct: p may point
 * into it. */
struct name {
	const char *p;
	size_t n;
	char num[NAME_NUM_SIZE];
};

/* Reads the uid or group in v (borrowed; NULL is fine) into out. Returns 0,
 * or -EINVAL when v is neither a string nor a number (NULL included) or
 * holds a NUL, -EDOM when it is a number but not an integer, -ENODATA when
 * it is the empty string, -ENAMETOOLONG when its text is longer than
 * max_len bytes. On error out->p is NULL. */
MUST_CHECK int name_from_json(const json_t *v, size_t max_len, struct name *out);

#endif
