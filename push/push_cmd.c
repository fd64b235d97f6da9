/*
 * push_cmd — the push port's wire format in: one JSON object per line, a
 * struct proto_cmd out. The replies are push_reply.c's.
 *
 * It checks shapes and limits (field types, uid/group length, list length,
 * client id syntax) so that everything past it sees only well-formed
 * commands. It does not bound the line length (the reader does that before a
 * line is complete), execute anything or decide who answers.
 *
 * Fields of each command (anything else in the object is ignored):
 *   send_to_uid              uid (1..n), data
 *   send_to_group            group (1..n), exclude (0..n), data
 *   send_to_all              exclude (0..n), data
 *   send_to_client           client_id (1..n), data
 *   close_client             client_id, data optional (the last message)
 *   bind_uid                 client_id, uid
 *   unbind_uid               client_id, uid optional
 *   join_group, leave_group  client_id, group
 *   ungroup                  group
 *   is_uid_online, get_client_id_by_uid                  uid
 *   get_uid_by_client_id, get_session                    client_id
 *   get_client_count_by_group, get_uid_list_by_group,
 *   get_uid_count_by_group                               group
 *   get_all_uid_count, get_all_client_count, get_all_group_id_list   nothing
 *   set_session, update_session   client_id, session (a JSON object)
 * A uid or group is a string or an integer (its decimal text); "1..n" fields
 * also take an array of those. A client id is CLIENTID_LEN hex digits. data
 * is "data" (a string is sent as its text, any other value as its compact
 * JSON) or "data_base64" (decoded, sent as a binary frame), never both.
 *
 * JSON is written by hand (common/json_out.h) rather than with json_dumps:
 * jansson prints reals with 17 significant digits (0.1 becomes
 * 0.10000000000000001), and an application's payload should reach the
 * browser as it was written.
 */
#include "push/push_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/json_out.h"
#include "common/xmalloc.h"
#include "proto/clientid.h"
#include "proto/name.h"

/* Everything a parsed command points into: the parsed document (strings
 * point into its values) and the buffers made for converted values. */
struct push_store {
	json_t *root;
	void **owned;
	size_t n_owned;
	size_t cap_owned;
};

/* How often a command takes a field. */
enum arity {
	F_NONE = 0,
	F_ONE,      /* required, one value */
	F_OPT,      /* optional, one value */
	F_MANY,     /* required, a value or a non-empty array */
	F_OPT_MANY, /* optional, a value or an array (may be empty) */
};

struct cmd_spec {
	uint8_t uid, group, client, exclude, data, session;
};

static const struct cmd_spec cmd_specs[CMD__COUNT] = {
	[CMD_SEND_TO_UID] = {.uid = F_MANY, .data = F_ONE},
	[CMD_SEND_TO_GROUP] = {.group = F_MANY, .exclude = F_OPT_MANY, .data = F_ONE},
	[CMD_SEND_TO_ALL] = {.exclude = F_OPT_MANY, .data = F_ONE},
	[CMD_SEND_TO_CLIENT] = {.client = F_MANY, .data = F_ONE},
	[CMD_CLOSE_CLIENT] = {.client = F_ONE, .data = F_OPT},
	[CMD_BIND_UID] = {.client = F_ONE, .uid = F_ONE},
	[CMD_UNBIND_UID] = {.client = F_ONE, .uid = F_OPT},
	[CMD_JOIN_GROUP] = {.client = F_ONE, .group = F_ONE},
	[CMD_LEAVE_GROUP] = {.client = F_ONE, .group = F_ONE},
	[CMD_UNGROUP] = {.group = F_ONE},
	[CMD_IS_UID_ONLINE] = {.uid = F_ONE},
	[CMD_GET_CLIENT_ID_BY_UID] = {.uid = F_ONE},
	[CMD_GET_UID_BY_CLIENT_ID] = {.client = F_ONE},
	[CMD_GET_CLIENT_COUNT_BY_GROUP] = {.group = F_ONE},
	[CMD_GET_UID_LIST_BY_GROUP] = {.group = F_ONE},
	[CMD_GET_UID_COUNT_BY_GROUP] = {.group = F_ONE},
	[CMD_GET_ALL_UID_COUNT] = {0},
	[CMD_GET_ALL_CLIENT_COUNT] = {0},
	[CMD_GET_ALL_GROUP_ID_LIST] = {0},
	[CMD_SET_SESSION] = {.client = F_ONE, .session = F_ONE},
	[CMD_UPDATE_SESSION] = {.client = F_ONE, .session = F_ONE},
	[CMD_GET_SESSION] = {.client = F_ONE},
};

/* What a list holds: uids/groups (strings or integers, bounded length) or
 * client ids. */
enum item_kind {
	ITEM_NAME,
	ITEM_CLIENT,
};

struct parse {
	struct push_store *st;
	struct push_error *err;
	json_t *root;
	size_t max_list;
};

/* ---- parsing ---- */

static void *
store_keep(struct push_store *st, void *p)
{
	if (st->n_owned == st->cap_owned) {
		st->cap_owned = st->cap_owned ? st->cap_owned * 2 : 8;
		st->owned = xrealloc(st->owned, st->cap_owned * sizeof *st->owned);
	}
	st->owned[st->n_owned++] = p;
	return p;
}

__attribute__((format(printf, 3, 4))) static int
fail(struct push_error *err, enum proto_error code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Moves the text in b into the store and points *out at it. */
static int
store_text(struct parse *ps, const char *field, struct buf *b, struct pstr *out)
{
	if (b->len > UINT32_MAX) {
		buf_fini(b);
		return fail(ps->err, PROTO_ERR_TOO_LARGE, "field \"%s\": larger than 4 GiB", field);
	}
	size_t n = b->len;
	char *p = buf_steal(b, NULL);
	if (p != NULL)
		store_keep(ps->st, p);
	out->p = p != NULL ? p : "";
	out->n = (uint32_t)n;
	return 0;
}

/* "field \"uid\"" or "field \"uid\"[3]" for messages. */
static void
where(char *s, size_t size, const char *field, long idx)
{
	if (idx < 0)
		snprintf(s, size, "field \"%s\"", field);
	else
		snprintf(s, size, "field \"%s\"[%ld]", field, idx);
}

static bool
is_client_id(const char *s, size_t n)
{
	if (n != CLIENTID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

/* One uid/group (string or integer, 1..max_len bytes) or client id. many
 * only picks the wording of the type error. */
static int
parse_item(struct parse *ps, const char *field, enum item_kind kind, size_t max_len, bool many,
	json_t *v, long idx, struct pstr *out)
{
	char at[96];
	const char *p;
	size_t n;

	where(at, sizeof at, field, idx);
	if (kind == ITEM_CLIENT) {
		if (!json_is_string(v))
			return fail(ps->err, PROTO_ERR_BAD_REQUEST, "%s: must be a %s", at,
				many ? "client id string or an array of them" : "client id string");
		p = json_string_value(v);
		n = json_string_length(v);
		if (!is_client_id(p, n))
			return fail(ps->err, PROTO_ERR_BAD_REQUEST, "%s: not a client id", at);
		out->p = p;
		out->n = (uint32_t)n;
		return 0;
	}

	struct name nm;
	size_t max = max_len < UINT32_MAX ? max_len : (size_t)UINT32_MAX;
	switch (name_from_json(v, max, &nm)) {
	case 0:
		break;
	case -EDOM:
		return fail(ps->err, PROTO_ERR_BAD_REQUEST, "%s: a number must be an integer", at);
	case -ENODATA:
		return fail(ps->err, PROTO_ERR_BAD_REQUEST, "%s: must not be empty", at);
	case -ENAMETOOLONG:
		return fail(ps->err, PROTO_ERR_BAD_REQUEST, "%s: longer than %zu bytes", at, max);
	default:
		return fail(ps->err, PROTO_ERR_BAD_REQUEST, "%s: must be a %s", at,
			many && idx < 0 ? "string, number or array" : "string or number");
	}
	p = nm.p == nm.num ? store_keep(ps->st, xstrndup(nm.num, nm.n)) : nm.p;
	out->p = p;
	out->n = (uint32_t)nm.n;
	return 0;
}

/* A field of the given arity into a list (one entry for single values). */
static int
parse_field(struct parse *ps, const char *field, enum arity ar, enum item_kind kind,
	size_t max_len, struct pstr_list *out)
{
	bool many = ar == F_MANY || ar == F_OPT_MANY;
	json_t *v;
	int rc;

	if (ar == F_NONE)
		return 0;
	v = json_object_get(ps->root, field);
	if (v == NULL) {
		if (ar == F_OPT || ar == F_OPT_MANY)
			return 0;
		return fail(ps->err, PROTO_ERR_BAD_REQUEST, "field \"%s\": required", field);
	}
	if (!json_is_array(v) || !many) {
		out->v = store_keep(ps->st, xcalloc(1, sizeof *out->v));
		out->n = 1;
		return parse_item(ps, field, kind, max_len, many, v, -1, &out->v[0]);
	}

	size_t n = json_array_size(v);
	if (n == 0) {
		if (ar == F_MANY)
			return fail(ps->err, PROTO_ERR_BAD_REQUEST, "field \"%s\": must not be empty",
				field);
		return 0;
	}
	if (n > ps->max_list)
		return fail(ps->err, PROTO_ERR_TOO_LARGE, "field \"%s\": more than %zu entries", field,
			ps->max_list);
	out->v = store_keep(ps->st, xcalloc(n, sizeof *out->v));
	for (size_t i = 0; i < n; i++) {
		rc = parse_item(ps, field, kind, max_len, many, json_array_get(v, i), (long)i,
			&out->v[i]);
		if (rc < 0)
			return rc;
		out->n = (uint32_t)(i + 1);
	}
	return 0;
}

static int
parse_data(struct parse *ps, enum arity ar, struct proto_cmd *c)
{
	json_t *d, *b64;

	if (ar == F_NONE)
		return 0;
	d = json_object_get(ps->root, "data");
	b64 = json_object_get(ps->root, "data_base64");
	if (d != NULL && b64 != NULL)
		return fail(ps->err, PROTO_ERR_BAD_REQUEST,
			"fields \"data\" and \"data_base64\": give only one");
	if (d == NULL && b64 == NULL) {
		if (ar == F_OPT)
			return 0;
		return fail(ps->err, PROTO_ERR_BAD_REQUEST, "field \"data\": required");
	}
	c->has_data = true;
	if (d != NULL && json_is_string(d)) {
		if (json_string_length(d) > UINT32_MAX)
			return fail(ps->err, PROTO_ERR_TOO_LARGE, "field \"data\": larger than 4 GiB");
		c->data.p = json_string_value(d);
		c->data.n = (uint32_t)json_string_length(d);
		return 0;
	}
	if (d != NULL) {
		struct buf b = BUF_INIT;
		json_out_value(&b, d);
		return store_text(ps, "data", &b, &c->data);
	}

	if (!json_is_string(b64))
		return fail(ps->err, PROTO_ERR_BAD_REQUEST, "field \"data_base64\": must be a string");
	const char *s = json_string_value(b64);
	size_t n = json_string_length(b64);
	if (n / 4 * 3 > UINT32_MAX)
		return fail(ps->err, PROTO_ERR_TOO_LARGE, "field \"data_base64\": larger than 4 GiB");
	unsigned char *out = store_keep(ps->st, xmalloc(BASE64_DECODED_MAX(n)));
	size_t k;
	if (base64_decode(s, n, 0, out, &k) != 0)
		return fail(ps->err, PROTO_ERR_BAD_REQUEST, "field \"data_base64\": not base64");
	c->data.p = (const char *)out;
	c->data.n = (uint32_t)k;
	c->binary = true;
	return 0;
}

static int
parse_session(struct parse *ps, enum arity ar, struct proto_cmd *c)
{
	json_t *v;

	if (ar == F_NONE)
		return 0;
	v = json_object_get(ps->root, "session");
	if (v == NULL)
		return fail(ps->err, PROTO_ERR_BAD_REQUEST, "field \"session\": required");
	if (!json_is_object(v))
		return fail(ps->err, PROTO_ERR_BAD_REQUEST, "field \"session\": must be a JSON object");
	struct buf b = BUF_INIT;
	json_out_value(&b, v);
	return store_text(ps, "session", &b, &c->session);
}

int
push_cmd_parse(const char *line, size_t len, const struct push_limits *lim,
	struct push_cmd *out, struct push_error *err)
{
	struct parse ps;
	json_error_t je;
	json_t *type;
	enum cmd_type t;
	int rc;

	memset(out, 0, sizeof *out);
	err->code = PROTO_ERR_NONE;
	err->message[0] = '\0';
	if (line == NULL)
		line = "";
	if (len > 0 && line[len - 1] == '\r')
		len--;

	ps.st = xcalloc(1, sizeof *ps.st);
	ps.err = err;
	ps.max_list = lim->max_list < PROTO_MAX_LIST ? lim->max_list : PROTO_MAX_LIST;
	out->store = ps.st;

	/* JSON_DECODE_ANY so that valid JSON of the wrong shape gets the
	 * clearer bad_request below instead of a parse error. */
	ps.root = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	ps.st->root = ps.root;
	if (ps.root == NULL)
		return fail(err, PROTO_ERR_BAD_JSON, "line %d, column %d: %s", je.line, je.column,
			je.text);
	if (!json_is_object(ps.root))
		return fail(err, PROTO_ERR_BAD_REQUEST, "request must be a JSON object");

	json_t *id = json_object_get(ps.root, "id");
	if (id != NULL)
		out->id = json_incref(id);

	type = json_object_get(ps.root, "type");
	if (type == NULL)
		return fail(err, PROTO_ERR_BAD_REQUEST, "field \"type\": required");
	if (!json_is_string(type))
		return fail(err, PROTO_ERR_BAD_REQUEST, "field \"type\": must be a string");
	size_t tn = json_string_length(type);
	t = cmd_lookup(json_string_value(type), tn);
	if (t == 0)
		return fail(err, PROTO_ERR_UNKNOWN_TYPE, "unknown type \"%.*s\"%s",
			(int)(tn > 64 ? 64 : tn), json_string_value(type), tn > 64 ? "..." : "");

	const struct cmd_spec *sp = &cmd_specs[t];
	struct proto_cmd *c = &out->cmd;
	c->type = (uint8_t)t;
	if ((rc = parse_field(&ps, "client_id", sp->client, ITEM_CLIENT, 0, &c->clients)) < 0 ||
		(rc = parse_field(&ps, "uid", sp->uid, ITEM_NAME, lim->max_uid_len,
			 &c->uids)) < 0 ||
		(rc = parse_field(&ps, "group", sp->group, ITEM_NAME, lim->max_group_len,
			 &c->groups)) < 0 ||
		(rc = parse_field(&ps, "exclude", sp->exclude, ITEM_CLIENT, 0, &c->exclude)) < 0 ||
		(rc = parse_data(&ps, sp->data, c)) < 0 ||
		(rc = parse_session(&ps, sp->session, c)) < 0)
		return rc;
	return 0;
}

void
push_cmd_fini(struct push_cmd *c)
{
	struct push_store *st = c->store;

	if (st != NULL) {
		for (size_t i = 0; i < st->n_owned; i++)
			free(st->owned[i]);
		free(st->owned);
		json_decref(st->root);
		free(st);
	}
	json_decref(c->id);
	memset(c, 0, sizeof *c);
}
