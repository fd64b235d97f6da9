/*
 * push_table — see push_table.h.
 *
 * Requests live in an idring (common/idring.h): ids grow by one and every
 * request has the same timeout, so the oldest is always the next to expire.
 * A slot keeps what its answer needs (the request's "id" to echo, its
 * command type for the reply's shape) and its consumer. An answer is
 * rendered, the slot freed, and only then is the consumer called, so a
 * consumer that submits or cancels from its done finds the table whole.
 */
#include "push/push_table.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/idring.h"
#include "common/xmalloc.h"

struct push_slot {
	struct idring_entry ie;
	push_done_fn *done; /* NULL: cancelled */
	void *arg;
	json_t *jid;  /* the request's "id", or NULL */
	uint8_t type; /* enum cmd_type */
};

struct push_table {
	struct idring ring;
	struct push_limits limits;
	push_submit_fn *submit;
	void *arg;
	uint64_t next_key;
	struct push_table_stats st;
};

struct push_table *
push_table_new(size_t cap, const struct push_limits *lim, push_submit_fn *submit, void *arg)
{
	struct push_table *t = xcalloc(1, sizeof *t);
	idring_init(&t->ring, cap, sizeof(struct push_slot));
	t->limits = *lim;
	t->submit = submit;
	t->arg = arg;
	return t;
}

void
push_table_free(struct push_table *t)
{
	if (t == NULL)
		return;
	struct push_slot *s;
	while ((s = idring_oldest(&t->ring)) != NULL) {
		json_decref(s->jid);
		idring_del(&t->ring, s);
	}
	idring_fini(&t->ring);
	free(t);
}

uint64_t
push_table_key(struct push_table *t)
{
	return ++t->next_key;
}

static void
push_table_drop(struct push_table *t, struct push_slot *s)
{
	json_decref(s->jid);
	idring_del(&t->ring, s);
}

uint64_t
push_table_submit(struct push_table *t, uint64_t deadline, const char *text, size_t len,
	uint64_t key, push_filter_fn *filter, push_done_fn *done, void *arg, struct buf *reply,
	enum proto_error *code_out)
{
	struct push_cmd cmd;
	struct push_error perr;
	enum proto_error code = PROTO_ERR_NONE;
	const char *message = NULL;
	struct push_slot *s = NULL;
	uint64_t id = 0;

	t->st.requests++;
	if (push_cmd_parse(text, len, &t->limits, &cmd, &perr) != 0) {
		code = perr.code;
		message = perr.message;
	} else if (filter != NULL && filter(arg, &cmd.cmd, &code, &message) != 0) {
		if (code == PROTO_ERR_NONE)
			code = PROTO_ERR_FORBIDDEN;
	} else if ((s = idring_add(&t->ring, deadline)) == NULL) {
		code = PROTO_ERR_OVERLOADED;
		message = "too many requests in flight on this gateway (gateway.max_pending)";
	} else {
		id = s->ie.id;
		s->jid = cmd.id ? json_incref(cmd.id) : NULL;
		s->type = cmd.cmd.type;
		if (t->submit(t->arg, id, key, &cmd.cmd, &code, &message) != 0) {
			/* Refused: answered here, and never through done. */
			if (code == PROTO_ERR_NONE)
				code = PROTO_ERR_INTERNAL;
			t->st.results[s->type][PUSH_ERROR]++;
			push_table_drop(t, s);
			id = 0;
		} else {
			code = PROTO_ERR_NONE;
			s->done = done;
			s->arg = arg;
		}
	}
	if (id == 0) {
		push_reply_error(cmd.id, code, message, reply);
		t->st.errors++;
		if (code_out != NULL)
			*code_out = code;
	}
	push_cmd_fini(&cmd);
	return id;
}

void
push_table_cancel(struct push_table *t, uint64_t req)
{
	struct push_slot *s = idring_get(&t->ring, req);
	if (s != NULL) {
		s->done = NULL;
		s->arg = NULL;
	}
}

/* Frees s, then hands the answer in b (rep's line) to its consumer. */
static void
push_table_answer(struct push_table *t, struct push_slot *s, struct buf *b, struct push_reply *rep)
{
	push_done_fn *done = s->done;
	void *arg = s->arg;
	uint64_t id = s->ie.id;
	push_table_drop(t, s);
	rep->line = b->p;
	rep->len = b->len;
	if (done != NULL)
		done(arg, id, rep);
	buf_fini(b);
}

void
push_table_complete(struct push_table *t, const struct proto_result *r)
{
	struct push_slot *s = idring_get(&t->ring, r->id);
	if (s == NULL)
		return;
	struct buf b = BUF_INIT;
	struct push_reply rep;
	push_reply_render((enum cmd_type)s->type, s->jid, r, &b, &rep);
	if (!r->ok)
		t->st.errors++;
	t->st.results[s->type][!r->ok ? PUSH_ERROR : r->partial ? PUSH_PARTIAL : PUSH_OK]++;
	push_table_answer(t, s, &b, &rep);
}

void
push_table_fail(struct push_table *t, uint64_t req, enum proto_error code, const char *message)
{
	struct push_slot *s = idring_get(&t->ring, req);
	if (s == NULL)
		return;
	struct buf b = BUF_INIT;
	struct push_reply rep = {NULL, 0, code, 0};
	push_reply_error(s->jid, code, message, &b);
	t->st.errors++;
	t->st.results[s->type][code == PROTO_ERR_TIMEOUT ? PUSH_TIMEOUT : PUSH_ERROR]++;
	push_table_answer(t, s, &b, &rep);
}

static void
push_table_on_expire(void *arg, void *entry)
{
	struct push_table *t = arg;
	struct push_slot *s = entry;
	t->st.timeouts++;
	push_table_fail(t, s->ie.id, PROTO_ERR_TIMEOUT, "no answer within gateway.request_timeout");
}

size_t
push_table_expire(struct push_table *t, uint64_t now)
{
	return idring_expire(&t->ring, now, push_table_on_expire, t);
}

size_t
push_table_pending(const struct push_table *t)
{
	return idring_used(&t->ring);
}

const struct push_table_stats *
push_table_stats(const struct push_table *t)
{
	return &t->st;
}
