/*
 * proto/msg — every message that crosses a process boundary inside the
 * cluster, and its msgpack encoding. Nothing else in the tree builds or
 * parses these bytes.
 *
 * Encoding: a message is one msgpack array [version, type, fields...] with the
 * fields of its type in a fixed order (see msg.c for each layout). version is
 * PROTO_VERSION; a decoder rejects other versions with -EPROTO so that mixed
 * clusters fail loudly instead of misreading fields. Adding a field later means
 * appending it to the end of its array: decoders accept longer arrays and
 * ignore the extra fields, so version bumps are only for incompatible change.
 *
 * The code is pure: bytes in, structs out. Decoded strings (struct pstr) point
 * into the caller's input bytes (they are NOT NUL-terminated); lists are
 * allocated in the struct proto_msg and released by proto_msg_fini. So a
 * decoded message is valid while both the input bytes and the proto_msg live.
 */
#ifndef GATECAST_PROTO_MSG_H
#define GATECAST_PROTO_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/attr.h"
#include "common/buf.h"

#define PROTO_VERSION 1

/* Bounds checked by the decoder (-EMSGSIZE when exceeded). */
#define PROTO_MAX_LIST 100000   /* entries in one string list */
#define PROTO_MAX_MEMBERS 4096  /* members in one PROTO_MEMBERS */

/* A borrowed byte string (not NUL-terminated). n == 0 means empty/absent. */
struct pstr {
	const char *p;
	uint32_t n;
};

struct pstr_list {
	struct pstr *v; /* owned by the enclosing proto_msg after decode */
	uint32_t n;
};

enum proto_type {
	PROTO_ANNOUNCE = 1, /* member → register (req): I am alive, or leaving */
	PROTO_MEMBERS = 2,  /* register → member (rep): the live list */
	PROTO_EVENT = 3,    /* gateway → worker: a client connected/sent/closed */
	PROTO_REQUEST = 4,  /* gateway → worker: a push-port request */
	PROTO_OP = 5,       /* worker → gateway: execute this command */
	PROTO_RESULT = 6,   /* gateway → worker: the result of one OP */
	PROTO_REPLY = 7,    /* worker → gateway: the final answer to a REQUEST */
	PROTO_STATUS_QUERY = 8, /* `gatecast status` → register (req): everyone's stats */
	PROTO_STATUS = 9,   /* register → asker (rep): its stats and every member's */
};

enum proto_role {
	ROLE_GATEWAY = 1,
	ROLE_WORKER = 2,
};

/* A cluster member as the register knows it. id is the member's random
 * 64-bit instance id (new at every start); inbox is the link URL it
 * receives on (ipc:// in gatecast's own framing, or tcp:// / tls+tcp://). */
struct proto_member {
	uint8_t role;
	uint64_t id;
	struct pstr inbox;
	bool left;  /* MEMBERS: it left gracefully a moment ago — forget it now
	             * rather than after a lease (optional 4th field; sent, and
	             * ignored, inside ANNOUNCE too) */
};

/* What a process says about itself in each announce, for `gatecast status`.
 * Counters are totals since its start; push_rate is per second over the
 * last renew period. A worker has no connections, uids or groups. */
struct proto_stats {
	uint32_t pid;
	struct pstr host;      /* gethostname() */
	uint64_t started;      /* wall clock, unix ms */
	uint64_t rss;          /* bytes */
	uint64_t connections;
	uint64_t uids;
	uint64_t groups;
	uint64_t msgs_in;      /* gateway: client messages; worker: cluster messages */
	uint64_t msgs_out;     /* gateway: frames to clients; worker: cluster messages */
	uint64_t pushes;       /* gateway: push requests received; worker: handled */
	uint32_t push_rate;
	bool draining;         /* leaving: answers what reached it, takes nothing new */
};

struct proto_announce {
	struct proto_member self;
	uint32_t lease_ms; /* the register drops the member after this long */
	bool leaving;      /* graceful stop: drop at once */
	bool has_stats;    /* optional 4th field */
	struct proto_stats stats;
};

struct proto_status_member {
	uint8_t role;
	uint64_t id;
	struct proto_stats stats;
};

struct proto_status {
	struct proto_stats self; /* the register's own (no push figures) */
	uint32_t n;
	struct proto_status_member *v; /* owned by the proto_msg after decode */
};

struct proto_members {
	uint64_t version; /* changes whenever the list changes */
	uint32_t n;
	struct proto_member *v; /* owned by the proto_msg after decode */
};

enum proto_event_kind {
	EVENT_CONNECT = 1,
	EVENT_MESSAGE = 2,
	EVENT_CLOSE = 3,
	EVENT_PRESENCE = 4, /* not a client's: the members of the group in data
	                     * changed on this gateway (gateway.presence_groups);
	                     * sent to the worker that owns the group, which
	                     * counts and pushes the online count. client_id and
	                     * uid are empty. */
};

struct proto_event {
	uint64_t gateway;       /* sender's member id */
	struct pstr client_id;  /* see proto/clientid.h */
	uint8_t kind;           /* enum proto_event_kind */
	bool binary;            /* MESSAGE: binary frame */
	struct pstr data;       /* MESSAGE: payload; CONNECT: request query string
	                         * (without '?'); CLOSE: empty; PRESENCE: the group */
	struct pstr uid;        /* uid bound to the client at send time, may be empty */
	uint16_t close_code;    /* CLOSE: the WebSocket close code, 1006 if none */
};

/* Commands: the push-port API. The same struct carries a push request from a
 * gateway to a worker (PROTO_REQUEST) and an order from a worker to a gateway
 * (PROTO_OP). Keep the order: the numbers are on the wire. */
enum cmd_type {
	CMD_SEND_TO_UID = 1,
	CMD_SEND_TO_GROUP,
	CMD_SEND_TO_ALL,
	CMD_SEND_TO_CLIENT,
	CMD_CLOSE_CLIENT,
	CMD_BIND_UID,
	CMD_UNBIND_UID,
	CMD_JOIN_GROUP,
	CMD_LEAVE_GROUP,
	CMD_UNGROUP,
	CMD_IS_UID_ONLINE,
	CMD_GET_CLIENT_ID_BY_UID,
	CMD_GET_UID_BY_CLIENT_ID,
	CMD_GET_CLIENT_COUNT_BY_GROUP,
	CMD_GET_UID_LIST_BY_GROUP,
	CMD_GET_UID_COUNT_BY_GROUP,
	CMD_GET_ALL_UID_COUNT,
	CMD_GET_ALL_CLIENT_COUNT,
	CMD_GET_ALL_GROUP_ID_LIST,
	CMD_SET_SESSION,
	CMD_UPDATE_SESSION,
	CMD_GET_SESSION,
	CMD__COUNT
};

/* Which fields a command uses:
 *   uids     send_to_uid (1..n), bind_uid/unbind_uid (1), is_uid_online,
 *            get_client_id_by_uid (1)
 *   groups   send_to_group (1..n), join/leave_group, ungroup,
 *            get_*_by_group (1)
 *   clients  send_to_client (1..n), close_client, bind/unbind_uid,
 *            join/leave_group, get_uid_by_client_id, *_session (1)
 *   exclude  send_to_group, send_to_all: client ids not to deliver to
 *   data     the exact frame payload for sends and close_client's final
 *            message; binary selects a binary frame; has_data tells an empty
 *            payload from none
 *   session  set/update_session: a JSON object's text
 *   from_client  the command is a client's own request, answered by the app
 *            (a join_group it asked for: the gateway holds it to the
 *            client's token and sends it an error frame when refused)
 */
struct proto_cmd {
	uint8_t type; /* enum cmd_type */
	struct pstr_list uids;
	struct pstr_list groups;
	struct pstr_list clients;
	struct pstr_list exclude;
	struct pstr data;
	bool has_data;
	bool binary;
	struct pstr session;
	bool from_client; /* appended later: absent, it is read as has_data (the
	                   * rule it replaces), so older workers' joins keep it */
};

struct proto_request {
	uint64_t gateway; /* member id of the gateway that must get the REPLY */
	uint64_t req;     /* the gateway's request id, echoed in the REPLY */
	struct proto_cmd cmd;
	uint64_t expires; /* wall clock (unix ms) after which the gateway has
	                   * answered "timeout": a worker must not act on it any
	                   * more. 0 = none. (Optional 4th field, added in v1.) */
	uint64_t pushed_us; /* wall clock (unix µs) when the gateway's push port
	                     * or HTTP API received the request; 0 = unknown.
	                     * Copied into the OPs it causes, so the gateway that
	                     * writes the frames can measure push→write latency.
	                     * (Optional 5th field, added in v1.) */
};

struct proto_op {
	uint64_t worker; /* member id of the worker that wants the RESULT */
	uint64_t op;     /* 0 = fire and forget: send no RESULT */
	struct proto_cmd cmd;
	uint64_t pushed_us; /* the pushed_us of the REQUEST this OP serves; 0 for
	                     * orders that did not come from a push (the app's
	                     * replies to client events). (Optional 4th field,
	                     * added in v1.) */
	uint64_t expires;   /* wall clock (unix ms) after which the worker has
	                     * stopped waiting for the RESULT: a gateway must not
	                     * act on it any more (it arrived late, after a cut
	                     * link healed). 0 = none. (Optional 5th field.) */
};

/* RESULT (one gateway's answer to an OP) and REPLY (the answer to a push
 * request) share one shape. Which fields mean what depends on the command:
 *   delivered  sends: connections the frame was queued to
 *   count      counts; is_uid_online: connections of the uid;
 *              get_uid_count_by_group RESULT: connections in the group
 *              (the REPLY's count is the distinct uids)
 *   strs       send_to_uid RESULT: uids found online here; REPLY: offline
 *              uids. get_client_id_by_uid: client ids. get_uid_by_client_id,
 *              get_uid_list_by_group, get_uid_count_by_group,
 *              get_all_uid_count (RESULT only): uids. get_all_group_id_list:
 *              groups.
 *   session    get_session: JSON object text
 *   partial    REPLY only: not every gateway answered before the deadline;
 *              answered/expected say how many did.
 * error/message are set when ok is false: error is a stable code
 * ("bad_request", "not_found", "no_worker", "timeout", ...), message is for
 * humans. */
struct proto_result {
	uint64_t id; /* op id (RESULT) or request id (REPLY) */
	bool ok;
	struct pstr error;
	struct pstr message;
	int64_t delivered;
	int64_t count;
	struct pstr_list strs;
	struct pstr session;
	bool partial;
	uint32_t answered;
	uint32_t expected;
};

struct proto_msg {
	uint8_t type; /* enum proto_type */
	union {
		struct proto_announce announce;
		struct proto_members members;
		struct proto_event event;
		struct proto_request request;
		struct proto_op op;
		struct proto_result result; /* RESULT and REPLY */
		struct proto_status status;
	} u;
	/* decoder-owned storage for lists; opaque to callers */
	void *arena;
};

/* Appends the encoding of m to out. m is borrowed. Returns 0 or -EINVAL
 * when m->type is unknown. */
int proto_encode(const struct proto_msg *m, struct buf *out);

/* Decodes len bytes at p into m (which need not be initialised). Returns 0,
 * -EPROTO (not msgpack, wrong version, wrong shape or field type),
 * -EMSGSIZE (a list over its bound) or -EBADMSG (trailing bytes). On success
 * the caller must call proto_msg_fini(m); on failure m holds nothing. */
MUST_CHECK int proto_decode(const void *p, size_t len, struct proto_msg *m);

/* Decodes the first of several messages sent back to back (an outlink
 * batch: outlink.h): like proto_decode, but bytes after the message are
 * left alone and *used is set to its length. */
MUST_CHECK int proto_decode_next(const void *p, size_t len, struct proto_msg *m, size_t *used);
/* Releases the lists a decode allocated. Safe on a zeroed or failed msg. */
void proto_msg_fini(struct proto_msg *m);

/* Called for each message of a batch; m is released after it returns. */
typedef void proto_visit_fn(void *arg, struct proto_msg *m);
/* Decodes a whole batch (messages back to back: outlink.h) and hands each
 * message to fn, in order. A message that does not decode ends the batch,
 * since what follows it cannot be told apart: returns 0, or its error (as
 * proto_decode) with *left set to the bytes not taken. */
MUST_CHECK int proto_decode_batch(const void *p, size_t len, proto_visit_fn *fn, void *arg,
	size_t *left);

/* Command names as on the push port ("send_to_uid"...); NULL when unknown. */
const char *cmd_name(enum cmd_type t);
/* Name → type; 0 when unknown. */
enum cmd_type cmd_lookup(const char *name, size_t len);
/* Does the command act on exactly one client (clients.v[0]), so that it
 * goes to that client's gateway alone and fails with not_found without it? */
bool cmd_is_single_client(enum cmd_type t);

/* Convenience for building messages: a pstr over a C string (borrowed). */
struct pstr pstr_c(const char *s);
/* Equality of two pstr / a pstr and a C string. */
bool pstr_eq(struct pstr a, struct pstr b);
bool pstr_eq_c(struct pstr a, const char *s);

#endif
