/*
 * gcload — a load generator for WebSocket push servers (gatecast, and
 * others driven alike: bench/README.md).
 *
 * The parent forks the load processes (fleet.c), each with a share of the
 * clients, and is itself the backend: it publishes (publish.c) on the
 * same libevent loop that reads the children's reports from pipes
 * (ctl.c). Scenarios:
 *   idle       connect a base number of clients, read the servers' memory,
 *              connect the rest, read it again: bytes per connection
 *   connect    connect every client at once: handshakes + logins per second
 *   unicast    open-loop pushes at a fixed rate to random clients for a
 *              while: latency percentiles, lost, misrouted, duplicated
 *   broadcast  back-to-back broadcasts to every client: deliveries per
 *              second, time to the last delivery
 * One JSON line on stdout per run; what a person reads goes to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bench/ctl.h"
#include "bench/fleet.h"
#include "bench/hist.h"
#include "bench/procmem.h"
#include "bench/publish.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/xmalloc.h"

#define MAX_PROCS 64
#define MAX_PIDS 32

struct opts {
	const char *scenario;
	const char *label;
	char ws_host[64];
	uint16_t ws_port;
	const char *path;
	enum fleet_login login;
	const char *token_secret;
	const char *uid_prefix;
	uint32_t clients;
	unsigned procs;
	unsigned sources;
	unsigned concurrency;
	double timeout;
	enum publish_mode pub_mode;
	char pub_host[64];
	uint16_t pub_port;
	unsigned pub_conns;
	const char *pub_path;
	const char *group;
	double rate;
	double duration;
	double drain;
	uint32_t broadcasts;
	uint32_t base;
	double settle;
	pid_t pids[MAX_PIDS];
	size_t npids;
	const char *pid_name;
};

struct child {
	pid_t pid;
	int cmd_fd;   /* parent → child */
	int rep_fd;   /* child → parent */
	struct event *ev;
	struct ctl_reader rd;
	uint32_t first, count;
	bool got;     /* answered the awaited kind */
	struct fleet_connected conn;
	uint64_t bcast_t_last;
	struct fleet_stats stats;
	uint8_t *seen;
};

struct load {
	struct opts o;
	struct event_base *base;
	struct child ch[MAX_PROCS];
	unsigned n;
	uint32_t awaited;
	bool failed;      /* a child died */
	/* unicast pacing */
	struct publisher *pub;
	struct event *tick;
	uint64_t t0, total, next_seq, lag_max;
	uint64_t rng;
};

static __attribute__((format(printf, 1, 2))) void
say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

static _Noreturn __attribute__((format(printf, 1, 2))) void
die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "gcload: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void
usage(FILE *to)
{
	fprintf(to,
		"usage: gcload idle|connect|unicast|broadcast [options]\n"
		"clients:\n"
		"  --server HOST:PORT    WebSocket address (127.0.0.1:7272)\n"
		"  --path TEMPLATE       upgrade path, %%u = uid, %%t = token (/?uid=%%u)\n"
		"  --login MODE          query: the URL logs in, wait for the login reply;\n"
		"                        message: wait for welcome, send {\"type\":\"login\",...};\n"
		"                        none: ready at the 101 (nchan) (query)\n"
		"  --token-secret S      sign HS256 tokens for %%t and login messages\n"
		"                        (or GCLOAD_TOKEN_SECRET)\n"
		"  --uid-prefix P        uid of client i is P<i> (u)\n"
		"  -n, --clients N       clients (1000)\n"
		"  -P, --procs N         load processes (ceil(N/10000), at least 2)\n"
		"  --sources N           source addresses 127.0.0.1..127.0.0.N (4)\n"
		"  --concurrency N       handshakes in flight per process (256)\n"
		"  --timeout S           connect + upgrade + login deadline (10)\n"
		"publisher:\n"
		"  --publish MODE        push: JSON lines (gatecast push port, bench/node);\n"
		"                        http: gatecast's POST /api/...; nchan: POST per push (push)\n"
		"  --push HOST:PORT      where to publish (127.0.0.1:8806)\n"
		"  --pub-conns N         publisher connections (2)\n"
		"  --pub-path TEMPLATE   nchan publisher path, %%u = channel (/pub/%%u)\n"
		"  --group NAME          broadcast with send_to_group NAME (nchan: channel NAME)\n"
		"                        instead of send_to_all (nchan: channel all)\n"
		"unicast:\n"
		"  -r, --rate R          pushes per second, open loop (2000)\n"
		"  -t, --duration S      seconds of pushing (5)\n"
		"  --drain S             wait after the last answer before counting (1)\n"
		"broadcast:\n"
		"  -k, --broadcasts K    broadcasts, back to back (100)\n"
		"idle:\n"
		"  --base N              clients at the first memory reading (clients/10)\n"
		"  --settle S            wait before each reading (2)\n"
		"  --pid PID             a server process; its descendants count too (repeatable)\n"
		"  --pid-name PREFIX     every process whose name starts with PREFIX, and descendants\n"
		"output:\n"
		"  --label TEXT          copied into the JSON line\n");
}

static void
parse_hostport(const char *s, char *host, size_t cap, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	if (colon == NULL || (size_t)(colon - s) >= cap)
		die("not HOST:PORT: %s", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (uint16_t)atoi(colon + 1);
}

static void
parse_opts(struct opts *o, int argc, char **argv)
{
	*o = (struct opts){
		.label = "",
		.path = "/?uid=%u",
		.login = FLEET_LOGIN_QUERY,
		.token_secret = getenv("GCLOAD_TOKEN_SECRET"),
		.uid_prefix = "u",
		.clients = 1000,
		.sources = 4,
		.concurrency = 256,
		.timeout = 10,
		.pub_mode = PUBLISH_PUSH,
		.pub_conns = 2,
		.pub_path = "/pub/%u",
		.rate = 2000,
		.duration = 5,
		.drain = 1,
		.broadcasts = 100,
		.base = UINT32_MAX,
		.settle = 2,
	};
	strcpy(o->ws_host, "127.0.0.1");
	o->ws_port = 7272;
	strcpy(o->pub_host, "127.0.0.1");
	o->pub_port = 8806;
	enum { OPT_SERVER = 256, OPT_PATH, OPT_LOGIN, OPT_TOKEN, OPT_PREFIX, OPT_SOURCES, OPT_CONC, OPT_TIMEOUT,
		OPT_PUBLISH, OPT_PUSH, OPT_PUBCONNS, OPT_PUBPATH, OPT_GROUP, OPT_DRAIN, OPT_BASE, OPT_SETTLE, OPT_PID,
		OPT_PIDNAME, OPT_LABEL };
	static const struct option lo[] = {
		{"server", 1, 0, OPT_SERVER}, {"path", 1, 0, OPT_PATH}, {"login", 1, 0, OPT_LOGIN},
		{"token-secret", 1, 0, OPT_TOKEN}, {"uid-prefix", 1, 0, OPT_PREFIX},
		{"clients", 1, 0, 'n'}, {"procs", 1, 0, 'P'}, {"sources", 1, 0, OPT_SOURCES},
		{"concurrency", 1, 0, OPT_CONC}, {"timeout", 1, 0, OPT_TIMEOUT},
		{"publish", 1, 0, OPT_PUBLISH}, {"push", 1, 0, OPT_PUSH}, {"pub-conns", 1, 0, OPT_PUBCONNS},
		{"pub-path", 1, 0, OPT_PUBPATH}, {"group", 1, 0, OPT_GROUP}, {"rate", 1, 0, 'r'},
		{"duration", 1, 0, 't'}, {"drain", 1, 0, OPT_DRAIN}, {"broadcasts", 1, 0, 'k'},
		{"base", 1, 0, OPT_BASE}, {"settle", 1, 0, OPT_SETTLE}, {"pid", 1, 0, OPT_PID},
		{"pid-name", 1, 0, OPT_PIDNAME}, {"label", 1, 0, OPT_LABEL}, {"help", 0, 0, 'h'},
		{0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "n:P:r:t:k:h", lo, NULL)) != -1) {
		switch (c) {
		case OPT_SERVER: parse_hostport(optarg, o->ws_host, sizeof(o->ws_host), &o->ws_port); break;
		case OPT_PATH: o->path = optarg; break;
		case OPT_LOGIN:
			if (strcmp(optarg, "query") == 0)
				o->login = FLEET_LOGIN_QUERY;
			else if (strcmp(optarg, "message") == 0)
				o->login = FLEET_LOGIN_MESSAGE;
			else if (strcmp(optarg, "none") == 0)
				o->login = FLEET_LOGIN_NONE;
			else
				die("--login is query, message or none");
			break;
		case OPT_TOKEN: o->token_secret = optarg; break;
		case OPT_PREFIX: o->uid_prefix = optarg; break;
		case 'n': o->clients = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'P': o->procs = (unsigned)atoi(optarg); break;
		case OPT_SOURCES: o->sources = (unsigned)atoi(optarg); break;
		case OPT_CONC: o->concurrency = (unsigned)atoi(optarg); break;
		case OPT_TIMEOUT: o->timeout = atof(optarg); break;
		case OPT_PUBLISH:
			if (strcmp(optarg, "push") == 0)
				o->pub_mode = PUBLISH_PUSH;
			else if (strcmp(optarg, "http") == 0)
				o->pub_mode = PUBLISH_HTTP;
			else if (strcmp(optarg, "nchan") == 0)
				o->pub_mode = PUBLISH_NCHAN;
			else
				die("--publish is push, http or nchan");
			break;
		case OPT_PUSH: parse_hostport(optarg, o->pub_host, sizeof(o->pub_host), &o->pub_port); break;
		case OPT_PUBCONNS: o->pub_conns = (unsigned)atoi(optarg); break;
		case OPT_PUBPATH: o->pub_path = optarg; break;
		case OPT_GROUP: o->group = optarg; break;
		case 'r': o->rate = atof(optarg); break;
		case 't': o->duration = atof(optarg); break;
		case OPT_DRAIN: o->drain = atof(optarg); break;
		case 'k': o->broadcasts = (uint32_t)strtoul(optarg, NULL, 10); break;
		case OPT_BASE: o->base = (uint32_t)strtoul(optarg, NULL, 10); break;
		case OPT_SETTLE: o->settle = atof(optarg); break;
		case OPT_PID:
			if (o->npids == MAX_PIDS)
				die("at most %d --pid", MAX_PIDS);
			o->pids[o->npids++] = (pid_t)atoi(optarg);
			break;
		case OPT_PIDNAME: o->pid_name = optarg; break;
		case OPT_LABEL: o->label = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		exit(2);
	}
	o->scenario = argv[optind];
	if (strcmp(o->scenario, "idle") != 0 && strcmp(o->scenario, "connect") != 0 &&
		strcmp(o->scenario, "unicast") != 0 && strcmp(o->scenario, "broadcast") != 0)
		die("unknown scenario %s", o->scenario);
	if (o->clients == 0 || o->sources == 0 || o->sources > 254 || o->concurrency == 0 ||
		o->pub_conns == 0 || o->rate <= 0)
		die("--clients, --sources (1..254), --concurrency, --pub-conns and --rate must be positive");
	if (o->procs == 0)
		o->procs = o->clients / 10000 + (o->clients % 10000 != 0);
	if (o->procs < 2)
		o->procs = 2;
	if (o->procs > o->clients)
		o->procs = o->clients;
	if (o->procs > MAX_PROCS)
		die("at most %d processes", MAX_PROCS);
	if (o->base == UINT32_MAX)
		o->base = o->clients / 10;
	if (o->base > o->clients)
		o->base = o->clients;
	if (strcmp(o->scenario, "idle") == 0 && o->npids == 0 && o->pid_name == NULL)
		die("idle needs --pid or --pid-name: whose memory to read");
}

/* The load processes need one fd per client: take the hard limit. */
static void
raise_nofile(uint32_t per_proc)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur != RLIM_INFINITY && per_proc + 64 > rl.rlim_cur)
			die("%u clients per process need more than the fd limit %llu: raise --procs",
				per_proc, (unsigned long long)rl.rlim_cur);
	}
}

static void child_cb(evutil_socket_t fd, short what, void *arg);

static void
spawn(struct load *L)
{
	const struct opts *o = &L->o;
	uint64_t max_seq = strcmp(o->scenario, "unicast") == 0
		? (uint64_t)ceil(o->rate * o->duration) + 1 : 1;
	uint32_t first = 0;
	L->n = o->procs;
	for (unsigned i = 0; i < L->n; i++) {
		struct child *c = &L->ch[i];
		c->first = first;
		c->count = o->clients / L->n + (i < o->clients % L->n);
		first += c->count;
		int down[2], up[2];
		if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0)
			die("pipe: %s", strerror(errno));
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			for (unsigned j = 0; j < i; j++) {
				close(L->ch[j].cmd_fd);
				close(L->ch[j].rep_fd);
			}
			close(down[1]);
			close(up[0]);
			struct fleet_opts fo = {
				.host = o->ws_host, .port = o->ws_port, .path = o->path, .login = o->login,
				.token_secret = o->token_secret, .uid_prefix = o->uid_prefix,
				.sources = o->sources, .first = c->first, .count = c->count,
				.concurrency = o->concurrency, .max_seq = max_seq,
				.timeout_ns = (uint64_t)(o->timeout * 1e9),
			};
			_exit(fleet_run(&fo, down[0], up[1]));
		}
		close(down[0]);
		close(up[1]);
		c->pid = pid;
		c->cmd_fd = down[1];
		c->rep_fd = up[0];
		fcntl(c->rep_fd, F_SETFL, fcntl(c->rep_fd, F_GETFL) | O_NONBLOCK);
	}
}

static void
child_cb(evutil_socket_t fd, short what, void *arg)
{
	struct load *L = arg;
	struct child *c = NULL;
	for (unsigned i = 0; i < L->n; i++)
		if (L->ch[i].rep_fd == fd)
			c = &L->ch[i];
	int n = ctl_read(&c->rd, fd);
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		say("gcload: load process %d ended early\n", (int)c->pid);
		L->failed = true;
		event_del(c->ev);
		event_base_loopbreak(L->base);
		return;
	}
	uint32_t kind;
	const uint8_t *p;
	size_t len;
	while (ctl_next(&c->rd, &kind, &p, &len)) {
		if (kind == CTL_CONNECTED && len == sizeof(c->conn))
			memcpy(&c->conn, p, len);
		else if (kind == CTL_BCAST_DONE && len == sizeof(uint64_t))
			memcpy(&c->bcast_t_last, p, len);
		else if (kind == CTL_STATS && len >= sizeof(c->stats)) {
			memcpy(&c->stats, p, sizeof(c->stats));
			free(c->seen);
			c->seen = xmemdup(p + sizeof(c->stats), len - sizeof(c->stats));
		}
		if (kind == L->awaited)
			c->got = true;
	}
}

static void
send_all(struct load *L, uint32_t kind, const uint32_t *vals)
{
	for (unsigned i = 0; i < L->n; i++)
		if (ctl_send(L->ch[i].cmd_fd, kind, vals ? &vals[i] : NULL, vals ? sizeof(uint32_t) : 0) < 0)
			die("a load process is gone");
}

/* Runs the loop until every child sent kind, or timeout seconds pass.
 * Returns false on the timeout. */
static bool
await(struct load *L, uint32_t kind, double timeout)
{
	L->awaited = kind;
	uint64_t deadline = clock_ns() + (uint64_t)(timeout * 1e9);
	for (;;) {
		bool all = true;
		for (unsigned i = 0; i < L->n; i++)
			all &= L->ch[i].got;
		if (all)
			break;
		if (L->failed)
			die("a load process died");
		if (clock_ns() > deadline)
			return false;
		event_base_loop(L->base, EVLOOP_ONCE);
	}
	for (unsigned i = 0; i < L->n; i++)
		L->ch[i].got = false;
	L->awaited = 0;
	return true;
}

/* A timer that only wakes the loop, so await's deadline is seen. */
static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
}

/* Runs the loop (publisher traffic goes on) for s seconds. */
static void
run_for(struct load *L, double s)
{
	uint64_t end = clock_ns() + (uint64_t)(s * 1e9);
	while (clock_ns() < end)
		event_base_loop(L->base, EVLOOP_ONCE);
}

struct totals {
	uint64_t ready, failed, f_connect, f_upgrade, f_login, f_timeout, t_last_ready;
	int last_errno, last_status;
	struct hist setup;
};

/* Has each child connect `total` of all clients (spread in proportion). */
static struct totals
connect_to(struct load *L, uint32_t total)
{
	uint32_t v[MAX_PROCS];
	for (unsigned i = 0; i < L->n; i++)
		v[i] = (uint32_t)((uint64_t)L->ch[i].count * total / L->o.clients);
	send_all(L, CTL_CONNECT, v);
	if (!await(L, CTL_CONNECTED, L->o.timeout * 2 + total / 500.0))
		die("the clients did not finish connecting in time");
	struct totals t;
	memset(&t, 0, sizeof(t));
	hist_init(&t.setup);
	for (unsigned i = 0; i < L->n; i++) {
		const struct fleet_connected *c = &L->ch[i].conn;
		t.ready += c->ready;
		t.failed += c->failed;
		t.f_connect += c->failed_connect;
		t.f_upgrade += c->failed_upgrade;
		t.f_login += c->failed_login;
		t.f_timeout += c->failed_timeout;
		if (c->t_last_ready > t.t_last_ready)
			t.t_last_ready = c->t_last_ready;
		if (c->last_errno)
			t.last_errno = c->last_errno;
		if (c->last_status)
			t.last_status = c->last_status;
		hist_merge(&t.setup, &c->setup);
	}
	if (t.failed > 0)
		say("gcload: %llu clients failed (connect %llu, upgrade %llu, login %llu, timeout %llu;"
		    " last errno %d (%s), last HTTP status %d)\n",
			(unsigned long long)t.failed, (unsigned long long)t.f_connect,
			(unsigned long long)t.f_upgrade, (unsigned long long)t.f_login,
			(unsigned long long)t.f_timeout, t.last_errno, strerror(t.last_errno),
			t.last_status);
	return t;
}

static void
report_all(struct load *L)
{
	send_all(L, CTL_REPORT, NULL);
	if (!await(L, CTL_STATS, 30))
		die("the load processes did not report");
}

static double
us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void
print_json(struct buf *j)
{
	printf("{%s}\n", j->p);
	fflush(stdout);
}

static void
json_common(struct load *L, struct buf *j, const struct totals *t)
{
	buf_printf(j, "\"scenario\":\"%s\",\"label\":\"%s\",\"clients\":%u,\"procs\":%u,"
		"\"ready\":%llu,\"failed\":%llu", L->o.scenario, L->o.label, L->o.clients, L->n,
		(unsigned long long)t->ready, (unsigned long long)t->failed);
}

static void
json_hist(struct buf *j, const char *name, const struct hist *h)
{
	buf_printf(j, ",\"%s\":{\"count\":%llu,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
		"\"p999_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f}", name,
		(unsigned long long)h->count, us(hist_quantile(h, 0.5)), us(hist_quantile(h, 0.9)),
		us(hist_quantile(h, 0.99)), us(hist_quantile(h, 0.999)), us(h->max),
		h->count ? us(h->sum / h->count) : 0.0);
}

static int
run_idle(struct load *L)
{
	struct procmem pm;
	if (procmem_find(&pm, L->o.pids, L->o.npids, L->o.pid_name) < 0)
		die("no server process found to measure");
	struct totals t1 = {0};
	if (L->o.base > 0)
		t1 = connect_to(L, L->o.base);
	run_for(L, L->o.settle);
	struct procmem_sample m1 = procmem_read(&pm);
	say("gcload: %llu clients, %u server processes: Pss %.1f MB, RSS %.1f MB\n",
		(unsigned long long)t1.ready, m1.procs, m1.pss / 1e6, m1.rss / 1e6);
	struct totals t2 = connect_to(L, L->o.clients);
	run_for(L, L->o.settle);
	struct procmem_sample m2 = procmem_read(&pm);
	say("gcload: %llu clients, %u server processes: Pss %.1f MB, RSS %.1f MB\n",
		(unsigned long long)t2.ready, m2.procs, m2.pss / 1e6, m2.rss / 1e6);
	/* clients the server may have closed meanwhile */
	report_all(L);
	uint64_t open = 0;
	for (unsigned i = 0; i < L->n; i++)
		open += L->ch[i].stats.ready;
	double d = (double)t2.ready - (double)t1.ready;
	double per_pss = d > 0 ? ((double)m2.pss - (double)m1.pss) / d : 0;
	double per_rss = d > 0 ? ((double)m2.rss - (double)m1.rss) / d : 0;
	say("gcload: idle: %.0f bytes per connection (Pss), %.0f (RSS), marginal from %llu to %llu"
	    " clients, %u processes\n", per_pss, per_rss, (unsigned long long)t1.ready,
		(unsigned long long)t2.ready, m2.procs);
	struct buf j = BUF_INIT;
	json_common(L, &j, &t2);
	buf_printf(&j, ",\"base\":%llu,\"open_at_end\":%llu,\"server_procs\":%u,\"pss_base\":%llu,"
		"\"pss\":%llu,\"rss_base\":%llu,\"rss\":%llu,\"bytes_per_conn\":%.0f,"
		"\"bytes_per_conn_rss\":%.0f",
		(unsigned long long)t1.ready, (unsigned long long)open, m2.procs,
		(unsigned long long)m1.pss, (unsigned long long)m2.pss, (unsigned long long)m1.rss,
		(unsigned long long)m2.rss, per_pss, per_rss);
	print_json(&j);
	buf_fini(&j);
	return t2.failed > 0 || open != t2.ready;
}

static int
run_connect(struct load *L)
{
	uint64_t t0 = clock_ns();
	struct totals t = connect_to(L, L->o.clients);
	double secs = t.t_last_ready > t0 ? (double)(t.t_last_ready - t0) / 1e9 : 0;
	double rate = secs > 0 ? (double)t.ready / secs : 0;
	say("gcload: connect: %llu clients ready in %.3f s: %.0f handshakes + logins per second;"
	    " setup p50 %.0f µs, p99 %.0f µs\n", (unsigned long long)t.ready, secs, rate,
		us(hist_quantile(&t.setup, 0.5)), us(hist_quantile(&t.setup, 0.99)));
	struct buf j = BUF_INIT;
	json_common(L, &j, &t);
	buf_printf(&j, ",\"seconds\":%.4f,\"per_second\":%.0f", secs, rate);
	json_hist(&j, "setup", &t.setup);
	print_json(&j);
	buf_fini(&j);
	return t.failed > 0;
}

static uint64_t
rand_next(struct load *L)
{
	/* xorshift64* */
	L->rng ^= L->rng >> 12;
	L->rng ^= L->rng << 25;
	L->rng ^= L->rng >> 27;
	return L->rng * 2685821657736338717ull;
}

/* Sends every push that is due by now, then sleeps until the next one. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct load *L = arg;
	uint64_t now = clock_ns();
	uint64_t due = (uint64_t)((double)(now - L->t0) * L->o.rate / 1e9) + 1;
	if (due > L->total)
		due = L->total;
	if (due > L->next_seq) {
		uint64_t planned = L->t0 + (uint64_t)((double)L->next_seq * 1e9 / L->o.rate);
		if (now - planned > L->lag_max)
			L->lag_max = now - planned;
	}
	while (L->next_seq < due) {
		uint32_t to = (uint32_t)(rand_next(L) % L->o.clients);
		publish_unicast(L->pub, L->next_seq++, to, clock_ns());
	}
	publish_flush(L->pub);
	if (L->next_seq >= L->total)
		return;
	uint64_t next = L->t0 + (uint64_t)((double)L->next_seq * 1e9 / L->o.rate);
	uint64_t wait = next > now ? next - now : 0;
	struct timeval tv = {(time_t)(wait / 1000000000u), (suseconds_t)(wait % 1000000000u / 1000)};
	evtimer_add(L->tick, &tv);
}

static struct publisher *
publisher(struct load *L)
{
	static struct publish_opts po;
	po = (struct publish_opts){
		.mode = L->o.pub_mode, .host = L->o.pub_host, .port = L->o.pub_port,
		.conns = L->o.pub_conns, .uid_prefix = L->o.uid_prefix, .pub_path = L->o.pub_path,
		.group = L->o.group,
		.max_seq = strcmp(L->o.scenario, "unicast") == 0
			? (uint64_t)ceil(L->o.rate * L->o.duration) + 1 : 1,
	};
	struct publisher *p = publish_new(L->base, &po);
	if (p == NULL)
		die("publisher: cannot connect to %s:%u: %s", L->o.pub_host, L->o.pub_port, strerror(errno));
	return p;
}

/* Waits until every request is answered (or timeout s). */
static void
await_replies(struct load *L, double timeout)
{
	uint64_t deadline = clock_ns() + (uint64_t)(timeout * 1e9);
	const struct publish_stats *ps = publish_stats(L->pub);
	while (ps->replies + ps->errors < ps->sent && clock_ns() < deadline)
		event_base_loop(L->base, EVLOOP_ONCE);
}

static int
run_unicast(struct load *L)
{
	struct totals t = connect_to(L, L->o.clients);
	L->pub = publisher(L);
	run_for(L, 0.5);
	L->total = (uint64_t)ceil(L->o.rate * L->o.duration);
	L->rng = 0x9e3779b97f4a7c15ull ^ clock_ns();
	L->tick = evtimer_new(L->base, tick_cb, L);
	say("gcload: unicast: %llu clients ready, %.0f pushes/s for %.1f s\n",
		(unsigned long long)t.ready, L->o.rate, L->o.duration);
	L->t0 = clock_ns();
	tick_cb(-1, 0, L);
	while (L->next_seq < L->total)
		event_base_loop(L->base, EVLOOP_ONCE);
	uint64_t t_sent = clock_ns();
	await_replies(L, 10);
	run_for(L, L->o.drain);
	report_all(L);

	const struct publish_stats *ps = publish_stats(L->pub);
	struct hist lat;
	hist_init(&lat);
	uint64_t got = 0, misrouted = 0, dup = 0, closed = 0, lost = 0, other = 0;
	for (unsigned i = 0; i < L->n; i++) {
		const struct fleet_stats *s = &L->ch[i].stats;
		hist_merge(&lat, &s->lat);
		got += s->unicast;
		misrouted += s->misrouted;
		dup += s->duplicated;
		closed += s->closed;
		other += s->other;
	}
	for (uint64_t seq = 0; seq < L->total; seq++) {
		if (!publish_acked(L->pub, seq))
			continue;
		bool seen = false;
		for (unsigned i = 0; i < L->n && !seen; i++)
			seen = L->ch[i].seen[seq >> 3] & (1u << (seq & 7));
		lost += !seen;
	}
	double secs = (double)(t_sent - L->t0) / 1e9;
	say("gcload: unicast: sent %llu in %.2f s (%.0f/s, publisher lag max %.0f µs); answered ok"
	    " %llu, offline %llu, errors %llu\n", (unsigned long long)ps->sent, secs,
		(double)ps->sent / secs, us(L->lag_max), (unsigned long long)ps->acked,
		(unsigned long long)ps->offline, (unsigned long long)ps->errors);
	if (ps->errors > 0)
		say("gcload: first error: %s\n", publish_first_error(L->pub));
	say("gcload: unicast: received %llu, lost %llu, misrouted %llu, duplicated %llu, clients"
	    " closed %llu; latency p50 %.0f µs, p90 %.0f, p99 %.0f, p99.9 %.0f, max %.0f\n",
		(unsigned long long)got, (unsigned long long)lost, (unsigned long long)misrouted,
		(unsigned long long)dup, (unsigned long long)closed, us(hist_quantile(&lat, 0.5)),
		us(hist_quantile(&lat, 0.9)), us(hist_quantile(&lat, 0.99)),
		us(hist_quantile(&lat, 0.999)), us(lat.max));
	struct buf j = BUF_INIT;
	json_common(L, &j, &t);
	buf_printf(&j, ",\"rate\":%.0f,\"duration\":%.2f,\"sent\":%llu,\"sent_per_second\":%.0f,"
		"\"publisher_lag_max_us\":%.0f,\"acked\":%llu,\"offline\":%llu,\"errors\":%llu,"
		"\"received\":%llu,\"lost\":%llu,\"misrouted\":%llu,\"duplicated\":%llu,"
		"\"closed\":%llu,\"other_frames\":%llu",
		L->o.rate, L->o.duration, (unsigned long long)ps->sent, (double)ps->sent / secs,
		us(L->lag_max), (unsigned long long)ps->acked, (unsigned long long)ps->offline,
		(unsigned long long)ps->errors, (unsigned long long)got, (unsigned long long)lost,
		(unsigned long long)misrouted, (unsigned long long)dup, (unsigned long long)closed,
		(unsigned long long)other);
	json_hist(&j, "latency", &lat);
	print_json(&j);
	buf_fini(&j);
	event_free(L->tick);
	return lost > 0 || misrouted > 0 || dup > 0 || ps->errors > 0;
}

static int
run_broadcast(struct load *L)
{
	struct totals t = connect_to(L, L->o.clients);
	L->pub = publisher(L);
	uint32_t k[MAX_PROCS];
	for (unsigned i = 0; i < L->n; i++)
		k[i] = L->o.broadcasts;
	send_all(L, CTL_EXPECT_BCAST, k);
	report_all(L); /* a round trip: every child has taken CTL_EXPECT_BCAST */
	run_for(L, 0.5);
	uint64_t expected = 0;
	for (unsigned i = 0; i < L->n; i++)
		expected += L->ch[i].stats.ready * L->o.broadcasts;
	say("gcload: broadcast: %u broadcasts to %llu clients (%llu deliveries)\n", L->o.broadcasts,
		(unsigned long long)t.ready, (unsigned long long)expected);
	uint64_t t0 = clock_ns();
	for (uint32_t i = 0; i < L->o.broadcasts; i++)
		publish_broadcast(L->pub, i, clock_ns());
	publish_flush(L->pub);
	bool done = await(L, CTL_BCAST_DONE, 30 + expected / 100000.0);
	await_replies(L, 10);
	run_for(L, done ? 0.2 : 0);
	report_all(L);

	const struct publish_stats *ps = publish_stats(L->pub);
	struct hist lat;
	hist_init(&lat);
	uint64_t got = 0, dup = 0, closed = 0, t_last = t0;
	for (unsigned i = 0; i < L->n; i++) {
		const struct fleet_stats *s = &L->ch[i].stats;
		hist_merge(&lat, &s->lat);
		got += s->bcast;
		dup += s->bcast_dup;
		closed += s->closed;
		if (s->t_last > t_last)
			t_last = s->t_last;
	}
	double secs = (double)(t_last - t0) / 1e9;
	double rate = secs > 0 ? (double)got / secs : 0;
	uint64_t missing = expected > got ? expected - got : 0;
	say("gcload: broadcast: %llu of %llu deliveries (server said %llu) in %.3f s: %.0f"
	    " deliveries/s; missing %llu, duplicated %llu, clients closed %llu%s\n",
		(unsigned long long)got, (unsigned long long)expected,
		(unsigned long long)ps->deliveries, secs, rate, (unsigned long long)missing,
		(unsigned long long)dup, (unsigned long long)closed, done ? "" : " (timed out)");
	if (ps->errors > 0)
		say("gcload: %llu publish errors; first: %s\n", (unsigned long long)ps->errors,
			publish_first_error(L->pub));
	struct buf j = BUF_INIT;
	json_common(L, &j, &t);
	buf_printf(&j, ",\"broadcasts\":%u,\"expected\":%llu,\"received\":%llu,"
		"\"server_delivered\":%llu,\"missing\":%llu,\"duplicated\":%llu,\"closed\":%llu,"
		"\"errors\":%llu,\"seconds\":%.4f,\"deliveries_per_second\":%.0f",
		L->o.broadcasts, (unsigned long long)expected, (unsigned long long)got,
		(unsigned long long)ps->deliveries, (unsigned long long)missing,
		(unsigned long long)dup, (unsigned long long)closed, (unsigned long long)ps->errors,
		secs, rate);
	json_hist(&j, "latency", &lat);
	print_json(&j);
	buf_fini(&j);
	return missing > 0 || dup > 0 || ps->errors > 0;
}

int
main(int argc, char **argv)
{
	static struct load L;
	parse_opts(&L.o, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(L.o.clients / L.o.procs + 1);
	spawn(&L);
	struct event_config *cfg = event_config_new();
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	L.base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	/* spawn registered the pipes before the base existed: do it now */
	for (unsigned i = 0; i < L.n; i++) {
		L.ch[i].ev = event_new(L.base, L.ch[i].rep_fd, EV_READ | EV_PERSIST, child_cb, &L);
		event_add(L.ch[i].ev, NULL);
	}
	struct event *wake = event_new(L.base, -1, EV_PERSIST, wake_cb, NULL);
	struct timeval tv = {0, 100000};
	event_add(wake, &tv);

	int rc;
	if (strcmp(L.o.scenario, "idle") == 0)
		rc = run_idle(&L);
	else if (strcmp(L.o.scenario, "connect") == 0)
		rc = run_connect(&L);
	else if (strcmp(L.o.scenario, "unicast") == 0)
		rc = run_unicast(&L);
	else
		rc = run_broadcast(&L);

	send_all(&L, CTL_QUIT, NULL);
	for (unsigned i = 0; i < L.n; i++)
		waitpid(L.ch[i].pid, NULL, 0);
	publish_free(L.pub);
	for (unsigned i = 0; i < L.n; i++) {
		event_free(L.ch[i].ev);
		close(L.ch[i].cmd_fd);
		close(L.ch[i].rep_fd);
		ctl_reader_fini(&L.ch[i].rd);
		free(L.ch[i].seen);
	}
	event_free(wake);
	event_base_free(L.base);
	return rc;
}
