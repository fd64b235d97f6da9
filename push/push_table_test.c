/*
 * push_table_test — the request table on its own: what is answered at once
 * and what later, exactly once; cancelling; expiry in order; a full table;
 * the stats; and a consumer that submits from its done.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "push/push_table.h"
#include "tests/tap.h"

static const struct push_limits lim = {16, 16, 4};

struct fake {
	struct push_table *t;
	int submits, refuse;
	uint64_t last_req, last_key;
	int in_submit;
};

struct consumer {
	struct fake *f;
	int calls;
	uint64_t req;
	char line[256];
	enum proto_error error;
	int64_t delivered;
	int during_submit;
	int resubmit; /* submit one more command from done */
	uint64_t resubmitted;
};

static int
fake_submit(void *arg, uint64_t req, uint64_t key, const struct proto_cmd *cmd,
	enum proto_error *code, const char **message)
{
	struct fake *f = arg;
	f->submits++;
	f->last_req = req;
	f->last_key = key;
	if (f->refuse) {
		*code = PROTO_ERR_NO_WORKER;
		*message = "none";
		return -ENOBUFS;
	}
	return 0;
}

static void
on_done(void *arg, uint64_t req, const struct push_reply *rep)
{
	struct consumer *c = arg;
	c->calls++;
	c->req = req;
	c->during_submit |= c->f->in_submit;
	snprintf(c->line, sizeof c->line, "%.*s", (int)rep->len, rep->line);
	c->error = rep->error;
	c->delivered = rep->delivered;
	if (c->resubmit) {
		struct buf b = BUF_INIT;
		c->resubmit = 0;
		c->resubmitted = push_table_submit(c->f->t, 2200,
			"{\"type\":\"get_all_uid_count\"}", 28, 1, NULL, on_done, c, &b, NULL);
		buf_fini(&b);
	}
}

static int
only_uid(void *arg, const struct proto_cmd *cmd, enum proto_error *code, const char **message)
{
	if (cmd->type == CMD_SEND_TO_UID)
		return 0;
	*message = "only send_to_uid";
	return -1;
}

static uint64_t
submit(struct fake *f, uint64_t deadline, const char *text, struct consumer *c, struct buf *b,
	enum proto_error *code)
{
	f->in_submit = 1;
	uint64_t id =
		push_table_submit(f->t, deadline, text, strlen(text), 7, NULL, on_done, c, b, code);
	f->in_submit = 0;
	return id;
}

int
main(void)
{
	struct fake f = {0};
	struct consumer c;
	memset(&c, 0, sizeof c);
	c.f = &f;
	struct buf b = BUF_INIT;
	enum proto_error code = PROTO_ERR_NONE;
	f.t = push_table_new(3, &lim, fake_submit, &f);

	uint64_t k1 = push_table_key(f.t), k2 = push_table_key(f.t);
	tap_ok(k1 != 0 && k2 != k1, "routing keys are new each time");

	/* Answered at once. */
	uint64_t id = submit(&f, 1000, "{\"id\":1,\"type\":", &c, &b, &code);
	tap_ok(id == 0 && code == PROTO_ERR_BAD_JSON && f.submits == 0,
		"a line that is not JSON is answered at once, without submitting");
	tap_ok(b.len > 0 && b.p[b.len - 1] == '\n' && strstr(b.p, "\"error\":\"bad_json\"") != NULL,
		"... with its error reply line");
	buf_reset(&b);
	id = push_table_submit(f.t, 1000, "{\"type\":\"send_to_all\",\"data\":1}", 31, 7, only_uid,
		on_done, &c, &b, &code);
	tap_ok(id == 0 && code == PROTO_ERR_FORBIDDEN && f.submits == 0,
		"a filter's refusal without a code is forbidden");
	tap_ok(strstr(b.p, "\"message\":\"only send_to_uid\"") != NULL,
		"... with the filter's message");
	buf_reset(&b);
	f.refuse = 1;
	id = submit(&f, 1000, "{\"id\":\"x\",\"type\":\"send_to_all\",\"data\":1}", &c, &b, &code);
	tap_ok(id == 0 && code == PROTO_ERR_NO_WORKER && f.submits == 1,
		"a submit refusal is answered at once with its code");
	tap_eq_str(b.p,
		"{\"id\":\"x\",\"ok\":false,\"error\":\"no_worker\",\"message\":\"none\"}\n",
		"... echoing the request's id");
	tap_eq_int(push_table_pending(f.t), 0, "a refused request leaves the table");
	tap_eq_int(c.calls, 0, "answers given at once never reach done");
	f.refuse = 0;
	buf_reset(&b);

	/* Answered later. */
	uint64_t a = submit(&f, 1010,
		"{\"id\":7,\"type\":\"send_to_uid\",\"uid\":\"u\",\"data\":1}", &c, &b, &code);
	tap_ok(a != 0 && f.last_req == a && f.last_key == 7, "a command is submitted on its key");
	tap_ok(b.len == 0 && c.calls == 0, "... and nothing is answered yet");
	struct proto_result r;
	memset(&r, 0, sizeof r);
	r.id = a;
	r.ok = true;
	r.delivered = 2;
	push_table_complete(f.t, &r);
	tap_eq_int(c.calls, 1, "a REPLY answers the request");
	tap_ok(c.req == a && c.error == PROTO_ERR_NONE && c.delivered == 2,
		"... with its id, no error and the delivered count");
	tap_eq_str(c.line, "{\"id\":7,\"ok\":true,\"delivered\":2,\"offline\":[]}\n",
		"... and its reply line");
	tap_ok(!c.during_submit, "done is never called from within submit");
	push_table_complete(f.t, &r);
	tap_eq_int(c.calls, 1, "a second REPLY for the same id is ignored");
	push_table_fail(f.t, a, PROTO_ERR_TIMEOUT, "late");
	tap_eq_int(c.calls, 1, "failing an answered request does nothing");

	uint64_t d = submit(&f, 1020, "{\"type\":\"get_all_uid_count\"}", &c, &b, &code);
	push_table_fail(f.t, d, PROTO_ERR_NO_WORKER, "gone");
	tap_ok(c.calls == 2 && c.req == d && c.error == PROTO_ERR_NO_WORKER,
		"fail answers with its code");
	tap_eq_str(c.line, "{\"ok\":false,\"error\":\"no_worker\",\"message\":\"gone\"}\n",
		"... and its message");

	/* Cancelled: the request goes on, its answer is dropped. */
	uint64_t e = submit(&f, 1030, "{\"type\":\"get_all_uid_count\"}", &c, &b, &code);
	push_table_cancel(f.t, e);
	tap_eq_int(push_table_pending(f.t), 1, "a cancelled request stays in the table");
	r.id = e;
	push_table_complete(f.t, &r);
	tap_ok(c.calls == 2 && push_table_pending(f.t) == 0,
		"a cancelled request's answer is dropped and its slot freed");
	push_table_cancel(f.t, e);
	push_table_cancel(f.t, 0);
	tap_ok(1, "cancelling an answered id or 0 is harmless");

	/* Full, then expiry in order. */
	uint64_t x1 = submit(&f, 1100, "{\"type\":\"get_all_uid_count\"}", &c, &b, &code);
	uint64_t x2 = submit(&f, 1200, "{\"type\":\"get_all_uid_count\"}", &c, &b, &code);
	uint64_t x3 = submit(&f, 1300, "{\"type\":\"get_all_uid_count\"}", &c, &b, &code);
	tap_ok(x1 && x2 == x1 + 1 && x3 == x2 + 1, "ids grow by one");
	buf_reset(&b);
	tap_ok(submit(&f, 1300, "{\"type\":\"get_all_uid_count\"}", &c, &b, &code) == 0 &&
			code == PROTO_ERR_OVERLOADED,
		"a full table answers overloaded at once");
	buf_reset(&b);
	tap_eq_int(push_table_expire(f.t, 1099), 0, "nothing expires before its timeout");
	c.resubmit = 1;
	tap_eq_int(push_table_expire(f.t, 1200), 2, "requests expire oldest first, up to now");
	tap_ok(c.calls == 4 && c.req == x2 && c.error == PROTO_ERR_TIMEOUT,
		"expiry answers timeout");
	tap_eq_str(c.line,
		"{\"ok\":false,\"error\":\"timeout\","
		"\"message\":\"no answer within gateway.request_timeout\"}\n",
		"... with the timeout's message");
	tap_ok(c.resubmitted != 0 && c.resubmitted == x3 + 1,
		"a consumer may submit from its done, into the slot just freed");
	tap_eq_int(push_table_pending(f.t), 2, "the younger request and the new one wait");

	const struct push_table_stats *st = push_table_stats(f.t);
	tap_eq_int(st->requests, 11, "every submitted command is counted");
	tap_eq_int(st->timeouts, 2, "timeouts are counted");
	tap_eq_int(st->results[CMD_SEND_TO_UID][PUSH_OK], 1,
		"results are counted by command and outcome");
	tap_eq_int(st->results[CMD_SEND_TO_ALL][PUSH_ERROR], 1,
		"a submit refusal counts as an error result");
	tap_eq_int(st->results[CMD_GET_ALL_UID_COUNT][PUSH_TIMEOUT], 2,
		"timeouts count as timeout results");
	tap_eq_int(st->errors, 7, "errors count refusals, failures and timeouts");
	int before = c.calls;
	push_table_free(f.t);
	tap_eq_int(c.calls, before, "freeing the table drops what waits without done");
	buf_fini(&b);
	return tap_done();
}
