/*
 * proto/error — see error.h. The names are the API: clients match on them.
 */
#include "proto/error.h"

#include <string.h>

static const char *const proto_error_names[PROTO_ERR__COUNT] = {
	[PROTO_ERR_NONE] = "",
	[PROTO_ERR_BAD_JSON] = "bad_json",
	[PROTO_ERR_BAD_REQUEST] = "bad_request",
	[PROTO_ERR_UNKNOWN_TYPE] = "unknown_type",
	[PROTO_ERR_UNAUTHORIZED] = "unauthorized",
	[PROTO_ERR_FORBIDDEN] = "forbidden",
	[PROTO_ERR_NOT_FOUND] = "not_found",
	[PROTO_ERR_TOO_LARGE] = "too_large",
	[PROTO_ERR_LENGTH_REQUIRED] = "length_required",
	[PROTO_ERR_TOO_MANY_GROUPS] = "too_many_groups",
	[PROTO_ERR_NO_WORKER] = "no_worker",
	[PROTO_ERR_OVERLOADED] = "overloaded",
	[PROTO_ERR_TIMEOUT] = "timeout",
	[PROTO_ERR_INTERNAL] = "internal",
	[PROTO_ERR_OTHER] = "",
};

const char *
proto_error_name(enum proto_error e)
{
	if ((int)e < 0 || e >= PROTO_ERR__COUNT)
		return NULL;
	return proto_error_names[e];
}

enum proto_error
proto_error_from_name(const char *p, size_t n)
{
	if (n == 0)
		return PROTO_ERR_NONE;
	for (int e = PROTO_ERR_NONE + 1; e < PROTO_ERR_OTHER; e++)
		if (strlen(proto_error_names[e]) == n && memcmp(proto_error_names[e], p, n) == 0)
			return (enum proto_error)e;
	return PROTO_ERR_OTHER;
}
