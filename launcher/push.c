/*
 * push — `gatecast push`, a blocking client of the push port (see push.h).
 *
 * The config is read the way the daemons read it (defaults, -c file,
 * GATECAST_PUSH_SECRET, --set in order) but not validated as a whole: the
 * CLI needs only gateway.push_listen, gateway.request_timeout and
 * push.secret, and must work where auth.secret is not set. The secret is
 * only ever written to the socket, never to stdout, stderr or argv.
 */
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/xmalloc.h"
#include "launcher/push.h"

#define PUSH_CLI_CONNECT_TIMEOUT_MS 5000
#define PUSH_CLI_REPLY_GRACE_MS 2000
#define PUSH_CLI_STDIN_HIGH (1u << 20) /* stop reading stdin with this much unsent */
#define PUSH_CLI_EXIT_OK 0
#define PUSH_CLI_EXIT_FAILED 1
#define PUSH_CLI_EXIT_ERROR 2

struct push_cli_list {
	const char **v;
	size_t n;
};

struct push_cli_opts {
	const char *command;
	struct push_cli_list uid, group, client, exclude, sets;
	const char *data, *data_text, *data_b64, *session, *id, *host, *file;
	int ndata;
};

static void
push_cli_usage(FILE *f)
{
	fprintf(f,
		"Usage: gatecast push <command> [--uid U]... [--group G]... [--client-id C]...\n"
		"                     [--exclude C]... [--data JSON_OR_TEXT | --data-text TEXT |\n"
		"                     --data-base64 B64] [--session JSON] [--id ID]\n"
		"                     [-c gatecast.ini] [--set section.key=value]... [--host HOST:PORT]\n"
		"       gatecast push [-c gatecast.ini] [--set ...] [--host HOST:PORT] < requests\n\n"
		"Sends one push-port command (send_to_uid, send_to_group, close_client,\n"
		"get_all_uid_count, ...) or, without a command, every JSON request line read\n"
		"from stdin (pipelined), to gateway.push_listen (or --host), and prints each\n"
		"reply line. push.secret (or GATECAST_PUSH_SECRET) is sent first when set.\n"
		"--uid/--group/--client-id/--exclude given once send a string, repeated an\n"
		"array. --data is sent as JSON when it parses as JSON, else as a string;\n"
		"--data-text is always a string. --id is echoed in the reply.\n"
		"Exit status: 0 all replies ok, 1 some reply had \"ok\":false, 2 usage,\n"
		"config or connection error.\n");
}

static void
push_cli_list_add(struct push_cli_list *l, const char *v)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = v;
}

static uint64_t
push_cli_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Matches "name VALUE" or "name=VALUE" at argv[*i]. 1 = matched (*val set,
 * *i advanced past a separate value), 0 = another argument, -1 = the value
 * is missing. */
static int
push_cli_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

/* Parses argv[2..]. 0, 1 for --help, or -1 after a message on stderr. */
static int
push_cli_parse(int argc, char **argv, struct push_cli_opts *o)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return 1;
		static const char *const names[] = {"--uid", "--group", "--client-id", "--exclude",
			"--data", "--data-text", "--data-base64", "--session", "--id", "--host", "-c",
			"--config", "--set"};
		int which = -1, r = 0;
		for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
			r = push_cli_opt(argc, argv, &i, names[k], &v);
			if (r != 0) {
				which = (int)k;
				break;
			}
		}
		if (r < 0) {
			fprintf(stderr, "gatecast push: %s needs a value\n", a);
			return -1;
		}
		switch (which) {
		case 0: push_cli_list_add(&o->uid, v); break;
		case 1: push_cli_list_add(&o->group, v); break;
		case 2: push_cli_list_add(&o->client, v); break;
		case 3: push_cli_list_add(&o->exclude, v); break;
		case 4: o->data = v; o->ndata++; break;
		case 5: o->data_text = v; o->ndata++; break;
		case 6: o->data_b64 = v; o->ndata++; break;
		case 7: o->session = v; break;
		case 8: o->id = v; break;
		case 9: o->host = v; break;
		case 10:
		case 11: o->file = v; break;
		case 12: push_cli_list_add(&o->sets, v); break;
		default:
			if (a[0] == '-') {
				fprintf(stderr, "gatecast push: unknown option \"%s\"\n", a);
				return -1;
			}
			if (o->command != NULL) {
				fprintf(stderr, "gatecast push: unexpected argument \"%s\"\n", a);
				return -1;
			}
			o->command = a;
		}
	}
	if (o->command == NULL) {
		if (o->uid.n || o->group.n || o->client.n || o->exclude.n || o->ndata || o->session ||
			o->id) {
			fprintf(stderr, "gatecast push: request options need a command "
					"(e.g. gatecast push send_to_uid --uid 42 --data ...)\n");
			return -1;
		}
	} else if (o->ndata > 1) {
		fprintf(stderr, "gatecast push: give at most one of --data, --data-text, --data-base64\n");
		return -1;
	}
	return 0;
}

/* Loads the config without the daemons' cross-key validation. 0 or -1
 * after a message on stderr. */
static int
push_cli_config(struct config *c, const struct push_cli_opts *o)
{
	char err[512];
	config_defaults(c);
	if (o->file != NULL) {
		int rc = config_load_file(c, o->file, err, sizeof err);
		if (rc == -EINVAL) {
			fprintf(stderr, "gatecast push: %s\n", err);
			return -1;
		}
		if (rc < 0) {
			fprintf(stderr, "gatecast push: cannot read %s: %s\n", o->file, strerror(-rc));
			return -1;
		}
	}
	const char *env = getenv("GATECAST_PUSH_SECRET");
	if (env != NULL && env[0] != '\0') {
		free(c->push_secret);
		c->push_secret = xstrdup(env);
	}
	for (size_t i = 0; i < o->sets.n; i++)
		if (config_set(c, o->sets.v[i], err, sizeof err) < 0) {
			fprintf(stderr, "gatecast push: %s\n", err);
			return -1;
		}
	return 0;
}

/* A JSON value from text: the parsed JSON when it parses, else a string.
 * NULL when the text is not UTF-8. */
static json_t *
push_cli_value(const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
	return v != NULL ? v : json_string(text);
}

static int
push_cli_set(json_t *req, const char *key, json_t *v, const char *opt)
{
	if (v == NULL) {
		fprintf(stderr, "gatecast push: %s: not valid UTF-8\n", opt);
		return -1;
	}
	json_object_set_new(req, key, v);
	return 0;
}

static int
push_cli_set_list(json_t *req, const char *key, const struct push_cli_list *l, const char *opt)
{
	if (l->n == 0)
		return 0;
	if (l->n == 1)
		return push_cli_set(req, key, json_string(l->v[0]), opt);
	json_t *arr = json_array();
	for (size_t i = 0; i < l->n; i++) {
		json_t *s = json_string(l->v[i]);
		if (s == NULL) {
			json_decref(arr);
			return push_cli_set(req, key, NULL, opt);
		}
		json_array_append_new(arr, s);
	}
	return push_cli_set(req, key, arr, opt);
}

/* The request line (with its "\n") appended to out. 0 or -1 after a
 * message. */
static int
push_cli_request(const struct push_cli_opts *o, struct buf *out)
{
	json_t *req = json_object();
	int rc = -1;
	if (push_cli_set(req, "type", json_string(o->command), "command") < 0)
		goto out;
	if (o->id != NULL && push_cli_set(req, "id", push_cli_value(o->id), "--id") < 0)
		goto out;
	if (push_cli_set_list(req, "uid", &o->uid, "--uid") < 0 ||
		push_cli_set_list(req, "group", &o->group, "--group") < 0 ||
		push_cli_set_list(req, "client_id", &o->client, "--client-id") < 0 ||
		push_cli_set_list(req, "exclude", &o->exclude, "--exclude") < 0)
		goto out;
	if (o->data != NULL && push_cli_set(req, "data", push_cli_value(o->data), "--data") < 0)
		goto out;
	if (o->data_text != NULL &&
		push_cli_set(req, "data", json_string(o->data_text), "--data-text") < 0)
		goto out;
	if (o->data_b64 != NULL &&
		push_cli_set(req, "data_base64", json_string(o->data_b64), "--data-base64") < 0)
		goto out;
	if (o->session != NULL) {
		json_error_t jerr;
		json_t *s = json_loads(o->session, 0, &jerr);
		if (!json_is_object(s)) {
			fprintf(stderr, "gatecast push: --session: not a JSON object (%s)\n",
				s == NULL ? jerr.text : "another JSON value");
			json_decref(s);
			goto out;
		}
		json_object_set_new(req, "session", s);
	}
	char *line = json_dumps(req, JSON_COMPACT);
	if (line == NULL) {
		fprintf(stderr, "gatecast push: cannot encode the request\n");
		goto out;
	}
	buf_append_str(out, line);
	buf_append_char(out, '\n');
	free(line);
	rc = 0;
out:
	json_decref(req);
	return rc;
}

/* Splits "host:port" / "[v6]:port"; a wildcard host means this machine. */
static int
push_cli_split(const char *hp, char *host, size_t hn, char *port, size_t pn)
{
	const char *h = hp, *colon;
	size_t hl;
	if (hp[0] == '[') {
		const char *end = strchr(hp, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		h = hp + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(hp, ':');
		if (colon == NULL)
			return -1;
		hl = (size_t)(colon - hp);
	}
	if (hl >= hn || strlen(colon + 1) == 0 || strlen(colon + 1) >= pn)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0)
		snprintf(host, hn, "127.0.0.1");
	else if (strcmp(host, "::") == 0)
		snprintf(host, hn, "::1");
	return 0;
}

/* A connected non-blocking socket, or -1 after a message. */
static int
push_cli_connect(const char *hostport)
{
	char host[256], port[32];
	if (push_cli_split(hostport, host, sizeof host, port, sizeof port) < 0) {
		fprintf(stderr, "gatecast push: bad address \"%s\" (want HOST:PORT)\n", hostport);
		return -1;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	int gai = getaddrinfo(host, port, &hints, &ai);
	if (gai != 0) {
		fprintf(stderr, "gatecast push: cannot resolve %s: %s\n", hostport, gai_strerror(gai));
		return -1;
	}
	int err = 0;
	uint64_t deadline = push_cli_now_ms() + PUSH_CLI_CONNECT_TIMEOUT_MS;
	for (struct addrinfo *p = ai; p != NULL; p = p->ai_next) {
		int fd = socket(p->ai_family, p->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			p->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, p->ai_addr, p->ai_addrlen) == 0) {
			freeaddrinfo(ai);
			return fd;
		}
		err = errno;
		if (err == EINPROGRESS) {
			uint64_t now = push_cli_now_ms();
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			int n = now < deadline ? poll(&pfd, 1, (int)(deadline - now)) : 0;
			socklen_t len = sizeof err;
			if (n == 0)
				err = ETIMEDOUT;
			else if (n < 0)
				err = errno;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
			if (n > 0 && err == 0) {
				freeaddrinfo(ai);
				return fd;
			}
		}
		close(fd);
	}
	freeaddrinfo(ai);
	fprintf(stderr, "gatecast push: cannot connect to %s: %s\n", hostport, strerror(err));
	return -1;
}

static bool
push_cli_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

struct push_cli_run {
	int fd;
	struct buf out, in, sin;
	size_t pending;       /* requests queued or sent, not yet answered */
	bool auth_pending;    /* the next reply answers our auth line */
	bool stdin_eof;
	bool failed;          /* some reply had "ok":false */
	uint32_t reply_timeout_ms;
	uint64_t deadline;
};

static void
push_cli_queue(struct push_cli_run *r, const char *line, size_t n)
{
	if (r->pending == 0)
		r->deadline = push_cli_now_ms() + r->reply_timeout_ms;
	buf_append(&r->out, line, n);
	buf_append_char(&r->out, '\n');
	r->pending++;
}

/* Moves the complete non-blank lines of r->sin (all of it at EOF) to the
 * send buffer. */
static void
push_cli_take_stdin(struct push_cli_run *r)
{
	size_t start = 0;
	for (;;) {
		char *nl = memchr(r->sin.p + start, '\n', r->sin.len - start);
		size_t end = nl != NULL ? (size_t)(nl - r->sin.p) : r->sin.len;
		if (nl == NULL && !r->stdin_eof)
			break;
		if (!push_cli_blank(r->sin.p + start, end - start))
			push_cli_queue(r, r->sin.p + start, end - start);
		if (nl == NULL) {
			start = r->sin.len;
			break;
		}
		start = end + 1;
	}
	buf_consume(&r->sin, start);
}

/* One reply line. 0, or an exit status to stop with. */
static int
push_cli_reply(struct push_cli_run *r, const char *line, size_t n)
{
	if (r->pending == 0) {
		fprintf(stderr, "gatecast push: unexpected line from the server\n");
		return PUSH_CLI_EXIT_ERROR;
	}
	r->pending--;
	r->deadline = push_cli_now_ms() + r->reply_timeout_ms;
	json_t *j = json_loadb(line, n, 0, NULL);
	json_t *ok = json_object_get(j, "ok");
	int rc = 0;
	if (r->auth_pending) {
		r->auth_pending = false;
		if (!json_is_true(ok)) {
			const char *code = json_string_value(json_object_get(j, "error"));
			fprintf(stderr, "gatecast push: the push port refused push.secret (%s)\n",
				code != NULL ? code : "no error code");
			rc = PUSH_CLI_EXIT_ERROR;
		}
		json_decref(j);
		return rc;
	}
	fwrite(line, 1, n, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	const char *code = json_string_value(json_object_get(j, "error"));
	if (!json_is_boolean(ok)) {
		fprintf(stderr, "gatecast push: a reply without \"ok\" from the server\n");
		r->failed = true;
	} else if (!json_is_true(ok)) {
		r->failed = true;
		if (code != NULL && strcmp(code, "unauthorized") == 0) {
			/* The port wants a secret we don't have; it closes now. */
			fprintf(stderr, "gatecast push: the push port needs push.secret "
					"(set it in the config or GATECAST_PUSH_SECRET)\n");
			rc = PUSH_CLI_EXIT_ERROR;
		}
	}
	json_decref(j);
	return rc;
}

/* Handles the complete lines in r->in. 0 or an exit status. */
static int
push_cli_take_replies(struct push_cli_run *r)
{
	size_t start = 0;
	int rc = 0;
	char *nl;
	while (rc == 0 && (nl = memchr(r->in.p + start, '\n', r->in.len - start)) != NULL) {
		size_t end = (size_t)(nl - r->in.p), e = end;
		if (e > start && r->in.p[e - 1] == '\r')
			e--;
		rc = push_cli_reply(r, r->in.p + start, e - start);
		start = end + 1;
	}
	buf_consume(&r->in, start);
	return rc;
}

static int
push_cli_loop(struct push_cli_run *r)
{
	char chunk[65536];
	for (;;) {
		if (r->stdin_eof && r->pending == 0 && r->out.len == 0)
			return r->failed ? PUSH_CLI_EXIT_FAILED : PUSH_CLI_EXIT_OK;
		struct pollfd pfd[2] = {{.fd = r->fd, .events = POLLIN}, {.fd = -1}};
		if (r->out.len > 0)
			pfd[0].events |= POLLOUT;
		if (!r->stdin_eof && r->out.len < PUSH_CLI_STDIN_HIGH)
			pfd[1] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		int timeout = -1;
		if (r->pending > 0) {
			uint64_t now = push_cli_now_ms();
			if (now >= r->deadline) {
				fprintf(stderr, "gatecast push: no reply within %u ms (%zu request(s) "
						"unanswered)\n", r->reply_timeout_ms,
					r->pending - (r->auth_pending ? 1 : 0));
				return PUSH_CLI_EXIT_ERROR;
			}
			timeout = (int)(r->deadline - now);
		}
		if (poll(pfd, 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "gatecast push: poll: %s\n", strerror(errno));
			return PUSH_CLI_EXIT_ERROR;
		}
		if (pfd[1].revents != 0) {
			ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
			if (n < 0 && errno != EINTR && errno != EAGAIN) {
				fprintf(stderr, "gatecast push: reading stdin: %s\n", strerror(errno));
				return PUSH_CLI_EXIT_ERROR;
			}
			if (n == 0)
				r->stdin_eof = true;
			if (n > 0)
				buf_append(&r->sin, chunk, (size_t)n);
			push_cli_take_stdin(r);
		}
		if (pfd[0].revents & POLLOUT) {
			ssize_t n = send(r->fd, r->out.p, r->out.len, MSG_NOSIGNAL);
			if (n > 0)
				buf_consume(&r->out, (size_t)n);
			else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				fprintf(stderr, "gatecast push: sending: %s\n", strerror(errno));
				return PUSH_CLI_EXIT_ERROR;
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(r->fd, chunk, sizeof chunk, 0);
			if (n > 0) {
				buf_append(&r->in, chunk, (size_t)n);
				int rc = push_cli_take_replies(r);
				if (rc != 0)
					return rc;
			} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
				if (n < 0)
					fprintf(stderr, "gatecast push: receiving: %s\n", strerror(errno));
				else if (r->pending > 0)
					fprintf(stderr, "gatecast push: the server closed the connection with "
							"%zu request(s) unanswered\n", r->pending);
				else if (r->stdin_eof && r->out.len == 0)
					continue; /* all answered; the loop ends */
				else
					fprintf(stderr, "gatecast push: the server closed the connection\n");
				return PUSH_CLI_EXIT_ERROR;
			}
		}
	}
}

int
push_cli_main(int argc, char **argv)
{
	struct push_cli_opts o;
	struct config c;
	struct push_cli_run r;
	int rc = PUSH_CLI_EXIT_ERROR;

	memset(&o, 0, sizeof o);
	memset(&r, 0, sizeof r);
	r.fd = -1;
	int p = push_cli_parse(argc, argv, &o);
	if (p != 0) {
		if (p > 0) {
			push_cli_usage(stdout);
			rc = PUSH_CLI_EXIT_OK;
		}
		goto out_opts;
	}
	if (push_cli_config(&c, &o) < 0)
		goto out_cfg;

	signal(SIGPIPE, SIG_IGN);
	r.reply_timeout_ms = c.gateway_request_timeout_ms + PUSH_CLI_REPLY_GRACE_MS;
	if (c.push_secret[0] != '\0') {
		json_t *auth = json_pack("{s:s,s:s}", "type", "auth", "secret", c.push_secret);
		char *line = auth != NULL ? json_dumps(auth, JSON_COMPACT) : NULL;
		json_decref(auth);
		if (line == NULL) {
			fprintf(stderr, "gatecast push: push.secret is not valid UTF-8\n");
			goto out_cfg;
		}
		push_cli_queue(&r, line, strlen(line));
		explicit_bzero(line, strlen(line));
		free(line);
		r.auth_pending = true;
	}
	if (o.command != NULL) {
		struct buf req = BUF_INIT;
		if (push_cli_request(&o, &req) < 0) {
			buf_fini(&req);
			goto out_run;
		}
		push_cli_queue(&r, req.p, req.len - 1);
		buf_fini(&req);
		r.stdin_eof = true;
	}

	r.fd = push_cli_connect(o.host != NULL ? o.host : c.gateway_push_listen);
	if (r.fd < 0)
		goto out_run;
	rc = push_cli_loop(&r);

out_run:
	if (r.fd >= 0)
		close(r.fd);
	if (r.out.p != NULL)
		explicit_bzero(r.out.p, r.out.cap);
	buf_fini(&r.out);
	buf_fini(&r.in);
	buf_fini(&r.sin);
out_cfg:
	config_fini(&c);
out_opts:
	free(o.uid.v);
	free(o.group.v);
	free(o.client.v);
	free(o.exclude.v);
	free(o.sets.v);
	return rc;
}
