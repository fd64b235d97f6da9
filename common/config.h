/*
 * config — gatecast.ini: every key, its type, default, bounds and meaning in
 * one table (config.c), loaded from an INI file and --set overrides.
 *
 * Format: "[section]" lines, "key = value" lines, comments start with '#' or
 * ';' at the beginning of a line (after optional blanks). Values are trimmed;
 * a value may be wrapped in double quotes to keep blanks. Unknown sections or
 * keys, malformed lines, values of the wrong type or out of bounds are errors
 * that name the file and line (or the --set argument). Durations are seconds
 * (fractions allowed, stored as milliseconds); sizes accept a K/M/G suffix
 * (powers of 1024). This module does no I/O besides reading the file and no
 * logging: it reports errors in a caller-provided buffer.
 */
#ifndef GATECAST_COMMON_CONFIG_H
#define GATECAST_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/attr.h"

struct buf;

/* auth.mode */
enum config_auth_mode {
	CONFIG_AUTH_TOKEN, /* "token": clients prove their uid with a JWT */
	CONFIG_AUTH_NONE,  /* "none": clients declare any uid (demos only) */
};

struct config {
	/* [cluster] */
	char *cluster_run_dir;     /* run_dir: ipc sockets live here; "/tmp/gatecast" */
	char *cluster_secret;      /* secret: HMAC key of every cluster message */
	uint32_t cluster_max_clock_skew_ms; /* max_clock_skew: 30 s */
	char *cluster_tls_cert;    /* tls_cert, tls_key, tls_ca: for tls+tcp:// links */
	char *cluster_tls_key;
	char *cluster_tls_ca;

	/* [register] */
	char *register_listen;     /* listen: nng URL; "tcp://127.0.0.1:1238" */
	char *register_connect;    /* connect: comma-separated nng URLs members
	                            * announce to; "" = same as listen */
	uint32_t register_lease_ms;    /* lease: 3 s */
	uint32_t register_renew_ms;    /* renew: 1 s; must be < lease */

	/* [gateway] */
	uint32_t gateway_count;        /* count: 0 = one per CPU core */
	char *gateway_ws_listen;       /* ws_listen: "0.0.0.0:7272" */
	char *gateway_push_listen;     /* push_listen: "127.0.0.1:8806" */
	char *gateway_inbox;           /* inbox: ipc:// (gatecast's own framing), tcp:// or
	                                * tls+tcp:// (nng); "" = ipc://<run_dir>/gateway-<id>.ipc */
	uint32_t gateway_ping_interval_ms; /* ping_interval: 25 s */
	uint32_t gateway_idle_timeout_ms;  /* idle_timeout: 60 s */
	uint32_t gateway_handshake_timeout_ms; /* handshake_timeout: 10 s */
	uint64_t gateway_max_message;  /* max_message: 64K */
	uint64_t gateway_max_output;   /* max_output: 1M */
	uint64_t gateway_max_line;     /* max_line: 1M */
	uint32_t gateway_max_connections; /* max_connections: 100000 */
	uint32_t gateway_request_timeout_ms; /* request_timeout: 5 s; push request deadline */
	uint32_t gateway_worker_wait_ms; /* worker_wait: 5 s; events wait this long for a worker */
	uint32_t gateway_max_pending;    /* max_pending: 65536 events/requests waiting */
	uint32_t gateway_max_uid_len;    /* max_uid_len: 128 */
	uint32_t gateway_max_group_len;  /* max_group_len: 128 */
	char *gateway_allowed_origins;   /* allowed_origins: "" = any */
	char *gateway_trusted_proxies;   /* trusted_proxies: "" */
	uint32_t gateway_max_connections_per_ip;  /* 1000; 0 = no limit */
	uint32_t gateway_max_connections_per_uid; /* 64, oldest closed; 0 = no limit */
	uint32_t gateway_max_groups;     /* max_groups: 128 per connection */
	uint32_t gateway_rate_limit;     /* rate_limit: 20 messages/s; 0 = off */
	uint32_t gateway_rate_burst;     /* rate_burst: 40 */
	uint32_t gateway_rate_limit_close; /* rate_limit_close: 20 in a row → 1008 */
	char *gateway_presence_groups;   /* presence_groups: comma-separated group patterns
	                                  * ("company:*") whose online count is pushed to
	                                  * their members; "" = none */

	/* [worker] */
	uint32_t worker_count;         /* count: 0 = one per CPU core */
	char *worker_app;              /* app: "builtin" | "echo" */
	char *worker_inbox;            /* inbox: "" = ipc://<run_dir>/worker-<instance id>.ipc */
	uint32_t worker_query_timeout_ms; /* query_timeout: 3 s; gathering gateway answers */
	uint32_t worker_presence_max_groups; /* presence_max_groups: 65536 groups counted at once */

	/* [auth] */
	enum config_auth_mode auth_mode; /* mode: token (default) | none */
	char *auth_secret;             /* secret: HS256 key, ≥ 32 bytes for token */
	char *auth_previous_secret;    /* previous_secret: accepted during rotation */
	uint32_t auth_leeway_ms;       /* leeway: 30 s on exp/nbf */
	uint32_t auth_login_timeout_ms; /* login_timeout: 10 s */

	/* [push] */
	char *push_secret;             /* secret: "" = no push-port auth */

	/* [http] */
	char *http_listen;             /* listen: "127.0.0.1:2121"; "" = no HTTP API */

	/* [demo] */
	bool demo_enabled;             /* enabled: off (default) | on: the gateway serves
	                                * /demo/ and /demo/token on its WebSocket port */

	/* [log] */
	char *log_level;               /* level: "info" */
	char *log_file;                /* file: "" = stderr */

	/* [launcher] */
	uint32_t launcher_restart_min_ms; /* restart_backoff_min: 0.2 s */
	uint32_t launcher_restart_max_ms; /* restart_backoff_max: 10 s */
	uint32_t launcher_stop_timeout_ms; /* stop_timeout: 10 s */
	uint32_t launcher_start_timeout_ms; /* start_timeout: 30 s; -d gives up after it */
};

/* Fills c with the defaults. Strings are heap copies owned by c. */
void config_defaults(struct config *c);
/* Frees the strings. */
void config_fini(struct config *c);

/* Reads path into c (on top of what c holds). Returns 0, or -errno when the
 * file cannot be read, or -EINVAL with err (size errlen) set to
 * "<path>:<line>: <what>". */
MUST_CHECK int config_load_file(struct config *c, const char *path, char *err, size_t errlen);

/* Parses len bytes of INI text (need not be NUL-terminated; text is
 * borrowed for the call) into c, on top of what c holds: what
 * config_load_file does once the file is read. name stands for the file in
 * messages. Returns 0 or -EINVAL with err set to "<name>:<line>: <what>";
 * keys applied before the failing line stay applied. */
MUST_CHECK int config_load_buffer(struct config *c, const char *name, const char *text,
	size_t len, char *err, size_t errlen);

/* Applies one "section.key=value" override. 0 or -EINVAL with err set. */
MUST_CHECK int config_set(struct config *c, const char *assignment, char *err, size_t errlen);

/* Checks cross-key rules after everything is loaded (renew < lease,
 * auth.mode == "none", app known, ...). 0 or -EINVAL with err set. */
MUST_CHECK int config_validate(const struct config *c, char *err, size_t errlen);

/* Copies into dst the keys of src that a running process may change
 * (SIGHUP; marked "(reloadable)" by config_describe) and that differ,
 * appending their names ("gateway.rate_limit,...") to changed; the names of
 * other keys that differ go to fixed (they need a restart). Never values:
 * some are secrets. */
void config_apply_runtime(struct config *dst, const struct config *src, struct buf *changed,
	struct buf *fixed);

/* Writes every key as "section.key = value  # meaning" lines (for --help and
 * docs) into a malloc'ed string the caller frees. */
char *config_describe(const struct config *c);

/* Parses the common command line of every gatecast program:
 *   -c FILE | --config FILE, --set section.key=value (repeatable)
 * starting at argv[first]. Unrecognised arguments are left for the caller:
 * their indexes are written to rest[] (count in *nrest; rest must have argc
 * slots). Loads defaults, then the file, then the --set values in order, then
 * validates. Returns 0 or -EINVAL with err set. */
MUST_CHECK int config_from_args(struct config *c, int argc, char **argv, int first, int *rest,
	int *nrest, char *err, size_t errlen);

#endif
