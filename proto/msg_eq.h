/*
 * msg_eq — deep equality of decoded cluster messages, for the codec's unit
 * test and its fuzz target (both check that encode → decode gives back the
 * same message). Test code only: every function is static.
 */
#ifndef GATECAST_PROTO_MSG_EQ_H
#define GATECAST_PROTO_MSG_EQ_H

#include <stdbool.h>

#include "proto/msg.h"

static bool
list_eq(const struct pstr_list *a, const struct pstr_list *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (!pstr_eq(a->v[i], b->v[i]))
			return false;
	return true;
}

static bool
member_eq(const struct proto_member *a, const struct proto_member *b)
{
	return a->role == b->role && a->id == b->id && pstr_eq(a->inbox, b->inbox) &&
	       a->left == b->left;
}

static bool
stats_eq(const struct proto_stats *a, const struct proto_stats *b)
{
	return a->pid == b->pid && pstr_eq(a->host, b->host) && a->started == b->started &&
	       a->rss == b->rss && a->connections == b->connections && a->uids == b->uids &&
	       a->groups == b->groups && a->msgs_in == b->msgs_in &&
	       a->msgs_out == b->msgs_out && a->pushes == b->pushes &&
	       a->push_rate == b->push_rate && a->draining == b->draining;
}

static bool
cmd_eq(const struct proto_cmd *a, const struct proto_cmd *b)
{
	return a->type == b->type && list_eq(&a->uids, &b->uids) &&
	       list_eq(&a->groups, &b->groups) && list_eq(&a->clients, &b->clients) &&
	       list_eq(&a->exclude, &b->exclude) && pstr_eq(a->data, b->data) &&
	       a->has_data == b->has_data && a->binary == b->binary &&
	       pstr_eq(a->session, b->session) && a->from_client == b->from_client;
}

static bool
msg_eq(const struct proto_msg *a, const struct proto_msg *b)
{
	const struct proto_result *x = &a->u.result, *y = &b->u.result;

	if (a->type != b->type)
		return false;
	switch (a->type) {
	case PROTO_ANNOUNCE:
		/* The stats are only meaningful (and only encoded) with has_stats. */
		return member_eq(&a->u.announce.self, &b->u.announce.self) &&
		       a->u.announce.lease_ms == b->u.announce.lease_ms &&
		       a->u.announce.leaving == b->u.announce.leaving &&
		       a->u.announce.has_stats == b->u.announce.has_stats &&
		       (!a->u.announce.has_stats ||
			       stats_eq(&a->u.announce.stats, &b->u.announce.stats));
	case PROTO_STATUS_QUERY:
		return true;
	case PROTO_STATUS:
		if (!stats_eq(&a->u.status.self, &b->u.status.self) ||
		    a->u.status.n != b->u.status.n)
			return false;
		for (uint32_t i = 0; i < a->u.status.n; i++)
			if (a->u.status.v[i].role != b->u.status.v[i].role ||
			    a->u.status.v[i].id != b->u.status.v[i].id ||
			    !stats_eq(&a->u.status.v[i].stats, &b->u.status.v[i].stats))
				return false;
		return true;
	case PROTO_MEMBERS:
		if (a->u.members.version != b->u.members.version ||
		    a->u.members.n != b->u.members.n)
			return false;
		for (uint32_t i = 0; i < a->u.members.n; i++)
			if (!member_eq(&a->u.members.v[i], &b->u.members.v[i]))
				return false;
		return true;
	case PROTO_EVENT:
		return a->u.event.gateway == b->u.event.gateway &&
		       pstr_eq(a->u.event.client_id, b->u.event.client_id) &&
		       a->u.event.kind == b->u.event.kind &&
		       a->u.event.binary == b->u.event.binary &&
		       pstr_eq(a->u.event.data, b->u.event.data) &&
		       pstr_eq(a->u.event.uid, b->u.event.uid) &&
		       a->u.event.close_code == b->u.event.close_code;
	case PROTO_REQUEST:
		return a->u.request.gateway == b->u.request.gateway &&
		       a->u.request.req == b->u.request.req &&
		       cmd_eq(&a->u.request.cmd, &b->u.request.cmd) &&
		       a->u.request.expires == b->u.request.expires &&
		       a->u.request.pushed_us == b->u.request.pushed_us;
	case PROTO_OP:
		return a->u.op.worker == b->u.op.worker && a->u.op.op == b->u.op.op &&
		       cmd_eq(&a->u.op.cmd, &b->u.op.cmd) &&
		       a->u.op.pushed_us == b->u.op.pushed_us &&
		       a->u.op.expires == b->u.op.expires;
	case PROTO_RESULT:
	case PROTO_REPLY:
		return x->id == y->id && x->ok == y->ok && pstr_eq(x->error, y->error) &&
		       pstr_eq(x->message, y->message) && x->delivered == y->delivered &&
		       x->count == y->count && list_eq(&x->strs, &y->strs) &&
		       pstr_eq(x->session, y->session) && x->partial == y->partial &&
		       x->answered == y->answered && x->expected == y->expected;
	}
	return false;
}

#endif
