/*
 * config_test — defaults, the INI reader, --set, validation and the command
 * line of every program. Takes an optional argv[1]: the path of
 * deploy/gatecast.ini.example, which must load and hold every default.
 */
#include "common/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "tests/tap.h"

#define SECRET32 "0123456789abcdef0123456789abcdef"

#define TEMP_MAX 64

static char temp_paths[TEMP_MAX][64];
static int temp_n;

/* Writes len bytes of text to a new temporary file and returns its path
 * (removed at the end of main). */
static const char *
temp_file_n(const char *text, size_t len)
{
	if (temp_n == TEMP_MAX)
		abort();
	char *path = temp_paths[temp_n];
	snprintf(path, sizeof temp_paths[0], "/tmp/gatecast-config-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		abort();
	if (write(fd, text, len) != (ssize_t)len)
		abort();
	close(fd);
	temp_n++;
	return path;
}

static const char *
temp_file(const char *text)
{
	return temp_file_n(text, strlen(text));
}

/* Loads len bytes of text on top of the defaults; returns the result, err
 * holds the message and *path the file's name. The config is handed back in
 * keep, or finalised when keep is NULL. */
static int
load_text_n(const char *text, size_t len, struct config *keep, char *err, size_t errlen,
	const char **path)
{
	struct config c;
	const char *p = temp_file_n(text, len);
	if (path != NULL)
		*path = p;
	config_defaults(&c);
	err[0] = '\0';
	int r = config_load_file(&c, p, err, errlen);
	if (keep != NULL)
		*keep = c;
	else
		config_fini(&c);
	return r;
}

static int
load_text(const char *text, struct config *keep, char *err, size_t errlen, const char **path)
{
	return load_text_n(text, strlen(text), keep, err, errlen, path);
}

/* Whether err starts with "<path>:<line>: " and then contains what. */
static int
err_is(const char *err, const char *path, int line, const char *what)
{
	char prefix[128];
	snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
	return strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, what) != NULL;
}

static int
set(struct config *c, const char *assignment, char *err, size_t errlen)
{
	err[0] = '\0';
	return config_set(c, assignment, err, errlen);
}

static void
test_defaults(void)
{
	struct config c;
	char err[256] = "";
	config_defaults(&c);
	tap_eq_str(c.cluster_run_dir, "/tmp/gatecast", "the default run_dir is /tmp/gatecast");
	tap_eq_str(c.register_listen, "tcp://127.0.0.1:1238", "the default registry URL is right");
	tap_eq_str(c.register_connect, "", "register.connect defaults to empty");
	tap_eq_int(c.register_lease_ms, 3000, "the default lease is 3 s");
	tap_eq_int(c.register_renew_ms, 1000, "the default renew is 1 s");
	tap_eq_int(c.gateway_count, 0, "gateway.count defaults to one per core");
	tap_eq_str(c.gateway_ws_listen, "0.0.0.0:7272", "the default ws_listen is right");
	tap_eq_str(c.gateway_push_listen, "127.0.0.1:8806", "the default push_listen is right");
	tap_eq_str(c.gateway_inbox, "", "gateway.inbox defaults to empty");
	tap_eq_int(c.gateway_ping_interval_ms, 25000, "the default ping interval is 25 s");
	tap_eq_int(c.gateway_idle_timeout_ms, 60000, "the default idle timeout is 60 s");
	tap_eq_int(c.gateway_handshake_timeout_ms, 10000, "the default handshake timeout is 10 s");
	tap_eq_int(c.gateway_max_message, 64 * 1024, "the default max_message is 64K");
	tap_eq_int(c.gateway_max_output, 1024 * 1024, "the default max_output is 1M");
	tap_eq_int(c.gateway_max_line, 1024 * 1024, "the default max_line is 1M");
	tap_eq_int(c.gateway_max_connections, 100000, "the default max_connections is 100000");
	tap_eq_int(c.gateway_request_timeout_ms, 5000, "the default request timeout is 5 s");
	tap_eq_int(c.gateway_worker_wait_ms, 5000, "the default worker wait is 5 s");
	tap_eq_int(c.gateway_max_pending, 65536, "the default max_pending is 65536");
	tap_eq_int(c.gateway_max_uid_len, 128, "the default max_uid_len is 128");
	tap_eq_int(c.gateway_max_group_len, 128, "the default max_group_len is 128");
	tap_eq_int(c.worker_count, 0, "worker.count defaults to one per core");
	tap_eq_str(c.worker_app, "builtin", "the default app is builtin");
	tap_eq_str(c.worker_inbox, "", "worker.inbox defaults to empty");
	tap_eq_int(c.worker_query_timeout_ms, 3000, "the default query timeout is 3 s");
	tap_eq_str(c.gateway_presence_groups, "", "no group gets online counts by default");
	tap_eq_int(c.worker_presence_max_groups, 65536, "a worker counts up to 65536 groups at once");
	tap_ok(!c.demo_enabled, "the demo is off by default");
	tap_ok(c.auth_mode == CONFIG_AUTH_TOKEN, "the default auth mode is token");
	tap_eq_str(c.log_level, "info", "the default log level is info");
	tap_eq_str(c.log_file, "", "log.file defaults to empty (stderr)");
	tap_eq_int(c.launcher_restart_min_ms, 200, "the default restart backoff starts at 0.2 s");
	tap_eq_int(c.launcher_restart_max_ms, 10000, "the default restart backoff ends at 10 s");
	tap_eq_int(c.launcher_stop_timeout_ms, 10000, "the default stop timeout is 10 s");
	tap_eq_int(config_validate(&c, err, sizeof err), -EINVAL,
		"the defaults need an auth secret: nobody runs without authentication by accident");
	set(&c, "auth.secret=" SECRET32, err, sizeof err);
	tap_eq_int(config_validate(&c, err, sizeof err), 0, "the defaults with a secret pass validation");
	config_fini(&c);
	tap_ok(c.cluster_run_dir == NULL && c.log_file == NULL, "config_fini clears the strings");
	config_fini(&c);
	tap_ok(1, "config_fini may be called twice");
}

static void
test_file(void)
{
	struct config c;
	char err[256];
	int r = load_text("# a comment\n"
			  "  ; another comment\n"
			  "\n"
			  "[gateway]\n"
			  "count = 4\n"
			  "  ws_listen=127.0.0.1:9000  \n"
			  "max_message = 2M\r\n"
			  "ping_interval = 0.5\n"
			  "[ log ]\n"
			  "level = debug\n"
			  "file = \"  spaced name  \"\n"
			  "[worker]\n"
			  "inbox = ipc:///tmp/x # not a comment\n"
			  "[register]\n"
			  "connect = \"\"\n"
			  "[gateway]\n"
			  "count = 5\n",
		&c, err, sizeof err, NULL);
	tap_eq_int(r, 0, "a file with comments, blanks and CRLF loads");
	tap_eq_int(c.gateway_count, 5, "file overrides, and a later line wins");
	tap_eq_str(c.gateway_ws_listen, "127.0.0.1:9000", "values and keys are trimmed");
	tap_eq_int(c.gateway_max_message, 2 * 1024 * 1024, "a CRLF line ending is dropped");
	tap_eq_int(c.gateway_ping_interval_ms, 500, "a duration of 0.5 is 500 ms");
	tap_eq_str(c.log_level, "debug", "blanks inside a section's brackets are ignored");
	tap_eq_str(c.log_file, "  spaced name  ", "quoted values keep blanks");
	tap_eq_str(c.worker_inbox, "ipc:///tmp/x # not a comment",
		"a '#' after a value is part of the value");
	tap_ok(r == 0 && c.register_connect != NULL && c.register_connect[0] == '\0',
		"\"\" is an empty string");
	tap_eq_str(c.gateway_push_listen, "127.0.0.1:8806", "keys not in the file keep defaults");
	config_fini(&c);

	r = load_text("", &c, err, sizeof err, NULL);
	tap_eq_int(r, 0, "an empty file loads");
	config_fini(&c);
	r = load_text("\xEF\xBB\xBF[log]\nlevel = warn", &c, err, sizeof err, NULL);
	tap_ok(r == 0 && strcmp(c.log_level, "warn") == 0,
		"a byte order mark and a missing final newline are fine");
	config_fini(&c);

	config_defaults(&c);
	r = config_load_file(&c, "/nonexistent/gatecast.ini", err, sizeof err);
	tap_eq_int(r, -ENOENT, "a missing file returns -ENOENT");
	tap_ok(strncmp(err, "/nonexistent/gatecast.ini: ", 27) == 0,
		"a missing file's error names the path");
	r = config_load_file(&c, "/tmp", err, sizeof err);
	tap_eq_int(r, -EISDIR, "a directory cannot be loaded");
	config_fini(&c);
}

static void
test_numbers(void)
{
	struct config c;
	char err[256];
	config_defaults(&c);
	static const struct {
		const char *set;
		uint64_t want;
	} sizes[] = {
		{"gateway.max_output=4096", 4096},
		{"gateway.max_output=4K", 4096},
		{"gateway.max_output=4k", 4096},
		{"gateway.max_output=3M", 3 * 1024 * 1024},
		{"gateway.max_output=1G", 1024 * 1024 * 1024},
		{"gateway.max_output=\"8K\"", 8192},
	};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char name[96];
		snprintf(name, sizeof name, "sizes with suffixes: %s", sizes[i].set);
		int r = set(&c, sizes[i].set, err, sizeof err);
		tap_ok(r == 0 && c.gateway_max_output == sizes[i].want, name);
	}

	static const struct {
		const char *set;
		uint32_t want;
	} durations[] = {
		{"launcher.stop_timeout=7", 7000},
		{"launcher.stop_timeout=0.25", 250},
		{"launcher.stop_timeout=.5", 500},
		{"launcher.stop_timeout=1.5", 1500},
		{"launcher.stop_timeout=2.0010", 2001},
		{"launcher.stop_timeout=3600", 3600000},
	};
	for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
		char name[96];
		snprintf(name, sizeof name, "durations with fractions: %s", durations[i].set);
		int r = set(&c, durations[i].set, err, sizeof err);
		tap_ok(r == 0 && c.launcher_stop_timeout_ms == durations[i].want, name);
	}
	tap_ok(set(&c, "gateway.worker_wait=0", err, sizeof err) == 0 &&
			c.gateway_worker_wait_ms == 0,
		"a zero worker_wait is allowed");

	static const char *const bad[] = {
		"gateway.max_output=12Q",     "gateway.max_output=1.5K",
		"gateway.max_output=-1",      "gateway.max_output=K",
		"gateway.max_output=",        "gateway.max_output= 1 K",
		"gateway.count=+1",           "gateway.count=0x10",
		"gateway.count=1e3",          "launcher.stop_timeout=5s",
		"launcher.stop_timeout=1.",   "launcher.stop_timeout=0.0005",
		"launcher.stop_timeout=.",    "launcher.stop_timeout=1,5",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[96];
		snprintf(name, sizeof name, "a bad value is refused: %s", bad[i]);
		tap_ok(set(&c, bad[i], err, sizeof err) == -EINVAL && strstr(err, " is not ") != NULL,
			name);
	}

	static const char *const out[] = {
		"gateway.max_message=15",      "gateway.max_message=257M",
		"gateway.max_message=17179869184G", "gateway.count=1025",
		"gateway.count=99999999999999999999999", "gateway.max_connections=0",
		"launcher.stop_timeout=0",     "launcher.stop_timeout=3600.001",
		"launcher.stop_timeout=99999999999", "register.lease=0.099",
	};
	for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
		char name[96];
		snprintf(name, sizeof name, "out of bounds is refused: %s", out[i]);
		tap_ok(set(&c, out[i], err, sizeof err) == -EINVAL &&
				strstr(err, "out of bounds") != NULL,
			name);
	}
	set(&c, "gateway.max_message=1G", err, sizeof err);
	tap_eq_str(err, "--set gateway.max_message=1G: gateway.max_message: \"1G\" is out of "
			"bounds (16..256M)",
		"an out of bounds error shows the bounds in the key's unit");
	set(&c, "launcher.restart_backoff_max=0", err, sizeof err);
	tap_ok(strstr(err, "(0.001..86400)") != NULL, "duration bounds are shown in seconds");
	set(&c, "cluster.run_dir=", err, sizeof err);
	tap_ok(strstr(err, "cluster.run_dir: must not be empty") != NULL,
		"a string with a minimum length refuses empty");
	tap_eq_int(set(&c, "cluster.run_dir=/a/very/long/path/that/goes/on/and/on/and/on/"
			      "and/on/beyond/eighty/bytes/for/sure/yes",
			   err, sizeof err),
		-EINVAL, "a too long run_dir is refused");
	tap_eq_str(c.cluster_run_dir, "/tmp/gatecast", "a refused value leaves the old one");
	config_fini(&c);
}

static void
test_errors(void)
{
	char err[256];
	const char *path;
	static const char nul[] = "[log]\n\n\nlevel = info\nfile = a\0b\n";
	static const struct {
		const char *text;
		size_t len; /* 0 = strlen(text) */
		int line;
		const char *what;
		const char *name;
	} cases[] = {
		{"[gateway]\n\nfoo = 1\n", 0, 3, "unknown key \"gateway.foo\"", "unknown key"},
		{"# x\n[gateways]\n", 0, 2, "unknown section \"[gateways]\"", "unknown section"},
		{"[gateway]\nmax_message = 12Q\n", 0, 2,
			"gateway.max_message: \"12Q\" is not a size", "bad value"},
		{"[gateway]\nmax_message = 1G\n", 0, 2,
			"gateway.max_message: \"1G\" is out of bounds (16..256M)", "out of bounds"},
		{"count = 1\n", 0, 1, "comes before any [section]", "a key outside a section"},
		{"[gateway]\ncount 1\n", 0, 2, "expected \"key = value\"", "a line without \"=\""},
		{"[gateway]\n = 1\n", 0, 2, "missing key", "a line without a key"},
		{"[gateway\n", 0, 1, "must end with \"]\"", "an unclosed section"},
		{"[]\n", 0, 1, "unknown section \"[]\"", "an empty section name"},
		{"[log]\nfile = \"abc\n", 0, 2, "log.file: a value that starts with a quote",
			"an unterminated quote"},
		{"[log]\nfile = \"abc\" x\n", 0, 2, "must end with one", "text after a closing quote"},
		{"[gateway]\ncount = 4 # four\n", 0, 2,
			"\"4 # four\" is not a whole number; comments go on a line of their own",
			"an inline comment on a number"},
		{"[log]\r\nlevel = info\r\n[x]\r\n", 0, 3, "unknown section \"[x]\"",
			"an error in a CRLF file"},
		{nul, sizeof nul - 1, 5, "NUL byte", "a NUL byte"},
		{"[auth]\nmode = open\n", 0, 2, "auth.mode: \"open\" is not one of token, none",
			"an auth.mode other than token or none"},
		{"[demo]\nenabled = true\n", 0, 2, "demo.enabled: \"true\" is not one of off, on",
			"a demo.enabled other than on or off"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[128];
		size_t len = cases[i].len != 0 ? cases[i].len : strlen(cases[i].text);
		int r = load_text_n(cases[i].text, len, NULL, err, sizeof err, &path);
		int ok = err_is(err, path, cases[i].line, cases[i].what);
		snprintf(name, sizeof name, "%s is an error naming file and line", cases[i].name);
		tap_ok(r == -EINVAL && ok, name);
		if (!ok)
			printf("#   got \"%s\"\n", err);
	}

	load_text("[gateway]\nfoo = 1\n", NULL, err, sizeof err, &path);
	char want[128];
	snprintf(want, sizeof want, "%s:2: unknown key \"gateway.foo\"", path);
	tap_eq_str(err, want, "an error reads <path>:<line>: <what>");

	int r = load_text("[log]\nlevel = 1\n", NULL, err, sizeof err, NULL);
	tap_eq_int(r, 0, "enum-like strings are checked by config_validate, not the loader");
}

static void
test_set(void)
{
	struct config c;
	char err[256];
	config_defaults(&c);
	tap_eq_int(set(&c, "gateway.count=3", err, sizeof err), 0, "--set applies a value");
	tap_eq_int(c.gateway_count, 3, "--set stores the value");
	tap_eq_int(set(&c, " log.file = \" x \"", err, sizeof err), 0, "--set trims and unquotes");
	tap_eq_str(c.log_file, " x ", "--set keeps blanks inside quotes");
	tap_eq_int(set(&c, "register.connect=", err, sizeof err), 0, "--set accepts empty");
	tap_eq_str(c.register_connect, "", "--set with nothing after = stores empty");
	tap_eq_int(set(&c, "worker.inbox=a=b", err, sizeof err), 0, "--set splits at the first =");
	tap_eq_str(c.worker_inbox, "a=b", "the value may contain =");

	set(&c, "gateway.foo=1", err, sizeof err);
	tap_eq_str(err, "--set gateway.foo=1: unknown key \"gateway.foo\"",
		"--set names the argument and the unknown key");
	set(&c, "gw.count=1", err, sizeof err);
	tap_eq_str(err, "--set gw.count=1: unknown section \"gw\"", "--set reports an unknown section");
	set(&c, "gateway.count", err, sizeof err);
	tap_eq_str(err, "--set gateway.count: expected section.key=value", "--set needs an =");
	set(&c, "count=1", err, sizeof err);
	tap_eq_str(err, "--set count=1: \"count\" is not section.key", "--set needs a section");
	set(&c, "gateway.count=x", err, sizeof err);
	tap_eq_str(err, "--set gateway.count=x: gateway.count: \"x\" is not a whole number",
		"--set reports a bad value");
	tap_eq_int(set(&c, "demo.enabled=on", err, sizeof err), 0, "--set demo.enabled=on is accepted");
	tap_ok(c.demo_enabled, "and stored as true");
	tap_eq_int(set(&c, "auth.mode=none", err, sizeof err), 0, "--set auth.mode=none is accepted");
	tap_ok(c.auth_mode == CONFIG_AUTH_NONE, "and stored as CONFIG_AUTH_NONE");
	set(&c, "demo.enabled=yes", err, sizeof err);
	tap_eq_str(err, "--set demo.enabled=yes: demo.enabled: \"yes\" is not one of off, on",
		"--set reports a value that is not one of a switch's two");
	tap_ok(c.demo_enabled, "and a refused value leaves the old one");
	set(&c, "auth.secret_key=hunter2", err, sizeof err);
	tap_ok(strstr(err, "hunter2") == NULL && strstr(err, "auth.secret_key") != NULL,
		"an error never shows the value of a key named secret");
	config_fini(&c);
}

static void
test_validate(void)
{
	struct config c;
	char err[256];
	static const struct {
		const char *set;
		const char *what;
		const char *name;
	} cases[] = {
		{"register.renew=3", "register.renew (3 s) must be shorter than register.lease (3 s)",
			"renew must be shorter than lease"},
		{"gateway.ping_interval=60", "gateway.ping_interval (60 s) must be shorter than "
					     "gateway.idle_timeout (60 s)",
			"ping_interval must be shorter than idle_timeout"},
		{"launcher.restart_backoff_min=11", "launcher.restart_backoff_min (11 s) must be at "
						    "most launcher.restart_backoff_max (10 s)",
			"the restart backoff minimum must not pass the maximum"},
		{"auth.secret=short", "auth.secret: too short; set it (or GATECAST_AUTH_SECRET) to at "
				      "least 32 random bytes, or run without client authentication "
				      "with auth.mode = none",
			"a short auth secret is refused"},
		{"worker.app=chat", "worker.app: \"chat\" is not one of builtin, echo",
			"worker.app must be known"},
		{"log.level=trace", "log.level: \"trace\" is not one of debug, info, warn, error",
			"log.level must be known"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		config_defaults(&c);
		set(&c, "auth.secret=" SECRET32, err, sizeof err);
		if (set(&c, cases[i].set, err, sizeof err) != 0)
			abort();
		err[0] = '\0';
		int r = config_validate(&c, err, sizeof err);
		tap_eq_int(r, -EINVAL, cases[i].name);
		tap_eq_str(err, cases[i].what, "the validation error explains the rule");
		config_fini(&c);
	}
	config_defaults(&c);
	set(&c, "auth.mode=none", err, sizeof err);
	set(&c, "worker.app=echo", err, sizeof err);
	set(&c, "log.level=error", err, sizeof err);
	set(&c, "launcher.restart_backoff_min=10", err, sizeof err);
	set(&c, "register.renew=2.999", err, sizeof err);
	set(&c, "demo.enabled=on", err, sizeof err);
	tap_eq_int(config_validate(&c, err, sizeof err), 0, "valid alternatives pass validation");
	config_fini(&c);
}

static void
test_describe(void)
{
	char *d = config_describe(NULL);
	struct config c;
	config_defaults(&c);
	char *d2 = config_describe(&c);
	tap_eq_str(d, d2, "describing NULL describes the defaults");
	tap_ok(strstr(d, "gateway.max_message = 64K ") != NULL, "describe shows sizes with suffix");
	tap_ok(strstr(d, "launcher.restart_backoff_min = 0.2 ") != NULL,
		"describe shows durations in seconds");
	tap_ok(strstr(d, "register.connect = \"\" ") != NULL, "describe quotes empty strings");
	tap_ok(strstr(d, "log.level = info ") != NULL, "describe shows plain strings bare");
	tap_ok(strncmp(d, "cluster.run_dir = /tmp/gatecast ", 32) == 0 &&
			strstr(d, "  # directory") != NULL,
		"a line reads section.key = value  # meaning");
	tap_ok(strstr(d, "\n\nregister.listen") != NULL && strstr(d, "\n\nlauncher.") != NULL,
		"sections are separated by a blank line");
	int lines = 0;
	for (const char *p = d; *p != '\0'; p++)
		if (*p == '\n' && p[1] != '\n' && p[1] != '\0')
			lines++;
	tap_eq_int(lines + 1, 54, "describe lists every key");
	free(d2);
	set(&c, "log.file= /var/log/g.log ", (char[64]){0}, 64);
	set(&c, "log.file=\" x\"", (char[64]){0}, 64);
	d2 = config_describe(&c);
	tap_ok(strstr(d2, "log.file = \" x\" ") != NULL, "describe shows the current values");
	free(d2);
	free(d);
	config_fini(&c);
}

/* The keys that were reloadable when the flag became a column of the key
 * table; a key joins this list only on purpose. */
static const char *const reloadable_keys[] = {
	"gateway.ping_interval", "gateway.idle_timeout", "gateway.handshake_timeout",
	"gateway.max_message", "gateway.max_output", "gateway.max_line",
	"gateway.max_connections", "gateway.request_timeout", "gateway.worker_wait",
	"gateway.allowed_origins", "gateway.trusted_proxies", "gateway.max_connections_per_ip",
	"gateway.max_connections_per_uid", "gateway.max_groups", "gateway.rate_limit",
	"gateway.rate_burst", "gateway.rate_limit_close", "worker.query_timeout",
	"auth.secret", "auth.previous_secret", "auth.leeway", "auth.login_timeout",
	"push.secret", "launcher.restart_backoff_min", "launcher.restart_backoff_max",
	"launcher.stop_timeout", "launcher.start_timeout",
};

static void
test_reloadable(void)
{
	char *d = config_describe(NULL);
	size_t marked = 0, listed = 0;
	for (const char *line = d; *line != '\0';) {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
		if (len > 0 && memmem(line, len, " (reloadable)", 13) != NULL) {
			marked++;
			for (size_t i = 0; i < sizeof reloadable_keys / sizeof reloadable_keys[0]; i++) {
				size_t kl = strlen(reloadable_keys[i]);
				if (len > kl + 3 && memcmp(line, reloadable_keys[i], kl) == 0 &&
					memcmp(line + kl, " = ", 3) == 0)
					listed++;
			}
		}
		line += len + (end != NULL);
	}
	tap_ok(marked == sizeof reloadable_keys / sizeof reloadable_keys[0] && listed == marked,
		"exactly the keys reloadable before are marked (reloadable)");
	tap_ok(strstr(d, "\nauth.mode = token ") != NULL && strstr(d, "\ndemo.enabled = off ") != NULL,
		"describe shows a choice and a switch by their text");
	free(d);

	struct config dst, src;
	struct buf changed = BUF_INIT, fixed = BUF_INIT;
	char err[256];
	config_defaults(&dst);
	config_defaults(&src);
	set(&src, "gateway.rate_limit=7", err, sizeof err);
	set(&src, "auth.mode=none", err, sizeof err);
	set(&src, "demo.enabled=on", err, sizeof err);
	config_apply_runtime(&dst, &src, &changed, &fixed);
	tap_eq_str(changed.p, "gateway.rate_limit", "a reloadable key that differs is applied");
	tap_eq_str(fixed.p, "auth.mode,demo.enabled", "a choice and a switch that differ need a restart");
	tap_ok(dst.gateway_rate_limit == 7 && dst.auth_mode == CONFIG_AUTH_TOKEN && !dst.demo_enabled,
		"only the reloadable value is copied");
	buf_fini(&changed);
	buf_fini(&fixed);
	config_fini(&dst);
	config_fini(&src);
}

static void
test_args(void)
{
	struct config c;
	char err[256];
	int rest[16], nrest = -1;
	/* The secret comes from the environment, as in production. */
	setenv("GATECAST_AUTH_SECRET", SECRET32, 1);
	const char *path = temp_file("[gateway]\ncount = 2\nmax_pending = 10\n[log]\nlevel = warn\n");
	char *argv[] = {
		"gatecast-gateway", "--set", "gateway.count=7", "foreground", "-c", (char *)path,
		"--set=log.level=debug", "-x", "--", "--set", "gateway.count=9", NULL,
	};
	int argc = (int)(sizeof argv / sizeof argv[0]) - 1;
	int r = config_from_args(&c, argc, argv, 1, rest, &nrest, err, sizeof err);
	tap_eq_int(r, 0, "config_from_args loads file and --set");
	tap_eq_int(c.gateway_count, 7, "--set overrides file even when given before -c");
	tap_eq_int(c.gateway_max_pending, 10, "the file overrides defaults");
	tap_eq_str(c.log_level, "debug", "--set=key=value works");
	tap_eq_int(nrest, 5, "config_from_args splitting rest args: count");
	tap_ok(nrest == 5 && rest[0] == 3 && rest[1] == 7 && rest[2] == 8 && rest[3] == 9 &&
			rest[4] == 10,
		"config_from_args splitting rest args: the unknown ones and all after --");
	config_fini(&c);

	char cfg[128];
	snprintf(cfg, sizeof cfg, "--config=%s", path);
	char *argv2[] = {"p", cfg, "--set", "gateway.max_pending=11", NULL};
	r = config_from_args(&c, 4, argv2, 1, rest, &nrest, err, sizeof err);
	tap_ok(r == 0 && c.gateway_max_pending == 11 && c.gateway_count == 2 && nrest == 0,
		"--config=FILE works");
	config_fini(&c);

	char *argv3[] = {"p", "--config", (char *)path, NULL};
	r = config_from_args(&c, 3, argv3, 1, rest, &nrest, err, sizeof err);
	tap_ok(r == 0 && c.gateway_count == 2, "--config FILE works");
	config_fini(&c);

	char *argv4[] = {"p", NULL};
	r = config_from_args(&c, 1, argv4, 1, rest, &nrest, err, sizeof err);
	tap_ok(r == 0 && c.gateway_count == 0 && nrest == 0, "no arguments means the defaults");
	config_fini(&c);

	static const struct {
		const char *a, *b;
		const char *what;
		const char *name;
	} bad[] = {
		{"-c", NULL, "-c: missing file name", "-c without a file is an error"},
		{"--config", NULL, "--config: missing file name", "--config without a file"},
		{"--config=", NULL, "--config: missing file name", "--config= without a file"},
		{"--set", NULL, "--set: missing section.key=value", "--set without a value"},
		{"--set", "gateway.nope=1", "--set gateway.nope=1: unknown key \"gateway.nope\"",
			"a bad --set fails config_from_args"},
		{"--set", "auth.mode=open", "--set auth.mode=open: auth.mode: \"open\" is not one of",
			"config_from_args refuses a value that is not a choice"},
		{"--set", "worker.app=chat", "worker.app: \"chat\" is not one of",
			"config_from_args validates"},
		{"-c", "/nonexistent.ini", "/nonexistent.ini: No such file or directory",
			"an unreadable file fails config_from_args"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *av[] = {"p", (char *)bad[i].a, (char *)bad[i].b, NULL};
		int ac = bad[i].b != NULL ? 3 : 2;
		err[0] = '\0';
		r = config_from_args(&c, ac, av, 1, rest, &nrest, err, sizeof err);
		tap_ok(r == -EINVAL && strncmp(err, bad[i].what, strlen(bad[i].what)) == 0,
			bad[i].name);
		if (strncmp(err, bad[i].what, strlen(bad[i].what)) != 0)
			printf("#   got \"%s\"\n", err);
		tap_ok(c.cluster_run_dir == NULL, "a failed config_from_args leaves nothing to free");
		config_fini(&c);
	}

	char *argv5[] = {"p", "-c", (char *)path, "-c", (char *)path, NULL};
	r = config_from_args(&c, 5, argv5, 1, rest, &nrest, err, sizeof err);
	tap_ok(r == -EINVAL && strstr(err, "already given") != NULL, "two config files are an error");
	config_fini(&c);
}

static void
test_example(const char *path)
{
	struct config c, defaults;
	char err[256] = "";
	config_defaults(&c);
	int r = config_load_file(&c, path, err, sizeof err);
	tap_eq_int(r, 0, "the example config loads");
	if (r != 0)
		printf("#   %s\n", err);
	tap_eq_int(config_validate(&c, err, sizeof err), -EINVAL,
		"the example config alone lacks the auth secret (it belongs in the environment)");
	set(&c, "auth.secret=" SECRET32, err, sizeof err);
	tap_eq_int(config_validate(&c, err, sizeof err), 0, "the example config with a secret is valid");
	config_defaults(&defaults);
	set(&defaults, "auth.secret=" SECRET32, err, sizeof err);
	char *got = config_describe(&c), *want = config_describe(&defaults);
	tap_eq_str(got, want, "the example config holds every default");

	/* Every key of the table appears in the example, in its section. */
	FILE *f = fopen(path, "r");
	struct buf text = BUF_INIT;
	char chunk[4096];
	size_t n;
	while (f != NULL && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&text, chunk, n);
	if (f != NULL)
		fclose(f);
	int missing = 0;
	for (const char *line = want; line != NULL && *line != '\0';) {
		const char *nl = strchr(line, '\n');
		const char *dot = strchr(line, '.'), *sp = strchr(line, ' ');
		if (*line != '\n' && dot != NULL && sp != NULL && dot < sp) {
			char section[64], key[64];
			snprintf(section, sizeof section, "\n[%.*s]\n", (int)(dot - line), line);
			snprintf(key, sizeof key, "\n%.*s = ", (int)(sp - dot - 1), dot + 1);
			const char *at = text.p != NULL ? strstr(text.p, section) : NULL;
			const char *next = at != NULL ? strstr(at + 1, "\n[") : NULL;
			const char *found = at != NULL ? strstr(at, key) : NULL;
			if (found == NULL || (next != NULL && found > next)) {
				printf("#   missing %s%s\n", section + 1, key + 1);
				missing++;
			}
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	tap_eq_int(missing, 0, "the example config names every key");
	buf_fini(&text);
	free(got);
	free(want);
	config_fini(&defaults);
	config_fini(&c);
}

int
main(int argc, char **argv)
{
	test_defaults();
	test_file();
	test_numbers();
	test_errors();
	test_set();
	test_validate();
	test_describe();
	test_reloadable();
	test_args();
	if (argc > 1)
		test_example(argv[1]);
	for (int i = 0; i < temp_n; i++)
		unlink(temp_paths[i]);
	return tap_done();
}
