/*
 * gatecast-register — discovery. Members announce (role, id, inbox) with a
 * lease; each announce is answered with the live list. Carries no client
 * traffic, keeps no state that cannot be rebuilt from the next round of
 * announces, so restarting it costs nothing.
 *
 * An announce that does not open with the cluster's seal (cluster.h) is
 * dropped without an answer: a process without cluster.secret learns
 * nothing, not even the member list. Answers are sealed for the announcing
 * process alone.
 */
#include <event2/event.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "cluster/cluster.h"
#include "common/log.h"
#include "cluster/notify.h"
#include "common/procstat.h"
#include "cluster/prog.h"
#include "common/xmalloc.h"
#include "proto/msg.h"
#include "register/registry.h"

#define REGISTER_MAX_MEMBERS 4096
#define REGISTER_MAX_MESSAGE 4096

struct reg {
	struct prog prog;
	uint64_t started; /* wall clock ms */
	char host[64];
	struct registry *table;
	nng_socket sock;
	struct event *rx, *sweep;
};

static void
reg_log_member(const char *event, const struct registry_member *m)
{
	log_info(event, "member=%016llx member_role=%s inbox=%s", (unsigned long long)m->id,
		m->role == ROLE_GATEWAY ? "gateway" : "worker", m->inbox);
}

/* Seals b for sender `to` and sends it as the answer to its request. */
static void
reg_send(struct reg *r, const struct buf *b, uint64_t to)
{
	nng_msg *msg;
	if (nng_msg_alloc(&msg, b->len) != 0)
		abort();
	memcpy(nng_msg_body(msg), b->p, b->len);
	char name[CLUSTER_TO_MAX];
	cluster_to_member(name, to);
	cluster_seal(r->prog.cluster, msg, name);
	if (nng_sendmsg(r->sock, msg, NNG_FLAG_NONBLOCK) != 0)
		nng_msg_free(msg);
}

/* Answers an announce with the list: live members and tombstones. */
static void
reg_reply(struct reg *r, uint64_t to)
{
	size_t n = registry_count(r->table);
	struct proto_member *v = xcalloc(n + 1, sizeof *v);
	struct proto_msg pm;
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		const struct registry_member *m = registry_at(r->table, i);
		v[i].role = m->role;
		v[i].id = m->id;
		v[i].inbox = pstr_c(m->inbox);
		v[i].left = m->left;
	}
	memset(&pm, 0, sizeof pm);
	pm.type = PROTO_MEMBERS;
	pm.u.members.version = registry_version(r->table);
	pm.u.members.n = (uint32_t)n;
	pm.u.members.v = v;
	proto_encode(&pm, &b);
	free(v);
	reg_send(r, &b, to);
	buf_fini(&b);
}

/* Answers a status query: our own figures and every member's last report
 * (one that left gracefully shows as draining until its tombstone goes). */
static void
reg_status(struct reg *r, uint64_t to)
{
	size_t n = registry_count(r->table), k = 0;
	struct proto_msg pm;
	struct buf b = BUF_INIT;
	memset(&pm, 0, sizeof pm);
	pm.type = PROTO_STATUS;
	pm.u.status.v = xcalloc(n + 1, sizeof *pm.u.status.v);
	for (size_t i = 0; i < n; i++) {
		const struct registry_member *m = registry_at(r->table, i);
		pm.u.status.v[k].role = m->role;
		pm.u.status.v[k].id = m->id;
		if (m->has_stats)
			pm.u.status.v[k].stats = m->stats;
		pm.u.status.v[k].stats.draining |= m->left;
		k++;
	}
	pm.u.status.n = (uint32_t)k;
	struct proto_stats *self = &pm.u.status.self;
	self->pid = (uint32_t)getpid();
	self->host = pstr_c(r->host);
	self->started = r->started;
	self->rss = procstat_rss();
	proto_encode(&pm, &b);
	free(pm.u.status.v);
	reg_send(r, &b, to);
	buf_fini(&b);
}

static void
reg_on_request(evutil_socket_t fd, short what, void *arg)
{
	struct reg *r = arg;
	nng_msg *msg;
	for (int i = 0; i < 256 && nng_recvmsg(r->sock, &msg, NNG_FLAG_NONBLOCK) == 0; i++) {
		struct proto_msg pm;
		uint64_t from;
		if (cluster_open(r->prog.cluster, msg, CLUSTER_TO_REGISTER, r->prog.cfg.register_listen,
			    &from) != 0) {
			nng_msg_free(msg);
			continue;
		}
		int rc = proto_decode(nng_msg_body(msg), nng_msg_len(msg), &pm);
		if (rc == 0 && pm.type == PROTO_STATUS_QUERY) {
			proto_msg_fini(&pm);
			nng_msg_free(msg);
			reg_status(r, from);
			continue;
		}
		if (rc != 0 || pm.type != PROTO_ANNOUNCE) {
			log_warn("bad_announce", "err=%d", rc);
			if (rc == 0)
				proto_msg_fini(&pm);
			nng_msg_free(msg);
			continue;
		}
		const struct proto_announce *a = &pm.u.announce;
		if (a->leaving) {
			if (registry_remove(r->table, a->self.id, a->lease_ms, clock_ms()) == 1)
				log_info("member_left", "member=%016llx",
					(unsigned long long)a->self.id);
		} else {
			rc = registry_announce(r->table, a->self.role, a->self.id, a->self.inbox.p,
				a->self.inbox.n, a->lease_ms, clock_ms());
			if (rc == 1) {
				for (size_t k = 0; k < registry_count(r->table); k++)
					if (registry_at(r->table, k)->id == a->self.id)
						reg_log_member("member_joined", registry_at(r->table, k));
			} else if (rc < 0) {
				log_warn("register_full", "max=%d", REGISTER_MAX_MEMBERS);
			}
			if (a->has_stats)
				registry_set_stats(r->table, a->self.id, &a->stats);
		}
		proto_msg_fini(&pm);
		nng_msg_free(msg);
		reg_reply(r, from);
	}
}

static void
reg_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct reg *r = arg;
	size_t n = registry_expire(r->table, clock_ms());
	if (n > 0)
		log_info("members_expired", "count=%zu live=%zu", n, registry_live(r->table));
}

static void
reg_on_stop(void *arg, int signo)
{
	struct reg *r = arg;
	log_info("stopping", "signal=%d", signo);
	event_base_loopbreak(r->prog.base);
}

int
main(int argc, char **argv)
{
	struct reg r;
	int rc, fd;

	memset(&r, 0, sizeof r);
	prog_init(&r.prog, "register",
		"Usage: gatecast-register [-c gatecast.ini] [--set section.key=value]...\n"
		"Runs the discovery service on register.listen.",
		argc, argv, reg_on_stop, &r);
	r.table = registry_new(REGISTER_MAX_MEMBERS);
	r.started = clock_wall_ms();
	if (gethostname(r.host, sizeof r.host - 1) != 0)
		r.host[0] = '\0';
	if ((rc = cluster_errno(nng_rep0_open(&r.sock))) == 0) {
		/* An announce is a few hundred bytes: refuse anything claiming
		 * more before nng buffers it. */
		nng_socket_set_size(r.sock, NNG_OPT_RECVMAXSZ, REGISTER_MAX_MESSAGE);
		rc = cluster_listen(r.prog.cluster, r.sock, r.prog.cfg.register_listen);
	}
	if (rc != 0) {
		log_error("listen_failed", "url=%s err=\"%s\"", r.prog.cfg.register_listen,
			strerror(-rc));
		return 1;
	}
	nng_socket_get_int(r.sock, NNG_OPT_RECVFD, &fd);
	r.rx = event_new(r.prog.base, fd, EV_READ | EV_PERSIST, reg_on_request, &r);
	event_add(r.rx, NULL);
	r.sweep = event_new(r.prog.base, -1, EV_PERSIST, reg_on_sweep, &r);
	struct timeval tv = {0, 250000};
	event_add(r.sweep, &tv);
	log_info("ready", "listen=%s", r.prog.cfg.register_listen);
	notify_send("READY=1");

	event_base_dispatch(r.prog.base);

	event_free(r.rx);
	event_free(r.sweep);
	/* No nng_close here: nng 1.5.2 can hang in it when members are
	 * closing their pipes at the same moment (reproduced: SIGTERM the
	 * register and six members together, about 1 time in 6). The process
	 * is exiting; the kernel closes the socket. */
	registry_free(r.table);
	prog_fini(&r.prog);
	log_info("stopped", NULL);
	return 0;
}
