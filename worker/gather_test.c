/*
 * gather_test — folding RESULTs into one REPLY: offline = asked − found,
 * distinct uid counts against summed client counts, the first error kept,
 * timeouts and partial answers; and the table of gathers (ids, full,
 * expiry oldest first).
 */
#include <stdlib.h>
#include <string.h>

#include "worker/gather.h"
#include "tests/tap.h"

static struct proto_result
ok_result(int64_t delivered, int64_t count, struct pstr *strs, uint32_t n)
{
	struct proto_result r;
	memset(&r, 0, sizeof r);
	r.ok = true;
	r.delivered = delivered;
	r.count = count;
	r.strs = (struct pstr_list){strs, n};
	return r;
}

static bool
has(const struct pstr_list *l, const char *s)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (l->v[i].n == strlen(s) && memcmp(l->v[i].p, s, l->v[i].n) == 0)
			return true;
	return false;
}

struct expiry {
	int n;
	struct gather_table *t;
	uint64_t ids[4];
};

static void
on_expire(void *arg, struct gather *g)
{
	struct expiry *x = arg;
	x->ids[x->n++] = g->ie.id;
	gather_free(x->t, g);
}

int
main(void)
{
	struct gather_table t;
	struct proto_result reply;
	gather_table_init(&t, 3);

	/* send_to_uid to a, b, c on two gateways: b is on both, c nowhere. */
	struct gather *g = gather_new(&t, 100);
	tap_ok(g != NULL && g->ie.id == 1 && g->ie.deadline == 100,
		"a gather gets the first op id");
	g->type = CMD_SEND_TO_UID;
	g->req = 42;
	g->expected = 2;
	strvec_add(&g->asked, "a", 1);
	strvec_add(&g->asked, "b", 1);
	strvec_add(&g->asked, "c", 1);
	struct pstr s1[] = {{"a", 1}, {"b", 1}}, s2[] = {{"b", 1}};
	struct proto_result r = ok_result(2, 0, s1, 2);
	tap_ok(!gather_fold(g, &r), "one of two answers is not all");
	r = ok_result(1, 0, s2, 1);
	tap_ok(gather_fold(g, &r), "the second answer completes the gather");
	memset(&reply, 0, sizeof reply);
	gather_reply(g, &reply);
	tap_ok(reply.ok && reply.id == 42 && !reply.partial, "the reply is ok, for the request");
	tap_eq_int(reply.delivered, 3, "delivered counts add up");
	tap_ok(reply.strs.n == 1 && has(&reply.strs, "c"), "offline is asked minus found");
	free(reply.strs.v);
	gather_free(&t, g);
	tap_ok(gather_get(&t, 1) == NULL && gather_open(&t) == 0, "a freed gather is gone");

	/* Uid counts are distinct; client counts add up. */
	g = gather_new(&t, 110);
	g->type = CMD_GET_UID_COUNT_BY_GROUP;
	g->expected = 2;
	struct pstr u1[] = {{"x", 1}, {"y", 1}}, u2[] = {{"y", 1}, {"z", 1}};
	r = ok_result(0, 5, u1, 2);
	gather_fold(g, &r);
	r = ok_result(0, 7, u2, 2);
	gather_fold(g, &r);
	memset(&reply, 0, sizeof reply);
	gather_reply(g, &reply);
	tap_eq_int(reply.count, 3, "a uid count is the number of distinct uids");
	tap_eq_int(reply.strs.n, 0, "... and carries no list");
	free(reply.strs.v);
	gather_free(&t, g);

	g = gather_new(&t, 120);
	g->type = CMD_GET_ALL_CLIENT_COUNT;
	g->expected = 2;
	r = ok_result(0, 5, NULL, 0);
	gather_fold(g, &r);
	r = ok_result(0, 7, NULL, 0);
	gather_fold(g, &r);
	memset(&reply, 0, sizeof reply);
	gather_reply(g, &reply);
	tap_eq_int(reply.count, 12, "a client count adds up");
	free(reply.strs.v);
	gather_free(&t, g);

	g = gather_new(&t, 125);
	g->type = CMD_GET_UID_COUNT_BY_GROUP;
	g->presence = true;
	g->expected = 2;
	r = ok_result(0, 5, u1, 2);
	gather_fold(g, &r);
	r = ok_result(0, 7, u2, 2);
	gather_fold(g, &r);
	tap_eq_int(g->count, 12, "an online count adds up the connections");
	struct pstr_list uids = strvec_list(&g->found, true);
	tap_eq_int(uids.n, 3, "... and keeps the uids to count distinct ones");
	free(uids.v);
	gather_free(&t, g);

	/* Errors, timeouts, partial answers. */
	g = gather_new(&t, 130);
	g->type = CMD_SEND_TO_ALL;
	g->expected = 3;
	struct proto_result bad;
	memset(&bad, 0, sizeof bad);
	bad.error = pstr_c("too_many_groups");
	bad.message = pstr_c("first");
	gather_fold(g, &bad);
	bad.error = pstr_c("overloaded");
	bad.message = pstr_c("second");
	gather_fold(g, &bad);
	memset(&reply, 0, sizeof reply);
	gather_reply(g, &reply);
	tap_ok(!reply.ok && reply.error.n == 15 &&
			memcmp(reply.error.p, "too_many_groups", 15) == 0 && reply.message.n == 5,
		"the first error is the answer's");
	tap_ok(reply.partial && reply.answered == 2 && reply.expected == 3,
		"a gateway short is a partial answer");
	free(reply.strs.v);
	gather_free(&t, g);

	g = gather_new(&t, 140);
	g->type = CMD_SEND_TO_ALL;
	g->expected = 2;
	memset(&reply, 0, sizeof reply);
	gather_reply(g, &reply);
	tap_ok(!reply.ok && !reply.partial && reply.error.n == 7 &&
			memcmp(reply.error.p, "timeout", 7) == 0,
		"no answer at all is a timeout, not a partial answer");
	free(reply.strs.v);
	gather_free(&t, g);

	g = gather_new(&t, 150);
	g->type = CMD_GET_SESSION;
	g->expected = 2;
	memset(&reply, 0, sizeof reply);
	r = ok_result(0, 0, NULL, 0);
	r.session = pstr_c("{\"a\":1}");
	gather_fold(g, &r);
	gather_reply(g, &reply);
	tap_ok(reply.ok && !reply.partial, "a single client's request is never partial");
	tap_ok(reply.session.n == 7, "the session found is in the reply");
	free(reply.strs.v);
	gather_free(&t, g);

	g = gather_new(&t, 160);
	g->type = CMD_GET_UID_BY_CLIENT_ID;
	g->expected = 0;
	memset(&reply, 0, sizeof reply);
	gather_reply(g, &reply);
	tap_ok(reply.ok && reply.strs.n == 0, "a gather that asked nobody is an empty ok");
	free(reply.strs.v);
	gather_free(&t, g);

	/* The table: full, expiry oldest first. */
	struct gather *a = gather_new(&t, 200), *b = gather_new(&t, 210), *c = gather_new(&t, 220);
	tap_ok(a && b && c && gather_full(&t) && gather_new(&t, 230) == NULL,
		"cap open gathers fill the table");
	tap_ok(gather_get(&t, b->ie.id) == b, "an op id finds its gather");
	struct expiry x = {0, &t, {0}};
	uint64_t ia = a->ie.id, ib = b->ie.id;
	tap_eq_int(gather_expire(&t, 215, on_expire, &x), 2, "gathers expire up to now");
	tap_ok(x.ids[0] == ia && x.ids[1] == ib, "... oldest first");
	tap_eq_int(gather_open(&t), 1, "the younger one stays open");
	strvec_add(&c->found, "left", 4);
	gather_table_fini(&t);
	tap_ok(t.ring.v == NULL, "fini frees the gathers still open and the table");
	return tap_done();
}
