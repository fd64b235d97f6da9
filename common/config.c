/*
 * config — see config.h. Every key lives in one table (config_keys below):
 * its section and name, type, where it is stored in struct config, its
 * default as text, its bounds and a one-line meaning. Loading, --set,
 * defaults, validation and config_describe all walk that table, so adding a
 * key means adding one struct field and one table line.
 *
 * Deliberately not here: inline comments (a '#' after a value is part of the
 * value), escapes in quoted values, includes, environment variables, and any
 * knowledge of what the values mean beyond their bounds and the few
 * cross-key rules in config_validate.
 *
 * Secrets: the value of any key whose name contains "secret" is never
 * written into an error message or into config_describe's output, because
 * those end up in terminals, logs and bug reports. Every place that quotes a
 * value goes through config_shown() or checks config_is_secret() first; keep
 * it that way when adding messages.
 */
#include "common/config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xmalloc.h"

enum config_type {
	CONFIG_STRING,   /* char *; min/max bound the length in bytes */
	CONFIG_UINT32,   /* uint32_t; plain decimal */
	CONFIG_SIZE,     /* uint64_t; bytes, optional K/M/G suffix (powers of 1024) */
	CONFIG_DURATION, /* uint32_t milliseconds; written as seconds, up to 3 decimals */
	CONFIG_BOOL,     /* bool; written "off" or "on" (choices[0], choices[1]) */
	CONFIG_ENUM,     /* an int-sized enum; the value is the index of its text in choices */
};

struct config_key {
	const char *section;
	const char *name;
	enum config_type type;
	size_t offset;               /* of the field in struct config */
	const char *def;             /* default, parsed like a value from the file */
	uint64_t min, max;           /* inclusive; milliseconds for durations */
	const char *const *choices;  /* NULL-terminated: the values of BOOL and ENUM keys,
	                              * or the texts a STRING may take (config_validate) */
	const char *doc;             /* one line, for config_describe */
	bool reloadable;             /* re-read by a running process (config_apply_runtime) */
};

/* Refuse to read anything bigger: a config file this large is a mistake
 * (a log, /dev/zero), and reading it whole keeps the parser simple. */
#define CONFIG_FILE_MAX (1024 * 1024)

#define SEC UINT64_C(1000) /* durations are stored in milliseconds */
#define KIB UINT64_C(1024)
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

/* offsetof(struct config, field), failing to compile when the field does not
 * have the C type the key's type stores into. */
#define CONFIG_FIELD(field, ctype)                                                           \
	(offsetof(struct config, field) +                                                    \
		0 * sizeof(char[_Generic(((struct config *)0)->field, ctype: 1, default: -1)]))

/* The same for an enum field, which is stored through an int. */
#define CONFIG_ENUM_FIELD(field, ctype)                                                      \
	(CONFIG_FIELD(field, ctype) +                                                        \
		0 * sizeof(char[sizeof(((struct config *)0)->field) == sizeof(int) ? 1 : -1]))

/* The reloadable column: RELOAD keys are re-read on SIGHUP (those every use
 * reads afresh from struct config, and whose change affects nobody's
 * existing state); FIXED keys need a restart (of a gateway; workers are
 * restarted by `gatecast reload`): listen addresses, inboxes, the cluster
 * seal, auth.mode, counts and the sizes fixed at start. */
#define RELOAD true
#define FIXED false

#define STR(sec, name, rl, field, def, minlen, maxlen, choices, doc)                         \
	{sec, name, CONFIG_STRING, CONFIG_FIELD(field, char *), def, minlen, maxlen, choices, doc, rl}
#define U32(sec, name, rl, field, def, min, max, doc)                                        \
	{sec, name, CONFIG_UINT32, CONFIG_FIELD(field, uint32_t), def, min, max, NULL, doc, rl}
#define SIZE(sec, name, rl, field, def, min, max, doc)                                       \
	{sec, name, CONFIG_SIZE, CONFIG_FIELD(field, uint64_t), def, min, max, NULL, doc, rl}
#define DUR(sec, name, rl, field, def, min, max, doc)                                        \
	{sec, name, CONFIG_DURATION, CONFIG_FIELD(field, uint32_t), def, min, max, NULL, doc, rl}
#define BOOL(sec, name, rl, field, def, doc)                                                 \
	{sec, name, CONFIG_BOOL, CONFIG_FIELD(field, bool), def, 0, 1, config_switch_choices, doc, rl}
#define ENUM(sec, name, rl, field, ctype, def, choices, doc)                                 \
	{sec, name, CONFIG_ENUM, CONFIG_ENUM_FIELD(field, ctype), def, 0, 0, choices, doc, rl}

static const char *const config_app_choices[] = {"builtin", "echo", NULL};
/* In the order of enum config_auth_mode. */
static const char *const config_auth_choices[] = {"token", "none", NULL};
static const char *const config_level_choices[] = {"debug", "info", "warn", "error", NULL};
static const char *const config_switch_choices[] = {"off", "on", NULL}; /* false, true */

/*
 * Grouped by section, in the order config_describe prints them. run_dir is
 * capped so "<run_dir>/gateway-<instance id>.ipc" fits in sun_path (108 bytes).
 */
static const struct config_key config_keys[] = {
	STR("cluster", "run_dir", FIXED, cluster_run_dir, "/tmp/gatecast", 1, 76, NULL,
		"directory holding the ipc sockets of this cluster's processes"),
	STR("cluster", "secret", FIXED, cluster_secret, "", 0, 1024, NULL,
		"shared secret proving cluster membership, at least 16 bytes (HMAC on every "
		"message; env GATECAST_CLUSTER_SECRET); empty: gatecast start makes one per run"),
	DUR("cluster", "max_clock_skew", FIXED, cluster_max_clock_skew_ms, "30", SEC, 3600 * SEC,
		"seconds a cluster message's timestamp may differ from our clock"),
	STR("cluster", "tls_cert", FIXED, cluster_tls_cert, "", 0, 4095, NULL,
		"PEM certificate (with key in tls_key) tls+tcp:// listeners present, and dialers "
		"too when set"),
	STR("cluster", "tls_key", FIXED, cluster_tls_key, "", 0, 4095, NULL,
		"PEM private key of tls_cert"),
	STR("cluster", "tls_ca", FIXED, cluster_tls_ca, "", 0, 4095, NULL,
		"PEM CA bundle tls+tcp:// peers' certificates must chain to (dialers need it; "
		"listeners then require client certificates)"),

	STR("register", "listen", FIXED, register_listen, "tcp://127.0.0.1:1238", 1, 255, NULL,
		"nng URL the registry listens on"),
	STR("register", "connect", FIXED, register_connect, "", 0, 4095, NULL,
		"comma-separated nng URLs members announce to; empty = register.listen"),
	DUR("register", "lease", FIXED, register_lease_ms, "3", SEC / 10, 3600 * SEC,
		"seconds a member stays registered without renewing"),
	DUR("register", "renew", FIXED, register_renew_ms, "1", SEC / 20, 3600 * SEC,
		"seconds between a member's renewals; must be shorter than lease"),

	U32("gateway", "count", FIXED, gateway_count, "0", 0, 1024,
		"gateway processes to run; 0 = one per CPU core"),
	STR("gateway", "ws_listen", FIXED, gateway_ws_listen, "0.0.0.0:7272", 1, 255, NULL,
		"host:port where WebSocket clients connect"),
	STR("gateway", "push_listen", FIXED, gateway_push_listen, "127.0.0.1:8806", 1, 255, NULL,
		"host:port where applications send push requests"),
	STR("gateway", "inbox", FIXED, gateway_inbox, "", 0, 1023, NULL,
		"URL for messages to a gateway (ipc://, tcp:// or tls+tcp://); empty = "
		"ipc://<run_dir>/gateway-<instance id>.ipc"),
	DUR("gateway", "ping_interval", RELOAD, gateway_ping_interval_ms, "25", SEC / 10, 3600 * SEC,
		"seconds between pings to a quiet client; must be shorter than idle_timeout"),
	DUR("gateway", "idle_timeout", RELOAD, gateway_idle_timeout_ms, "60", SEC / 10, 86400 * SEC,
		"seconds a client may stay silent before it is closed"),
	DUR("gateway", "handshake_timeout", RELOAD, gateway_handshake_timeout_ms, "10", SEC / 10,
		3600 * SEC, "seconds a client has to complete the WebSocket handshake"),
	SIZE("gateway", "max_message", RELOAD, gateway_max_message, "64K", 16, 256 * MIB,
		"largest WebSocket message in bytes (K/M/G suffix)"),
	SIZE("gateway", "max_output", RELOAD, gateway_max_output, "1M", 1 * KIB, 1 * GIB,
		"bytes queued for a slow client before it is dropped (K/M/G suffix)"),
	SIZE("gateway", "max_line", RELOAD, gateway_max_line, "1M", 64, 256 * MIB,
		"longest push request line in bytes (K/M/G suffix)"),
	U32("gateway", "max_connections", RELOAD, gateway_max_connections, "100000", 1, 10000000,
		"most client connections one gateway process accepts"),
	DUR("gateway", "request_timeout", RELOAD, gateway_request_timeout_ms, "5", SEC / 100,
		3600 * SEC, "seconds a push request may take before it fails"),
	DUR("gateway", "worker_wait", RELOAD, gateway_worker_wait_ms, "5", 0, 3600 * SEC,
		"seconds a client event waits for a worker; 0 = do not wait"),
	U32("gateway", "max_pending", FIXED, gateway_max_pending, "65536", 1, 16777216,
		"most events and requests waiting at once"),
	U32("gateway", "max_uid_len", FIXED, gateway_max_uid_len, "128", 1, 4096,
		"longest uid in bytes"),
	U32("gateway", "max_group_len", FIXED, gateway_max_group_len, "128", 1, 4096,
		"longest group name in bytes"),
	STR("gateway", "allowed_origins", RELOAD, gateway_allowed_origins, "", 0, 8191, NULL,
		"comma-separated Origin values browsers may connect from; empty = any"),
	STR("gateway", "trusted_proxies", RELOAD, gateway_trusted_proxies, "", 0, 8191, NULL,
		"comma-separated proxy IPs whose X-Forwarded-For is believed"),
	U32("gateway", "max_connections_per_ip", RELOAD, gateway_max_connections_per_ip, "1000", 0,
		10000000, "most connections from one client IP per gateway; 0 = no limit"),
	U32("gateway", "max_connections_per_uid", RELOAD, gateway_max_connections_per_uid, "64", 0,
		1000000, "most connections of one uid per gateway (the oldest is closed); 0 = no limit"),
	U32("gateway", "max_groups", RELOAD, gateway_max_groups, "128", 1, 1000000,
		"most groups one connection may join"),
	U32("gateway", "rate_limit", RELOAD, gateway_rate_limit, "20", 0, 1000000,
		"messages per second a client may send (token bucket); 0 = no limit"),
	U32("gateway", "rate_burst", RELOAD, gateway_rate_burst, "40", 1, 1000000,
		"messages a client may send at once above rate_limit"),
	U32("gateway", "rate_limit_close", RELOAD, gateway_rate_limit_close, "20", 1, 1000000,
		"rate-limited messages in a row after which the client is closed (1008)"),
	STR("gateway", "presence_groups", FIXED, gateway_presence_groups, "", 0, 8191, NULL,
		"comma-separated groups whose members get {\"type\":\"online_count\",...} when "
		"membership changes (at most once a second); a trailing * matches a prefix; "
		"empty = none"),

	U32("worker", "count", FIXED, worker_count, "0", 0, 1024,
		"worker processes to run; 0 = one per CPU core"),
	STR("worker", "app", FIXED, worker_app, "builtin", 1, 31, config_app_choices,
		"application the workers run: builtin or echo"),
	STR("worker", "inbox", FIXED, worker_inbox, "", 0, 1023, NULL,
		"URL for messages to a worker (ipc://, tcp:// or tls+tcp://); empty = "
		"ipc://<run_dir>/worker-<instance id>.ipc"),
	DUR("worker", "query_timeout", RELOAD, worker_query_timeout_ms, "3", SEC / 100, 3600 * SEC,
		"seconds a worker waits for the gateways' answers to a query"),
	U32("worker", "presence_max_groups", FIXED, worker_presence_max_groups, "65536", 1, 16777216,
		"most presence groups one worker keeps counting at once (changes to others are "
		"dropped)"),

	ENUM("auth", "mode", FIXED, auth_mode, enum config_auth_mode, "token", config_auth_choices,
		"token: clients prove their uid with a JWT (HS256, auth.secret); none: "
		"clients declare any uid (demos only)"),
	STR("auth", "secret", RELOAD, auth_secret, "", 0, 1024, NULL,
		"HS256 key for client tokens (env GATECAST_AUTH_SECRET); at least 32 bytes"),
	STR("auth", "previous_secret", RELOAD, auth_previous_secret, "", 0, 1024, NULL,
		"the former key, still accepted while tokens signed with it expire"),
	DUR("auth", "leeway", RELOAD, auth_leeway_ms, "30", 0, 3600 * SEC,
		"seconds of clock difference tolerated on exp and nbf"),
	DUR("auth", "login_timeout", RELOAD, auth_login_timeout_ms, "10", SEC / 10, 3600 * SEC,
		"seconds an unauthenticated connection has to log in"),

	STR("push", "secret", RELOAD, push_secret, "", 0, 1024, NULL,
		"when set, push connections must first send {\"type\":\"auth\",\"secret\":...} "
		"(env GATECAST_PUSH_SECRET)"),

	STR("http", "listen", FIXED, http_listen, "127.0.0.1:2121", 0, 255, NULL,
		"host:port of the HTTP API, health checks and metrics; empty = disabled"),

	BOOL("demo", "enabled", FIXED, demo_enabled, "off",
		"on: the gateway serves the demo page at /demo/ and, at /demo/token, a token for "
		"any uid (never in production)"),

	STR("log", "level", FIXED, log_level, "info", 1, 31, config_level_choices,
		"least severe level written: debug, info, warn or error"),
	STR("log", "file", FIXED, log_file, "", 0, 4095, NULL,
		"file log lines are appended to; empty = stderr"),

	DUR("launcher", "restart_backoff_min", RELOAD, launcher_restart_min_ms, "0.2", 0, 3600 * SEC,
		"seconds before restarting a process that exited, the first time"),
	DUR("launcher", "restart_backoff_max", RELOAD, launcher_restart_max_ms, "10", SEC / 1000,
		86400 * SEC, "longest wait in seconds between restarts of a process"),
	DUR("launcher", "stop_timeout", RELOAD, launcher_stop_timeout_ms, "10", SEC / 10, 3600 * SEC,
		"seconds processes get to exit on shutdown before they are killed"),
	DUR("launcher", "start_timeout", RELOAD, launcher_start_timeout_ms, "30", SEC, 3600 * SEC,
		"seconds `gatecast start -d` waits for every process to be ready before it "
		"gives up, stops what it started and fails"),
};

#define CONFIG_NKEYS (sizeof config_keys / sizeof config_keys[0])
#define CONFIG_MIN_SECRET 32

static void config_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
config_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool
config_is_secret(const char *text)
{
	return strstr(text, "secret") != NULL;
}

/* Appends v quoted, or a stand-in when k holds a secret. */
static void
config_shown(struct buf *b, const struct config_key *k, const char *v)
{
	if (config_is_secret(k->section) || config_is_secret(k->name))
		buf_append_str(b, "the value");
	else
		buf_printf(b, "\"%s\"", v);
}

static bool
config_isdigit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool
config_isblank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static void
config_trim(const char **s, const char **e)
{
	while (*s < *e && config_isblank(**s))
		(*s)++;
	while (*e > *s && config_isblank((*e)[-1]))
		(*e)--;
}

/* Strips one pair of surrounding double quotes from a trimmed value. There
 * are no escapes: everything between the first and the last quote is kept.
 * Returns false for a value that opens a quote but does not end with one. */
static bool
config_unquote(const char **s, const char **e)
{
	if (*s == *e || **s != '"')
		return true;
	if (*e - *s < 2 || (*e)[-1] != '"')
		return false;
	(*s)++;
	(*e)--;
	return true;
}

static bool
config_section_known(const char *sec, size_t len)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		if (strlen(config_keys[i].section) == len &&
			memcmp(config_keys[i].section, sec, len) == 0)
			return true;
	return false;
}

static const struct config_key *
config_key_find(const char *sec, size_t seclen, const char *name, size_t namelen)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		if (strlen(k->section) == seclen && memcmp(k->section, sec, seclen) == 0 &&
			strlen(k->name) == namelen && memcmp(k->name, name, namelen) == 0)
			return k;
	}
	return NULL;
}

/* The parsers return 0, -EINVAL for text that is not of the type, or -ERANGE
 * for a well-formed number too large to hold (reported as out of bounds). */

static int
config_parse_uint(const char *s, uint64_t *v)
{
	uint64_t n = 0;
	bool big = false;
	const char *p = s;
	for (; config_isdigit(*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (n > (UINT64_MAX - d) / 10)
			big = true;
		else
			n = n * 10 + d;
	}
	if (p == s || *p != '\0')
		return -EINVAL;
	if (big)
		return -ERANGE;
	*v = n;
	return 0;
}

static int
config_parse_size(const char *s, uint64_t *v)
{
	size_t len = strlen(s);
	uint64_t mult = 1;
	if (len > 1) {
		switch (s[len - 1]) {
		case 'K': case 'k': mult = KIB; break;
		case 'M': case 'm': mult = MIB; break;
		case 'G': case 'g': mult = GIB; break;
		default: break;
		}
	}
	char *digits = xstrndup(s, mult == 1 ? len : len - 1);
	uint64_t n = 0;
	int r = config_parse_uint(digits, &n);
	free(digits);
	if (r < 0)
		return r;
	if (n > UINT64_MAX / mult)
		return -ERANGE;
	*v = n * mult;
	return 0;
}

/* Seconds with at most millisecond precision: "5", "0.25", ".5", "1.500". */
static int
config_parse_duration(const char *s, uint64_t *ms)
{
	uint64_t whole = 0, frac = 0;
	bool big = false, dot = false;
	size_t nwhole = 0, nfrac = 0;
	const char *p = s;
	for (; config_isdigit(*p); p++, nwhole++) {
		if (whole > UINT32_MAX)
			big = true; /* keep scanning: the syntax decides EINVAL first */
		else
			whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		dot = true;
		for (p++; config_isdigit(*p); p++, nfrac++) {
			if (nfrac < 3)
				frac = frac * 10 + (uint64_t)(*p - '0');
			else if (*p != '0')
				return -EINVAL; /* finer than a millisecond */
		}
	}
	if (*p != '\0' || nwhole + nfrac == 0 || (dot && nfrac == 0))
		return -EINVAL;
	for (size_t i = nfrac; i < 3; i++)
		frac *= 10;
	if (big || whole > UINT32_MAX / SEC)
		return -ERANGE;
	*ms = whole * SEC + frac;
	return 0;
}

/* Writes n the way a user would type it for a key of type t. */
static void
config_format_number(struct buf *b, enum config_type t, uint64_t n)
{
	switch (t) {
	case CONFIG_SIZE: {
		static const char units[] = "KMG";
		int u = -1;
		while (n != 0 && n % 1024 == 0 && u < 2) {
			n /= 1024;
			u++;
		}
		buf_printf(b, "%" PRIu64, n);
		if (u >= 0)
			buf_append_char(b, units[u]);
		break;
	}
	case CONFIG_DURATION: {
		buf_printf(b, "%" PRIu64, n / SEC);
		unsigned ms = (unsigned)(n % SEC);
		if (ms != 0) {
			char frac[8];
			snprintf(frac, sizeof frac, ".%03u", ms);
			size_t len = strlen(frac);
			while (frac[len - 1] == '0')
				len--;
			buf_append(b, frac, len);
		}
		break;
	}
	default:
		buf_printf(b, "%" PRIu64, n);
		break;
	}
}

static uint64_t
config_number_get(const struct config *c, const struct config_key *k)
{
	const char *field = (const char *)c + k->offset;
	if (k->type == CONFIG_SIZE)
		return *(const uint64_t *)(const void *)field;
	if (k->type == CONFIG_BOOL)
		return *(const bool *)(const void *)field;
	if (k->type == CONFIG_ENUM)
		return (uint64_t)*(const int *)(const void *)field;
	return *(const uint32_t *)(const void *)field;
}

static void
config_number_put(struct config *c, const struct config_key *k, uint64_t n)
{
	char *field = (char *)c + k->offset;
	if (k->type == CONFIG_SIZE)
		*(uint64_t *)(void *)field = n;
	else if (k->type == CONFIG_BOOL)
		*(bool *)(void *)field = n != 0;
	else if (k->type == CONFIG_ENUM)
		*(int *)(void *)field = (int)n; /* an index into choices */
	else
		*(uint32_t *)(void *)field = (uint32_t)n; /* max <= UINT32_MAX */
}

static char **
config_string_field(struct config *c, const struct config_key *k)
{
	return (char **)(void *)((char *)c + k->offset);
}

static const char *
config_string_get(const struct config *c, const struct config_key *k)
{
	return *(char *const *)(const void *)((const char *)c + k->offset);
}

/* Appends "section.key: "v" is not one of a, b" to why. */
static void
config_not_a_choice(struct buf *why, const struct config_key *k, const char *v)
{
	buf_printf(why, "%s.%s: ", k->section, k->name);
	config_shown(why, k, v);
	buf_append_str(why, " is not one of ");
	for (size_t j = 0; k->choices[j] != NULL; j++)
		buf_printf(why, "%s%s", j > 0 ? ", " : "", k->choices[j]);
}

/* Parses v as the value of k and stores it in c. On failure returns -EINVAL
 * and appends "section.key: <what>" to why. */
static int
config_key_apply(struct config *c, const struct config_key *k, const char *v, struct buf *why)
{
	uint64_t n = 0;
	int r;
	const char *what;

	switch (k->type) {
	case CONFIG_BOOL:
	case CONFIG_ENUM:
		for (size_t j = 0; k->choices[j] != NULL; j++) {
			if (strcmp(v, k->choices[j]) == 0) {
				config_number_put(c, k, j);
				return 0;
			}
		}
		config_not_a_choice(why, k, v);
		return -EINVAL;
	case CONFIG_STRING: {
		size_t len = strlen(v);
		if (len < k->min) {
			buf_printf(why, "%s.%s: must not be empty", k->section, k->name);
			return -EINVAL;
		}
		if (len > k->max) {
			buf_printf(why, "%s.%s: the value is %zu bytes long, more than %" PRIu64,
				k->section, k->name, len, k->max);
			return -EINVAL;
		}
		char **field = config_string_field(c, k);
		free(*field);
		*field = xstrdup(v);
		return 0;
	}
	case CONFIG_UINT32:
		r = config_parse_uint(v, &n);
		what = "a whole number";
		break;
	case CONFIG_SIZE:
		r = config_parse_size(v, &n);
		what = "a size (bytes, optionally with a K, M or G suffix)";
		break;
	case CONFIG_DURATION:
		r = config_parse_duration(v, &n);
		what = "a duration (seconds with at most 3 decimals, like 5 or 0.25)";
		break;
	default:
		abort();
	}

	if (r == -EINVAL) {
		buf_printf(why, "%s.%s: ", k->section, k->name);
		config_shown(why, k, v);
		buf_printf(why, " is not %s", what);
		if (strpbrk(v, "#;") != NULL)
			buf_append_str(why, "; comments go on a line of their own");
		return -EINVAL;
	}
	if (r == -ERANGE || n < k->min || n > k->max) {
		buf_printf(why, "%s.%s: ", k->section, k->name);
		config_shown(why, k, v);
		buf_append_str(why, " is out of bounds (");
		config_format_number(why, k->type, k->min);
		buf_append_str(why, "..");
		config_format_number(why, k->type, k->max);
		buf_append_char(why, ')');
		return -EINVAL;
	}
	config_number_put(c, k, n);
	return 0;
}

void
config_defaults(struct config *c)
{
	struct buf why = BUF_INIT;
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		/* A default that does not parse or is out of its own bounds is a
		 * bug in the table above; config_test catches it. */
		if (config_key_apply(c, &config_keys[i], config_keys[i].def, &why) < 0)
			abort();
	}
	buf_fini(&why);
}

void
config_fini(struct config *c)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		if (config_keys[i].type != CONFIG_STRING)
			continue;
		char **field = config_string_field(c, &config_keys[i]);
		free(*field);
		*field = NULL;
	}
}

/* Reads the whole file into text. On failure sets err to "<path>: <why>". */
static int
config_read(const char *path, struct buf *text, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;
		config_err(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	int r = 0;
	for (;;) {
		buf_reserve(text, 4096);
		ssize_t n = read(fd, text->p + text->len, text->cap - text->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			config_err(err, errlen, "%s: %s", path, strerror(-r));
			break;
		}
		if (n == 0)
			break;
		text->len += (size_t)n;
		text->p[text->len] = '\0';
		if (text->len > CONFIG_FILE_MAX) {
			r = -EFBIG;
			config_err(err, errlen, "%s: larger than %dK, not a config file", path,
				CONFIG_FILE_MAX / 1024);
			break;
		}
	}
	close(fd);
	return r;
}

/* Handles one trimmed, non-empty, non-comment line [s, e). sec and seclen
 * hold the current section, updated by "[section]" lines. */
static int
config_parse_line(struct config *c, const char *s, const char *e, const char **sec,
	size_t *seclen, struct buf *why)
{
	if (*s == '[') {
		if (e[-1] != ']') {
			buf_printf(why, "a section line must end with \"]\"");
			return -EINVAL;
		}
		const char *ns = s + 1, *ne = e - 1;
		config_trim(&ns, &ne);
		if (!config_section_known(ns, (size_t)(ne - ns))) {
			buf_printf(why, "unknown section \"[%.*s]\"", (int)(ne - ns), ns);
			return -EINVAL;
		}
		*sec = ns;
		*seclen = (size_t)(ne - ns);
		return 0;
	}

	const char *eq = memchr(s, '=', (size_t)(e - s));
	if (eq == NULL) {
		buf_printf(why, "expected \"key = value\", \"[section]\" or a comment");
		return -EINVAL;
	}
	const char *ks = s, *ke = eq;
	config_trim(&ks, &ke);
	if (ks == ke) {
		buf_printf(why, "missing key before \"=\"");
		return -EINVAL;
	}
	if (*sec == NULL) {
		buf_printf(why, "key \"%.*s\" comes before any [section]", (int)(ke - ks), ks);
		return -EINVAL;
	}
	const struct config_key *k = config_key_find(*sec, *seclen, ks, (size_t)(ke - ks));
	if (k == NULL) {
		buf_printf(why, "unknown key \"%.*s.%.*s\"", (int)*seclen, *sec, (int)(ke - ks),
			ks);
		return -EINVAL;
	}
	const char *vs = eq + 1, *ve = e;
	config_trim(&vs, &ve);
	if (!config_unquote(&vs, &ve)) {
		buf_printf(why, "%s.%s: a value that starts with a quote must end with one",
			k->section, k->name);
		return -EINVAL;
	}
	char *v = xstrndup(vs, (size_t)(ve - vs));
	int r = config_key_apply(c, k, v, why);
	free(v);
	return r;
}

int
config_load_buffer(struct config *c, const char *name, const char *text, size_t len, char *err,
	size_t errlen)
{
	struct buf why = BUF_INIT;
	const char *sec = NULL;
	size_t seclen = 0;
	unsigned line = 0;
	int r = 0;

	const char *p = text != NULL ? text : "", *end = p + (text != NULL ? len : 0);
	if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3; /* UTF-8 byte order mark, as some editors write */
	while (p < end) {
		line++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *e = nl != NULL ? nl : end;
		p = nl != NULL ? nl + 1 : end;
		if (e > s && e[-1] == '\r')
			e--;
		if (memchr(s, '\0', (size_t)(e - s)) != NULL) {
			buf_printf(&why, "the line contains a NUL byte");
			r = -EINVAL;
			break;
		}
		config_trim(&s, &e);
		if (s == e || *s == '#' || *s == ';')
			continue;
		r = config_parse_line(c, s, e, &sec, &seclen, &why);
		if (r < 0)
			break;
	}
	if (r < 0)
		config_err(err, errlen, "%s:%u: %s", name, line, why.p);
	buf_fini(&why);
	return r;
}

int
config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	struct buf text = BUF_INIT;

	int r = config_read(path, &text, err, errlen);
	if (r == 0)
		r = config_load_buffer(c, path, text.p, text.len, err, errlen);
	buf_fini(&text);
	return r;
}

int
config_set(struct config *c, const char *assignment, char *err, size_t errlen)
{
	struct buf where = BUF_INIT, why = BUF_INIT;
	const struct config_key *k = NULL;
	char *v = NULL;
	int r = -EINVAL;

	const char *eq = strchr(assignment, '=');
	const char *ks = assignment, *ke = eq != NULL ? eq : assignment + strlen(assignment);
	config_trim(&ks, &ke);

	/* Name the argument, minus its value when the key looks secret. */
	if (eq != NULL && config_is_secret(assignment))
		buf_printf(&where, "--set %.*s=(hidden)", (int)(eq - assignment), assignment);
	else
		buf_printf(&where, "--set %s", assignment);

	if (eq == NULL) {
		buf_printf(&why, "expected section.key=value");
		goto fail;
	}
	const char *dot = memchr(ks, '.', (size_t)(ke - ks));
	if (dot == NULL || dot == ks || dot + 1 == ke) {
		buf_printf(&why, "\"%.*s\" is not section.key", (int)(ke - ks), ks);
		goto fail;
	}
	if (!config_section_known(ks, (size_t)(dot - ks))) {
		buf_printf(&why, "unknown section \"%.*s\"", (int)(dot - ks), ks);
		goto fail;
	}
	k = config_key_find(ks, (size_t)(dot - ks), dot + 1, (size_t)(ke - dot - 1));
	if (k == NULL) {
		buf_printf(&why, "unknown key \"%.*s\"", (int)(ke - ks), ks);
		goto fail;
	}
	const char *vs = eq + 1, *ve = eq + strlen(eq);
	config_trim(&vs, &ve);
	if (!config_unquote(&vs, &ve)) {
		buf_printf(&why, "%s.%s: a value that starts with a quote must end with one",
			k->section, k->name);
		goto fail;
	}
	v = xstrndup(vs, (size_t)(ve - vs));
	r = config_key_apply(c, k, v, &why);
	if (r == 0)
		goto done;
fail:
	r = -EINVAL;
	config_err(err, errlen, "%s: %s", where.p, why.p);
done:
	free(v);
	buf_fini(&where);
	buf_fini(&why);
	return r;
}

/* "a (3 s) must be shorter than b (3 s)" unless the duration a < b (or
 * a <= b when equal_ok). */
static int
config_check_order(uint32_t a, const char *aname, uint32_t b, const char *bname, bool equal_ok,
	char *err, size_t errlen)
{
	if (a < b || (equal_ok && a == b))
		return 0;
	struct buf as = BUF_INIT, bs = BUF_INIT;
	config_format_number(&as, CONFIG_DURATION, a);
	config_format_number(&bs, CONFIG_DURATION, b);
	config_err(err, errlen, "%s (%s s) must be %s %s (%s s)", aname, as.p,
		equal_ok ? "at most" : "shorter than", bname, bs.p);
	buf_fini(&as);
	buf_fini(&bs);
	return -EINVAL;
}

int
config_validate(const struct config *c, char *err, size_t errlen)
{
	if (config_check_order(c->register_renew_ms, "register.renew", c->register_lease_ms,
		    "register.lease", false, err, errlen) < 0 ||
		config_check_order(c->gateway_ping_interval_ms, "gateway.ping_interval",
			c->gateway_idle_timeout_ms, "gateway.idle_timeout", false, err,
			errlen) < 0 ||
		config_check_order(c->launcher_restart_min_ms, "launcher.restart_backoff_min",
			c->launcher_restart_max_ms, "launcher.restart_backoff_max", true, err,
			errlen) < 0)
		return -EINVAL;

	if (c->auth_mode == CONFIG_AUTH_TOKEN &&
		strlen(c->auth_secret) < CONFIG_MIN_SECRET) {
		config_err(err, errlen,
			"auth.secret: %s; set it (or GATECAST_AUTH_SECRET) to at least %d random "
			"bytes, or run without client authentication with auth.mode = none",
			c->auth_secret[0] ? "too short" : "missing", CONFIG_MIN_SECRET);
		return -EINVAL;
	}
	if (c->auth_previous_secret[0] && strlen(c->auth_previous_secret) < CONFIG_MIN_SECRET) {
		config_err(err, errlen, "auth.previous_secret: shorter than %d bytes",
			CONFIG_MIN_SECRET);
		return -EINVAL;
	}
	if ((c->cluster_tls_cert[0] != 0) != (c->cluster_tls_key[0] != 0)) {
		config_err(err, errlen, "cluster.tls_cert and cluster.tls_key go together");
		return -EINVAL;
	}

	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->type != CONFIG_STRING || k->choices == NULL)
			continue;
		const char *v = config_string_get(c, k);
		bool ok = false;
		for (size_t j = 0; v != NULL && k->choices[j] != NULL; j++)
			if (strcmp(v, k->choices[j]) == 0)
				ok = true;
		if (ok)
			continue;
		struct buf why = BUF_INIT;
		config_not_a_choice(&why, k, v != NULL ? v : "");
		config_err(err, errlen, "%s", why.p);
		buf_fini(&why);
		return -EINVAL;
	}
	return 0;
}

/* Where the "# meaning" starts in config_describe's lines, when it fits. */
#define CONFIG_DESCRIBE_COLUMN 44

void
config_apply_runtime(struct config *dst, const struct config *src, struct buf *changed,
	struct buf *fixed)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		bool differs;
		if (k->type == CONFIG_STRING) {
			const char *a = config_string_get(dst, k), *b = config_string_get(src, k);
			differs = strcmp(a != NULL ? a : "", b != NULL ? b : "") != 0;
		} else {
			differs = config_number_get(dst, k) != config_number_get(src, k);
		}
		if (!differs)
			continue;
		struct buf *list = k->reloadable ? changed : fixed;
		buf_printf(list, "%s%s.%s", list->len > 0 ? "," : "", k->section, k->name);
		if (list != changed)
			continue;
		if (k->type == CONFIG_STRING) {
			char **field = config_string_field(dst, k);
			free(*field);
			*field = xstrdup(config_string_get(src, k));
		} else {
			config_number_put(dst, k, config_number_get(src, k));
		}
	}
}

char *
config_describe(const struct config *c)
{
	struct buf out = BUF_INIT;
	struct config defaults;
	bool own = c == NULL;
	if (own) {
		config_defaults(&defaults);
		c = &defaults;
	}

	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		if (i > 0 && strcmp(k->section, config_keys[i - 1].section) != 0)
			buf_append_char(&out, '\n');
		size_t start = out.len;
		buf_printf(&out, "%s.%s = ", k->section, k->name);
		if (k->type == CONFIG_BOOL || k->type == CONFIG_ENUM) {
			buf_append_str(&out, k->choices[config_number_get(c, k)]);
		} else if (k->type != CONFIG_STRING) {
			config_format_number(&out, k->type, config_number_get(c, k));
		} else {
			const char *v = config_string_get(c, k);
			size_t len = v != NULL ? strlen(v) : 0;
			if (len > 0 && (config_is_secret(k->section) || config_is_secret(k->name)))
				buf_append_str(&out, "(hidden)");
			else if (len == 0 || config_isblank(v[0]) || config_isblank(v[len - 1]) ||
				v[0] == '"')
				buf_printf(&out, "\"%s\"", v != NULL ? v : "");
			else
				buf_append_str(&out, v);
		}
		do
			buf_append_char(&out, ' ');
		while (out.len - start < CONFIG_DESCRIBE_COLUMN);
		buf_printf(&out, " # %s%s\n", k->doc, k->reloadable ? " (reloadable)" : "");
	}

	if (own)
		config_fini(&defaults);
	return buf_steal(&out, NULL);
}

int
config_from_args(struct config *c, int argc, char **argv, int first, int *rest, int *nrest,
	char *err, size_t errlen)
{
	const char *file = NULL;
	const char *opt = NULL;
	int r = -EINVAL;

	config_defaults(c);
	if (nrest != NULL)
		*nrest = 0;

	/* First pass: find the file, check each option has its argument and
	 * hand back the rest, so the file is read before any --set applies
	 * wherever the options stand. "--" ends the options; it and what
	 * follows go to rest untouched. */
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		const char *name = NULL;
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0') {
				config_err(err, errlen, "%s: missing file name", a);
				goto fail;
			}
			opt = a;
			name = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			if (a[9] == '\0') {
				config_err(err, errlen, "--config: missing file name");
				goto fail;
			}
			opt = "--config";
			name = a + 9;
		} else if (strcmp(a, "--set") == 0) {
			if (i + 1 >= argc) {
				config_err(err, errlen, "--set: missing section.key=value");
				goto fail;
			}
			i++;
		} else if (strncmp(a, "--set=", 6) == 0) {
			continue;
		} else {
			int last = strcmp(a, "--") == 0 ? argc - 1 : i;
			for (; i <= last; i++) {
				if (rest == NULL || nrest == NULL) {
					config_err(err, errlen, "unexpected argument \"%s\"", argv[i]);
					goto fail;
				}
				rest[(*nrest)++] = i;
			}
			i--;
		}
		if (name != NULL) {
			if (file != NULL) {
				config_err(err, errlen, "%s %s: a config file is already given (%s)",
					opt, name, file);
				goto fail;
			}
			file = name;
		}
	}

	if (file != NULL && config_load_file(c, file, err, errlen) < 0)
		goto fail;
	/* Secrets from the environment keep them out of argv (ps) and files. */
	static const struct {
		const char *env, *key;
	} secret_env[] = {
		{"GATECAST_CLUSTER_SECRET", "cluster.secret"},
		{"GATECAST_AUTH_SECRET", "auth.secret"},
		{"GATECAST_AUTH_PREVIOUS_SECRET", "auth.previous_secret"},
		{"GATECAST_PUSH_SECRET", "push.secret"},
	};
	for (size_t i = 0; i < sizeof secret_env / sizeof secret_env[0]; i++) {
		const char *v = getenv(secret_env[i].env);
		if (v == NULL || v[0] == '\0')
			continue;
		struct buf kv = BUF_INIT;
		buf_printf(&kv, "%s=%s", secret_env[i].key, v);
		int rc = config_set(c, kv.p, err, errlen);
		buf_fini(&kv);
		if (rc < 0)
			goto fail;
	}
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			i++;
		} else if (strcmp(a, "--set") == 0) {
			if (config_set(c, argv[++i], err, errlen) < 0)
				goto fail;
		} else if (strncmp(a, "--set=", 6) == 0) {
			if (config_set(c, a + 6, err, errlen) < 0)
				goto fail;
		}
	}
	if (config_validate(c, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	/* Nothing left to free, yet config_fini by the caller stays harmless. */
	config_fini(c);
	return r;
}
