/*
 * gather — see gather.h.
 */
#include "worker/gather.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "proto/error.h"

void
gather_table_init(struct gather_table *t, size_t cap)
{
	idring_init(&t->ring, cap, sizeof(struct gather));
}

void
gather_table_fini(struct gather_table *t)
{
	struct gather *g;
	if (t->ring.v == NULL)
		return;
	while ((g = idring_oldest(&t->ring)) != NULL)
		gather_free(t, g);
	idring_fini(&t->ring);
}

struct gather *
gather_new(struct gather_table *t, uint64_t deadline)
{
	return idring_add(&t->ring, deadline);
}

struct gather *
gather_get(const struct gather_table *t, uint64_t op)
{
	return idring_get(&t->ring, op);
}

void
gather_free(struct gather_table *t, struct gather *g)
{
	buf_fini(&g->error);
	buf_fini(&g->message);
	buf_fini(&g->session);
	strvec_fini(&g->found);
	strvec_fini(&g->asked);
	idring_del(&t->ring, g);
}

size_t
gather_open(const struct gather_table *t)
{
	return idring_used(&t->ring);
}

bool
gather_full(const struct gather_table *t)
{
	return idring_full(&t->ring);
}

struct gather_expiry {
	gather_expire_fn *fn;
	void *arg;
};

static void
gather_on_expire(void *arg, void *entry)
{
	struct gather_expiry *x = arg;
	x->fn(x->arg, entry);
}

size_t
gather_expire(struct gather_table *t, uint64_t now, gather_expire_fn *fn, void *arg)
{
	struct gather_expiry x = {fn, arg};
	return idring_expire(&t->ring, now, gather_on_expire, &x);
}

bool
gather_fold(struct gather *g, const struct proto_result *r)
{
	g->answered++;
	if (!r->ok) {
		if (!g->failed) {
			g->failed = true;
			buf_append(&g->error, r->error.p, r->error.n);
			buf_append(&g->message, r->message.p, r->message.n);
		}
	} else {
		g->delivered += r->delivered;
		/* A presence count adds up the connections; a push request
		 * counts the distinct uids at the end. */
		if (g->presence ||
			(g->type != CMD_GET_UID_COUNT_BY_GROUP && g->type != CMD_GET_ALL_UID_COUNT))
			g->count += r->count;
		for (uint32_t i = 0; i < r->strs.n; i++)
			strvec_add(&g->found, r->strs.v[i].p, r->strs.v[i].n);
		if (r->session.n > 0 && g->session.len == 0)
			buf_append(&g->session, r->session.p, r->session.n);
	}
	return g->answered >= g->expected;
}

void
gather_reply(const struct gather *g, struct proto_result *r)
{
	struct pstr_list list = {NULL, 0};
	r->id = g->req;
	r->ok = !g->failed;
	r->delivered = g->delivered;
	r->count = g->count;
	r->expected = g->expected;
	r->answered = g->answered;
	r->partial = g->answered < g->expected && !cmd_is_single_client((enum cmd_type)g->type);
	if (g->failed) {
		r->error.p = g->error.p;
		r->error.n = (uint32_t)g->error.len;
		r->message.p = g->message.p;
		r->message.n = (uint32_t)g->message.len;
	} else if (g->answered == 0 && g->expected > 0) {
		r->ok = false;
		r->partial = false;
		r->error = pstr_c(proto_error_name(PROTO_ERR_TIMEOUT));
		r->message = pstr_c("no gateway answered within worker.query_timeout");
	}
	r->session.p = g->session.p;
	r->session.n = (uint32_t)g->session.len;
	switch (g->type) {
	case CMD_SEND_TO_UID: {
		/* offline = asked − found */
		struct pstr_list asked = strvec_list(&g->asked, true);
		struct pstr_list found = strvec_list(&g->found, true);
		list.v = xcalloc(asked.n + 1, sizeof *list.v);
		for (uint32_t i = 0; i < asked.n; i++)
			if (bsearch(&asked.v[i], found.v, found.n, sizeof *found.v, strvec_cmp) ==
				NULL)
				list.v[list.n++] = asked.v[i];
		free(asked.v);
		free(found.v);
		break;
	}
	case CMD_GET_CLIENT_ID_BY_UID:
	case CMD_GET_UID_BY_CLIENT_ID:
		list = strvec_list(&g->found, false);
		break;
	case CMD_GET_UID_LIST_BY_GROUP:
	case CMD_GET_ALL_GROUP_ID_LIST:
		list = strvec_list(&g->found, true);
		break;
	case CMD_GET_UID_COUNT_BY_GROUP:
	case CMD_GET_ALL_UID_COUNT:
		list = strvec_list(&g->found, true);
		r->count = list.n;
		free(list.v);
		list.v = NULL;
		list.n = 0;
		break;
	default:
		break;
	}
	r->strs = list;
}
