/*
 * push_cmd — one push-port line (a JSON object) → a proto_cmd, and the reply
 * line for a finished request. Pure: no sockets, no logging.
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
	const char *code;     /* "bad_json", "bad_request", "unknown_type", "too_large" */
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

/* Appends the reply line (JSON + '\n') for a request of type with the given
 * id (borrowed, may be NULL) and result r (borrowed). */
void push_reply_render(enum cmd_type type, const json_t *id, const struct proto_result *r,
	struct buf *out);
/* Appends an error reply line: {"id":…,"ok":false,"error":code,"message":…}. */
void push_reply_error(const json_t *id, const char *code, const char *message, struct buf *out);

#endif
