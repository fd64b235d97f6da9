/*
 * fleet — one load process's WebSocket clients: it connects them from
 * source addresses 127.0.0.x, upgrades and logs them in, answers pings,
 * and counts what arrives: unicast pushes (latency from the timestamp in
 * the payload, misrouted, duplicated, and which sequence numbers came)
 * and broadcasts. The parent drives it with ctl commands over a pipe and
 * gets its counts back the same way (ctl.h).
 *
 * Payloads it understands (text frames; anything else counts as other):
 *   "U<seq> <t_ns> <client>"  a push to one client (send_to_uid)
 *   "B<k> <t_ns>"             broadcast k (send_to_all / send_to_group)
 * where t_ns is CLOCK_MONOTONIC at send time: sender and clients share one
 * host, so latency is now - t_ns.
 *
 * It sends nothing after the login but pongs: clients stay idle, as most
 * browsers of a push service are.
 */
#ifndef GATECAST_BENCH_FLEET_H
#define GATECAST_BENCH_FLEET_H

#include <stdint.h>

#include "bench/hist.h"

enum fleet_login {
	FLEET_LOGIN_QUERY,    /* the URL logs in; wait for {"type":"login","ok":true} */
	FLEET_LOGIN_MESSAGE,  /* wait for welcome, send {"type":"login",...}, wait for the reply */
	FLEET_LOGIN_NONE,     /* ready at the 101 (nchan: the URL names the channel) */
};

struct fleet_opts {
	const char *host;          /* the server's IPv4 address */
	uint16_t port;
	const char *path;          /* %u = uid, %t = token: "/?uid=%u", "/sub/%u" */
	enum fleet_login login;
	const char *token_secret;  /* non-NULL: sign HS256 tokens (%t, login message) */
	const char *uid_prefix;    /* uid of client i is prefix + i */
	unsigned sources;          /* connect from 127.0.0.1 .. 127.0.0.<sources> */
	uint32_t first;            /* this process's clients: first .. first + count - 1 */
	uint32_t count;
	unsigned concurrency;      /* handshakes in flight at once */
	uint64_t max_seq;          /* unicast sequence numbers tracked in the bitmap */
	uint64_t timeout_ns;       /* connect + upgrade + login deadline */
};

/* Answer to CTL_CONNECT: where the process's clients stand. */
struct fleet_connected {
	uint64_t ready;          /* logged in and open */
	uint64_t failed;         /* never got ready */
	uint64_t failed_connect; /* of which: connect() failed (errno in last_errno) */
	uint64_t failed_upgrade; /* of which: not a 101 (status in last_status) */
	uint64_t failed_login;   /* of which: login refused or an error frame */
	uint64_t failed_timeout; /* of which: no answer within timeout_ns */
	int32_t last_errno;
	int32_t last_status;
	uint64_t t_last_ready;   /* monotonic ns: when the last client got ready */
	struct hist setup;       /* connect() → ready, per client, ns */
};

/* Answer to CTL_REPORT; followed by the seen bitmap of seq_bytes bytes. */
struct fleet_stats {
	uint64_t ready;
	uint64_t closed;        /* ready clients the server closed since */
	uint16_t last_close;    /* the close code of the last one (0: none given) */
	uint64_t unicast;       /* pushes that reached their client, counted once */
	uint64_t misrouted;     /* pushes that reached another client */
	uint64_t duplicated;    /* pushes that came again */
	uint64_t bcast;         /* broadcast deliveries, counted once per client */
	uint64_t bcast_dup;
	uint64_t other;         /* other frames after login */
	uint64_t t_last;        /* monotonic ns of the last push or broadcast */
	uint64_t seq_bytes;
	struct hist lat;        /* send → receipt, ns, every counted delivery */
};

/* Runs the process's clients until CTL_QUIT or until cmd_fd closes;
 * answers on rep_fd. Returns the exit status. */
int fleet_run(const struct fleet_opts *o, int cmd_fd, int rep_fd);

#endif
