/*
 * member — see member.h. One nng req0 socket per register; the reply to each
 * announce is the register's full live list, so a renewal doubles as the
 * "tell me of changes" poll (changes reach members within one renew period).
 * Until a register has answered, announces repeat every MEMBER_FAST_MS, so
 * joining takes one round trip once the register is up.
 */
#include "cluster/member.h"

#include <errno.h>
#include <event2/event.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "cluster/cluster.h"
#include "common/config.h"
#include "common/log.h"
#include "cluster/notify.h"
#include "common/procstat.h"
#include "common/xmalloc.h"
#include "proto/msg.h"

#define MEMBER_FAST_MS 50

struct member_reg {
	struct member *owner;
	bool answered; /* has replied at least once: renew slowly from then on */
	bool warned;   /* register_unanswered was logged since its last answer */
	uint64_t heard; /* when it last answered, or when we started asking */
	nng_socket sock;
	struct event *rx;
	char *url;
};

/* A peer some register listed, and when it last did. */
struct member_known {
	uint8_t role;
	uint64_t id;
	char *inbox;
	uint64_t seen;
};

struct member {
	struct cluster *cl;
	char to[CLUSTER_TO_MAX]; /* the name the registers seal their answers for */
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
	struct member_known *known; /* sorted by id */
	size_t nknown, capknown;
	uint64_t last_reply; /* when any register last answered */
	bool changed;  /* known changed since the last report */
	bool reported; /* the first view (even an empty one) was reported */
	bool joined;   /* a register has listed us: readiness was reported */
	bool gone;     /* member_leave was called: announce no more */
	member_stats_fn *stats_fn;
	void *stats_arg;
	uint64_t started;      /* wall clock ms */
	uint64_t last_pushes;  /* for push_rate */
	uint64_t last_stats_ms;
	uint32_t push_rate;
	char host[64];
};

static int
member_known_cmp(const void *a, const void *b)
{
	const struct member_known *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Records that a register listed (role, id, inbox) now. */
static void
member_saw(struct member *m, uint8_t role, uint64_t id, struct pstr inbox, uint64_t now)
{
	struct member_known key = {0, id, NULL, 0};
	struct member_known *k = m->nknown == 0 ? NULL :
		bsearch(&key, m->known, m->nknown, sizeof *m->known, member_known_cmp);
	if (k != NULL) {
		k->seen = now;
		if (k->role != role || !pstr_eq_c(inbox, k->inbox)) {
			free(k->inbox);
			k->inbox = xstrndup(inbox.p, inbox.n);
			k->role = role;
			m->changed = true;
		}
		return;
	}
	if (m->nknown == m->capknown) {
		m->capknown = m->capknown ? m->capknown * 2 : 16;
		m->known = xrealloc(m->known, m->capknown * sizeof *m->known);
	}
	k = &m->known[m->nknown++];
	k->role = role;
	k->id = id;
	k->inbox = xstrndup(inbox.p, inbox.n);
	k->seen = now;
	qsort(m->known, m->nknown, sizeof *m->known, member_known_cmp);
	m->changed = true;
}

/* Forgets a peer that left gracefully. */
static void
member_forget(struct member *m, uint64_t id)
{
	for (size_t i = 0; i < m->nknown; i++) {
		if (m->known[i].id == id) {
			free(m->known[i].inbox);
			memmove(&m->known[i], &m->known[i + 1], (m->nknown - i - 1) * sizeof *m->known);
			m->nknown--;
			m->changed = true;
			return;
		}
	}
}

/* Forgets peers no register has listed for a lease, and reports the view
 * when it changed. The grace means a restarted register, which lists
 * members only as they re-announce, causes no churn; a dead peer is routed
 * around sooner anyway, when its link breaks (peers.h). */
static void
member_refresh(struct member *m, uint64_t now)
{
	/* With no register answering there is nobody to tell us who left:
	 * keep the view as it is. */
	bool registers_alive = m->last_reply != 0 && now - m->last_reply <= m->lease_ms;
	size_t k = 0;
	for (size_t i = 0; i < m->nknown; i++) {
		if (registers_alive && now - m->known[i].seen > m->lease_ms) {
			free(m->known[i].inbox);
			m->changed = true;
		} else {
			m->known[k++] = m->known[i];
		}
	}
	m->nknown = k;
	if (!m->changed && m->reported)
		return;
	m->changed = false;
	m->reported = true;
	struct member_peer *v = xcalloc(m->nknown + 1, sizeof *v);
	size_t gw = m->role == ROLE_GATEWAY, wk = m->role == ROLE_WORKER;
	for (size_t i = 0; i < m->nknown; i++) {
		v[i].role = m->known[i].role;
		v[i].id = m->known[i].id;
		v[i].inbox = m->known[i].inbox;
		gw += v[i].role == ROLE_GATEWAY;
		wk += v[i].role == ROLE_WORKER;
	}
	/* Counts include ourselves so every process reports the cluster size. */
	log_info("cluster_view", "gateways=%zu workers=%zu", gw, wk);
	struct member_view view = {m->nknown, v};
	m->fn(m->arg, &view);
	free(v);
}

static void
member_on_reply(evutil_socket_t fd, short what, void *arg)
{
	struct member_reg *r = arg;
	struct member *m = r->owner;
	nng_msg *msg;
	while (nng_recvmsg(r->sock, &msg, NNG_FLAG_NONBLOCK) == 0) {
		struct proto_msg pm;
		uint64_t from;
		if (cluster_open(m->cl, msg, m->to, r->url, &from) != 0) {
			nng_msg_free(msg);
			continue;
		}
		if (proto_decode(nng_msg_body(msg), nng_msg_len(msg), &pm) != 0 ||
			pm.type != PROTO_MEMBERS) {
			log_warn("register_bad_reply", "register=%s", r->url);
			nng_msg_free(msg);
			continue;
		}
		uint64_t now = clock_ms();
		r->answered = true;
		r->heard = now;
		if (r->warned) {
			log_info("register_answered", "register=%s", r->url);
			r->warned = false;
		}
		if (m->last_reply != 0 && now - m->last_reply > m->lease_ms) {
			/* The registers were silent (restarting?): give every known
			 * peer a lease to re-announce before it counts as gone. */
			for (size_t i = 0; i < m->nknown; i++)
				m->known[i].seen = now;
		}
		m->last_reply = now;
		for (uint32_t i = 0; i < pm.u.members.n; i++) {
			const struct proto_member *pmm = &pm.u.members.v[i];
			if (pmm->id == m->id)
				continue;
			if (pmm->left)
				member_forget(m, pmm->id);
			else
				member_saw(m, pmm->role, pmm->id, pmm->inbox, now);
		}
		proto_msg_fini(&pm);
		nng_msg_free(msg);
		member_refresh(m, now);
		if (!m->joined) {
			/* The register lists us from this answer on: peers learn of
			 * us within one renew period. That is "ready". */
			m->joined = true;
			notify_send("READY=1");
		}
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
	if (!leaving) {
		struct proto_stats *st = &pm.u.announce.stats;
		uint64_t now = clock_ms();
		pm.u.announce.has_stats = true;
		if (m->stats_fn != NULL)
			m->stats_fn(m->stats_arg, st);
		st->pid = (uint32_t)getpid();
		st->host = pstr_c(m->host);
		st->started = m->started;
		st->rss = procstat_rss();
		/* Over at least half a second: fast announces (joining, pokes)
		 * would make a noisy rate. */
		if (m->last_stats_ms == 0 || now - m->last_stats_ms >= 500) {
			if (m->last_stats_ms != 0 && st->pushes >= m->last_pushes)
				m->push_rate = (uint32_t)((st->pushes - m->last_pushes) * 1000 /
							  (now - m->last_stats_ms));
			m->last_pushes = st->pushes;
			m->last_stats_ms = now;
		}
		st->push_rate = m->push_rate;
	}
	proto_encode(&pm, &b);
	for (size_t i = 0; i < m->nregs; i++) {
		nng_msg *msg;
		if (nng_msg_alloc(&msg, b.len) != 0)
			abort();
		memcpy(nng_msg_body(msg), b.p, b.len);
		cluster_seal(m->cl, msg, CLUSTER_TO_REGISTER);
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
	if (m->gone) {
		/* Left: keep listening to the registers (the view still
		 * updates) but never announce again. */
	} else if (now - m->last_announce >= m->renew_ms ||
		(waiting && now - m->last_announce >= MEMBER_FAST_MS)) {
		m->last_announce = now;
		member_announce(m, 0);
	}
	for (size_t i = 0; i < m->nregs; i++) {
		struct member_reg *r = &m->regs[i];
		if (!r->warned && !m->gone && now - r->heard > m->lease_ms) {
			log_warn("register_unanswered",
				"register=%s silent_ms=%llu hint=\"is it running and reachable, do the "
				"certificates verify (tls+tcp://), and does it hold the same "
				"cluster.secret? (its log shows event=cluster_message_refused if not)\"",
				r->url, (unsigned long long)(now - r->heard));
			r->warned = true;
		}
	}
	member_refresh(m, now);
}

struct member *
member_new(struct event_base *base, struct cluster *cl, const struct config *c, uint8_t role,
	uint64_t id, const char *inbox, member_view_fn *fn, void *arg, int *err)
{
	struct member *m = xcalloc(1, sizeof *m);
	const char *urls = c->register_connect[0] ? c->register_connect : c->register_listen;
	char *copy = xstrdup(urls), *save = NULL;
	int rc = 0;

	m->cl = cl;
	m->started = clock_wall_ms();
	if (gethostname(m->host, sizeof m->host - 1) != 0)
		m->host[0] = '\0';
	cluster_to_member(m->to, cluster_id(cl));
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
		r->heard = clock_ms();
		if ((rc = cluster_errno(nng_req0_open(&r->sock))) != 0) {
			free(r->url);
			goto fail;
		}
		m->nregs++;
		nng_socket_set_ms(r->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
		nng_socket_set_ms(r->sock, NNG_OPT_RECONNMINT, 50);
		nng_socket_set_ms(r->sock, NNG_OPT_RECONNMAXT, 1000);
		nng_socket_set_ms(r->sock, NNG_OPT_SENDTIMEO, 200);
		if ((rc = cluster_dial(cl, r->sock, u, NNG_FLAG_NONBLOCK)) != 0)
			goto fail;
		if ((rc = cluster_errno(nng_socket_get_int(r->sock, NNG_OPT_RECVFD, &fd))) != 0)
			goto fail;
		r->rx = event_new(base, fd, EV_READ | EV_PERSIST, member_on_reply, r);
		event_add(r->rx, NULL);
	}
	free(copy);
	copy = NULL;
	if (m->nregs == 0) {
		rc = -EINVAL;
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
	*err = rc;
	member_free(m);
	return NULL;
}

void
member_leave(struct member *m)
{
	if (m == NULL)
		return;
	m->gone = true;
	member_announce(m, 1);
	/* Wait (briefly) for each answer, so the request is complete before the
	 * socket closes: the registers drop us at once, and nng holds no
	 * request of ours at exit. */
	for (size_t i = 0; i < m->nregs; i++) {
		nng_msg *msg;
		nng_socket_set_ms(m->regs[i].sock, NNG_OPT_RECVTIMEO, 200);
		if (nng_recvmsg(m->regs[i].sock, &msg, 0) == 0)
			nng_msg_free(msg);
	}
}

void
member_set_stats(struct member *m, member_stats_fn *fn, void *arg)
{
	m->stats_fn = fn;
	m->stats_arg = arg;
}

void
member_poke(struct member *m)
{
	uint64_t now = clock_ms();
	if (!m->gone && now - m->last_announce >= MEMBER_FAST_MS) {
		m->last_announce = now;
		member_announce(m, 0);
	}
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
		free(r->url);
	}
	for (size_t i = 0; i < m->nknown; i++)
		free(m->known[i].inbox);
	free(m->known);
	free(m->regs);
	free(m->inbox);
	free(m);
}
