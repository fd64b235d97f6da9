/*
 * push_port_test — the JSON-lines port on a real loopback socket and event
 * loop, with a submit function the test answers by hand: replies leave in
 * request order whatever order the answers come in, an answer known at once
 * waits for the earlier ones, a request nobody answers times out, and a peer
 * that ends its side gets every answer before the port closes.
 */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/net.h"
#include "push/push_port.h"
#include "tests/tap.h"

struct fake {
	uint64_t reqs[16];
	size_t n;
};

static int
fake_submit(void *arg, uint64_t req, uint64_t key, const struct proto_cmd *cmd,
	enum proto_error *code, const char **message)
{
	struct fake *f = arg;
	if (f->n < 16)
		f->reqs[f->n++] = req;
	return 0;
}

/* Runs the loop until want(arg) or 5 s pass. */
static int
run_until(struct event_base *base, int (*want)(void *), void *arg)
{
	uint64_t end = clock_ms() + 5000;
	while (!want(arg) && clock_ms() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	return want(arg);
}

struct reader {
	int fd;
	char buf[4096];
	size_t len;
	size_t lines; /* wanted */
	int eof;
};

static int
has_lines(void *arg)
{
	struct reader *r = arg;
	struct pollfd p = {r->fd, POLLIN, 0};
	while (poll(&p, 1, 0) == 1) {
		ssize_t n = read(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len);
		if (n <= 0) {
			r->eof = 1;
			break;
		}
		r->len += (size_t)n;
		r->buf[r->len] = '\0';
	}
	size_t k = 0;
	for (size_t i = 0; i < r->len; i++)
		k += r->buf[i] == '\n';
	return k >= r->lines;
}

static int
at_eof(void *arg)
{
	struct reader *r = arg;
	has_lines(r);
	return r->eof;
}

static int
submitted(void *arg)
{
	struct fake *f = ((void **)arg)[0];
	size_t *want = ((void **)arg)[1];
	return f->n >= *want;
}

static void
answer(struct push_port *pp, uint64_t req, int64_t delivered)
{
	struct proto_result r;
	memset(&r, 0, sizeof r);
	r.id = req;
	r.ok = true;
	r.delivered = delivered;
	push_port_complete(pp, &r);
}

static int
dial(int lfd)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	getsockname(lfd, (struct sockaddr *)&a, &al);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&a, al) != 0)
		abort();
	return fd;
}

static void
send_str(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		abort();
}

int
main(void)
{
	struct config cfg;
	struct fake f = {{0}, 0};
	config_defaults(&cfg);
	cfg.gateway_request_timeout_ms = 300;
	struct event_base *base = event_base_new();
	int lfd = net_listen("127.0.0.1:0", 16);
	tap_ok(lfd >= 0, "the port listens on loopback");
	int cfd = dial(lfd);
	struct push_port *pp = push_port_new(base, &cfg, lfd, fake_submit, &f);

	send_str(cfd,
		"{\"id\":1,\"type\":\"send_to_all\",\"data\":1}\n"
		"{\"id\":2,\"type\":\"send_to_all\",\"data\":2}\n"
		"{\"id\":3,\"type\":\"nope\"}\n"
		"{\"id\":4,\"type\":\"send_to_all\",\"data\":4}\n");
	size_t want = 3;
	void *sub[2] = {&f, &want};
	tap_ok(run_until(base, submitted, sub), "every valid line is submitted");
	tap_eq_int(push_port_pending(pp), 3, "three requests wait for their answers");

	struct reader rd = {cfd, {0}, 0, 1, 0};
	answer(pp, f.reqs[2], 40);
	answer(pp, f.reqs[1], 20);
	/* An answer is written within push_port_complete, if at all. */
	has_lines(&rd);
	tap_eq_int(rd.len, 0, "later answers wait for the first request's");
	answer(pp, f.reqs[0], 10);
	rd.lines = 4;
	tap_ok(run_until(base, has_lines, &rd), "the first answer lets all four out");
	tap_eq_str(rd.buf,
		"{\"id\":1,\"ok\":true,\"delivered\":10}\n"
		"{\"id\":2,\"ok\":true,\"delivered\":20}\n"
		"{\"id\":3,\"ok\":false,\"error\":\"unknown_type\",\"message\":\"unknown type \\\"nope\\\"\"}\n"
		"{\"id\":4,\"ok\":true,\"delivered\":40}\n",
		"replies leave in request order, an error known at once in its place");

	rd.len = 0;
	rd.lines = 1;
	f.n = 0;
	send_str(cfd, "{\"id\":5,\"type\":\"get_all_uid_count\"}\n");
	tap_ok(run_until(base, has_lines, &rd), "a request nobody answers is answered anyway");
	tap_eq_str(rd.buf,
		"{\"id\":5,\"ok\":false,\"error\":\"timeout\","
		"\"message\":\"no answer within gateway.request_timeout\"}\n",
		"... with timeout, after gateway.request_timeout");
	answer(pp, f.reqs[0], 1);
	tap_eq_int(push_port_pending(pp), 0, "a late answer finds nothing");

	rd.len = 0;
	rd.lines = 2;
	f.n = 0;
	want = 1;
	send_str(cfd, "{\"id\":6,\"type\":\"send_to_all\",\"data\":6}\n{\"id\":7,");
	shutdown(cfd, SHUT_WR);
	tap_ok(run_until(base, submitted, sub), "a request before the end is submitted");
	answer(pp, f.reqs[0], 6);
	tap_ok(run_until(base, at_eof, &rd), "the port closes once the peer's answers are out");
	tap_eq_str(rd.buf,
		"{\"id\":6,\"ok\":true,\"delivered\":6}\n"
		"{\"ok\":false,\"error\":\"bad_request\",\"message\":\"last line has no newline\"}\n",
		"... after the pending answer and the unfinished line's");

	const struct push_port_stats *st = push_port_stats(pp);
	tap_eq_int(st->requests, 6, "the port counts the table's requests");
	tap_eq_int(st->timeouts, 1, "... and its timeouts");
	tap_eq_int(st->replies, 7, "every reply written is counted");

	close(cfd);
	push_port_free(pp);
	event_base_free(base);
	config_fini(&cfg);
	return tap_done();
}
