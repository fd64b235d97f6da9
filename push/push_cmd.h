/*
 * push_cmd — one push-port line (a JSON object) → a proto_cmd (parse only;
 * the reply lines are push_reply.h's). Pure: no sockets, no logging.
 *
 * The push port API (DESIGN.md "Interfaces users see"): {"type": "<command>",
 * "id": <any JSON, optional, echoed>, fields...}. See push_cmd.c for the
 * fields of each command.
 */
#ifndef GATECAST_PUSH_PUSH_CMD_H
#define GATECAST_PUSH_PUSH_CMD_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"
#include "proto/error.h"
#include "proto/msg.h"

struct push_limits {
	size_t max_uid_len;   /* longer uids are bad_request */
	size_t max_group_len; /* longer groups are bad_request */
	size_t max_list;      /* entries in one uid/group/client/exclude list */
};

struct push_cmd {
	json_t *id;           /* the request's "id" or NULL; owned */
	struct proto_cmd cmd; /* its strings point into storage owned here */
	void *store;          /* private */
};

struct push_error {
	enum proto_error code; /* BAD_JSON, BAD_REQUEST, UNKNOWN_TYPE or TOO_LARGE */
	char message[256];    /* what and where, e.g. "line 1, column 17: ..." or
	                       * "field \"uid\": must be a string, number or array" */
};

/* Parses one line (without its '\n'; a trailing '\r' is ignored). Returns 0
 * with *out filled, or -EINVAL with *err filled; out->id is set whenever the
 * line was a JSON object with an "id", so even an error reply echoes it.
 * Always call push_cmd_fini(out) afterwards. */
int push_cmd_parse(const char *line, size_t len, const struct push_limits *lim,
	struct push_cmd *out, struct push_error *err);
void push_cmd_fini(struct push_cmd *c);

#endif
