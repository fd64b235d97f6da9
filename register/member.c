/*
 * member — see member.h. One nng req0 socket per register; the reply to each
 * announce is the register's full live list, so a renewal doubles as the
 * "tell me of changes" poll (changes reach members within one renew period).
 */
#include "register/member.h"

#include <event2/event.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "proto/msg.h"

#define MEMBER_FAST_MS 50

struct member_reg {
	struct member *owner;
	bool answered; /* has replied at least once: renew slowly from then on */
	nng_socket sock;
	struct event *rx;
	char *url;
	struct member_peer *list; /* last list this register sent, strings owned */
	size_t n;
	uint64_t version;
};

struct member {
	struct member_reg *regs;
	size_t nregs;
	struct event *tick;
	uint64_t last_announce;
	uint32_t renew_ms;
	uint8_t role;
	uint64_t id;
	char *inbox;
	uint32_t lease_ms;
	member_view_fn *fn;
	void *arg;
	struct member_peer *view; /* union, sorted by id, strings borrowed from regs */
	size_t nview;
	char **view_inboxes; /* copies of the inboxes in view, for change detection */
	bool reported;       /* the first view (even an empty one) was reported */
};

static void
member_free_list(struct member_peer *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)v[i].inbox);
	free(v);
}

static int
member_peer_cmp(const void *a, const void *b)
{
	const struct member_peer *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Rebuilds the union of all registers' lists; reports it when it changed. */
static void
member_rebuild(struct member *m)
{
	size_t total = 0;
	for (size_t i = 0; i < m->nregs; i++)
		total += m->regs[i].n;
	struct member_peer *u = xcalloc(total + 1, sizeof *u);
	size_t n = 0;
	for (size_t i = 0; i < m->nregs; i++)
		for (size_t j = 0; j < m->regs[i].n; j++)
			if (m->regs[i].list[j].id != m->id)
				u[n++] = m->regs[i].list[j];
	qsort(u, n, sizeof *u, member_peer_cmp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || u[k - 1].id != u[i].id)
			u[k++] = u[i];
	n = k;

	int changed = !m->reported || n != m->nview;
	m->reported = true;
	for (size_t i = 0; !changed && i < n; i++)
		changed = u[i].id != m->view[i].id || strcmp(u[i].inbox, m->view_inboxes[i]) != 0;
	if (!changed) {
		free(u);
		return;
	}
	for (size_t i = 0; i < m->nview; i++)
		free(m->view_inboxes[i]);
	free(m->view_inboxes);
	free(m->view);
	m->view = u;
	m->nview = n;
	m->view_inboxes = xcalloc(n + 1, sizeof *m->view_inboxes);
	size_t gw = 0, wk = 0;
	for (size_t i = 0; i < n; i++) {
		m->view_inboxes[i] = xstrdup(u[i].inbox);
		u[i].inbox = m->view_inboxes[i];
		gw += u[i].role == ROLE_GATEWAY;
		wk += u[i].role == ROLE_WORKER;
	}
	/* Counts include ourselves so every process reports the cluster size. */
	gw += m->role == ROLE_GATEWAY;
	wk += m->role == ROLE_WORKER;
	log_info("cluster_view", "gateways=%zu workers=%zu", gw, wk);
	struct member_view view = {n, u};
	m->fn(m->arg, &view);
}

static void
member_on_reply(evutil_socket_t fd, short what, void *arg)
{
	struct member_reg *r = arg;
	nng_msg *msg;
	while (nng_recvmsg(r->sock, &msg, NNG_FLAG_NONBLOCK) == 0) {
		struct proto_msg pm;
		if (proto_decode(nng_msg_body(msg), nng_msg_len(msg), &pm) != 0 ||
			pm.type != PROTO_MEMBERS) {
			log_warn("register_bad_reply", "register=%s", r->url);
			nng_msg_free(msg);
			continue;
		}
		struct proto_members *ms = &pm.u.members;
		r->answered = true;
		/* Always take the list: a restarted register may reuse version
		 * numbers, and member_rebuild reports only real changes. */
		{
			member_free_list(r->list, r->n);
			r->list = xcalloc(ms->n + 1, sizeof *r->list);
			r->n = ms->n;
			for (size_t i = 0; i < ms->n; i++) {
				r->list[i].role = ms->v[i].role;
				r->list[i].id = ms->v[i].id;
				r->list[i].inbox = xstrndup(ms->v[i].inbox.p, ms->v[i].inbox.n);
			}
			r->version = ms->version;
			member_rebuild(r->owner);
		}
		proto_msg_fini(&pm);
		nng_msg_free(msg);
	}
}

static void
member_announce(struct member *m, int leaving)
{
	struct proto_msg pm;
	struct buf b = BUF_INIT;
	memset(&pm, 0, sizeof pm);
	pm.type = PROTO_ANNOUNCE;
	pm.u.announce.self.role = m->role;
	pm.u.announce.self.id = m->id;
	pm.u.announce.self.inbox = pstr_c(m->inbox);
	pm.u.announce.lease_ms = m->lease_ms;
	pm.u.announce.leaving = leaving;
	proto_encode(&pm, &b);
	for (size_t i = 0; i < m->nregs; i++) {
		nng_msg *msg;
		if (nng_msg_alloc(&msg, b.len) != 0)
			abort();
		memcpy(nng_msg_body(msg), b.p, b.len);
		/* A new request cancels an unanswered one: at most one in flight. */
		if (nng_sendmsg(m->regs[i].sock, msg, leaving ? 0 : NNG_FLAG_NONBLOCK) != 0)
			nng_msg_free(msg);
	}
	buf_fini(&b);
}

/* Ticks fast (MEMBER_FAST_MS) so that joining takes one round trip once a
 * register is up, but announces at the renew period once every register
 * has answered. */
static void
member_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct member *m = arg;
	uint64_t now = clock_ms();
	bool waiting = false;
	for (size_t i = 0; i < m->nregs; i++)
		waiting |= !m->regs[i].answered;
	if (now - m->last_announce >= m->renew_ms || (waiting && now - m->last_announce >= MEMBER_FAST_MS)) {
		m->last_announce = now;
		member_announce(m, 0);
	}
}

struct member *
member_new(struct event_base *base, const struct config *c, uint8_t role, uint64_t id,
	const char *inbox, member_view_fn *fn, void *arg, int *err)
{
	struct member *m = xcalloc(1, sizeof *m);
	const char *urls = c->register_connect[0] ? c->register_connect : c->register_listen;
	char *copy = xstrdup(urls), *save = NULL;
	int rc = 0;

	m->role = role;
	m->id = id;
	m->inbox = xstrdup(inbox);
	m->lease_ms = c->register_lease_ms;
	m->fn = fn;
	m->arg = arg;
	m->regs = xcalloc(strlen(urls) / 2 + 2, sizeof *m->regs);
	for (char *u = strtok_r(copy, ", ", &save); u != NULL; u = strtok_r(NULL, ", ", &save)) {
		struct member_reg *r = &m->regs[m->nregs];
		int fd;
		r->owner = m;
		r->url = xstrdup(u);
		if ((rc = nng_req0_open(&r->sock)) != 0) {
			free(r->url);
			goto fail;
		}
		m->nregs++;
		nng_socket_set_ms(r->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
		nng_socket_set_ms(r->sock, NNG_OPT_RECONNMINT, 50);
		nng_socket_set_ms(r->sock, NNG_OPT_RECONNMAXT, 1000);
		nng_socket_set_ms(r->sock, NNG_OPT_SENDTIMEO, 200);
		if ((rc = nng_dial(r->sock, u, NULL, NNG_FLAG_NONBLOCK)) != 0)
			goto fail;
		if ((rc = nng_socket_get_int(r->sock, NNG_OPT_RECVFD, &fd)) != 0)
			goto fail;
		r->rx = event_new(base, fd, EV_READ | EV_PERSIST, member_on_reply, r);
		event_add(r->rx, NULL);
	}
	free(copy);
	copy = NULL;
	if (m->nregs == 0) {
		rc = NNG_EADDRINVAL;
		goto fail;
	}
	m->tick = event_new(base, -1, EV_PERSIST, member_on_tick, m);
	m->renew_ms = c->register_renew_ms;
	struct timeval tv = {0, MEMBER_FAST_MS * 1000};
	event_add(m->tick, &tv);
	m->last_announce = clock_ms();
	member_announce(m, 0);
	return m;
fail:
	free(copy);
	*err = -rc;
	member_free(m);
	return NULL;
}

void
member_leave(struct member *m)
{
	if (m != NULL)
		member_announce(m, 1);
}

void
member_free(struct member *m)
{
	if (m == NULL)
		return;
	if (m->tick != NULL)
		event_free(m->tick);
	for (size_t i = 0; i < m->nregs; i++) {
		struct member_reg *r = &m->regs[i];
		if (r->rx != NULL)
			event_free(r->rx);
		nng_close(r->sock);
		member_free_list(r->list, r->n);
		free(r->url);
	}
	for (size_t i = 0; i < m->nview; i++)
		free(m->view_inboxes[i]);
	free(m->view_inboxes);
	free(m->view);
	free(m->regs);
	free(m->inbox);
	free(m);
}
