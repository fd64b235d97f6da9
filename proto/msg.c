/*
 * proto/msg — the msgpack codec for cluster messages (contract in msg.h).
 *
 * Encoding goes through msgpack-c's packer straight into a struct buf.
 * Decoding is a small strict cursor over the caller's bytes rather than
 * msgpack_unpack_next: it builds no object tree, allocates nothing but the
 * lists (one block per message), checks each field's type and range where it
 * reads it, and leaves every pstr pointing into the input. It does not check
 * what the fields mean together (which command needs which list, whether a
 * CLOSE carries data): that belongs to the receiver.
 *
 * Wire layouts. Every message is one array [version, type, fields...]. A
 * nested struct (a member, a command) is an array of its own, so each can
 * grow at its end without disturbing the other. Decoders accept any array
 * longer than the layout below and skip the extra values.
 *
 *   str    msgpack str (the decoder also accepts bin)
 *   bin    msgpack bin (the decoder also accepts str): payloads may be binary
 *   [str]  array of str, at most PROTO_MAX_LIST entries
 *   uintN  any msgpack integer in 0 .. 2^N-1 (encoded in the smallest form)
 *
 *   member    [role: uint 1..2, id: uint64, inbox: str, left: bool]
 *             (left was appended later: read as false when absent)
 *   stats     [pid: uint32, host: str, started: uint64, rss: uint64,
 *              connections: uint64, uids: uint64, groups: uint64,
 *              msgs_in: uint64, msgs_out: uint64, pushes: uint64,
 *              push_rate: uint32, draining: bool]
 *   ANNOUNCE  [1, 1, self: member, lease_ms: uint32, leaving: bool,
 *              stats: stats]   (stats appended later, optional)
 *   MEMBERS   [1, 2, version: uint64, [member, ...]]   (<= PROTO_MAX_MEMBERS)
 *   EVENT     [1, 3, gateway: uint64, client_id: str, kind: uint 1..4,
 *              binary: bool, data: bin, uid: str, close_code: uint16]
 *   cmd       [type: uint 1..CMD__COUNT-1, uids: [str], groups: [str],
 *              clients: [str], exclude: [str], data: bin, has_data: bool,
 *              binary: bool, session: str, from_client: bool]
 *             (from_client was appended later: a cmd without it reads it as
 *             has_data, which meant the same for a join before)
 *   REQUEST   [1, 4, gateway: uint64, req: uint64, cmd: cmd, expires: uint64,
 *              pushed_us: uint64]
 *   OP        [1, 5, worker: uint64, op: uint64, cmd: cmd, pushed_us: uint64,
 *              expires: uint64]
 *             (expires and pushed_us were appended later: a decoder takes an
 *             array that ends before them, and reads them as 0)
 *   RESULT    [1, 6, id: uint64, ok: bool, error: str, message: str,
 *              delivered: int64, count: int64, strs: [str], session: str,
 *              partial: bool, answered: uint32, expected: uint32]
 *   REPLY     [1, 7, ...same fields as RESULT]
 *   STATUS_QUERY [1, 8]
 *   STATUS    [1, 9, self: stats, [[role: uint 1..2, id: uint64, stats], ...]]
 *             (<= PROTO_MAX_MEMBERS entries)
 */
#include "proto/msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/xmalloc.h"

/* Fields after [version, type]; a longer array is accepted. */
#define MEMBER_FIELDS 3
#define ANNOUNCE_FIELDS 3
#define MEMBERS_FIELDS 2
#define EVENT_FIELDS 7
#define CMD_FIELDS 9
#define REQUEST_FIELDS 3
#define OP_FIELDS 3
#define RESULT_FIELDS 11
#define STATS_FIELDS 12
#define STATUS_QUERY_FIELDS 0
#define STATUS_FIELDS 2
#define STATUS_MEMBER_FIELDS 3
/* Fields appended later, always encoded, read when present. */
#define REQUEST_OPTIONAL 2 /* expires, pushed_us */
#define OP_OPTIONAL 2      /* pushed_us, expires */
#define MEMBER_OPTIONAL 1  /* left */

/* Lists in one message: a cmd has four. */
#define MAX_LISTS 4

/* ---- encoding ---- */

/* The packer's sink. proto_encode reserves a size hint first, so the common
 * case is a bare copy; the buf's trailing NUL is restored once at the end. */
static int
enc_write(void *data, const char *p, size_t n)
{
	struct buf *b = data;

	if (b->cap - b->len < n) {
		buf_append(b, p, n);
		return 0;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static void
enc_str(msgpack_packer *pk, struct pstr s)
{
	msgpack_pack_str_with_body(pk, s.p, s.n);
}

static void
enc_bin(msgpack_packer *pk, struct pstr s)
{
	msgpack_pack_bin_with_body(pk, s.p, s.n);
}

static void
enc_bool(msgpack_packer *pk, bool b)
{
	if (b)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

static void
enc_list(msgpack_packer *pk, const struct pstr_list *l)
{
	msgpack_pack_array(pk, l->n);
	for (uint32_t i = 0; i < l->n; i++)
		enc_str(pk, l->v[i]);
}

static void
enc_stats(msgpack_packer *pk, const struct proto_stats *st)
{
	msgpack_pack_array(pk, STATS_FIELDS);
	msgpack_pack_uint32(pk, st->pid);
	enc_str(pk, st->host);
	msgpack_pack_uint64(pk, st->started);
	msgpack_pack_uint64(pk, st->rss);
	msgpack_pack_uint64(pk, st->connections);
	msgpack_pack_uint64(pk, st->uids);
	msgpack_pack_uint64(pk, st->groups);
	msgpack_pack_uint64(pk, st->msgs_in);
	msgpack_pack_uint64(pk, st->msgs_out);
	msgpack_pack_uint64(pk, st->pushes);
	msgpack_pack_uint32(pk, st->push_rate);
	enc_bool(pk, st->draining);
}

static void
enc_member(msgpack_packer *pk, const struct proto_member *mb)
{
	msgpack_pack_array(pk, MEMBER_FIELDS + MEMBER_OPTIONAL);
	msgpack_pack_uint8(pk, mb->role);
	msgpack_pack_uint64(pk, mb->id);
	enc_str(pk, mb->inbox);
	enc_bool(pk, mb->left);
}

static void
enc_cmd(msgpack_packer *pk, const struct proto_cmd *c)
{
	msgpack_pack_array(pk, CMD_FIELDS + 1);
	msgpack_pack_uint8(pk, c->type);
	enc_list(pk, &c->uids);
	enc_list(pk, &c->groups);
	enc_list(pk, &c->clients);
	enc_list(pk, &c->exclude);
	enc_bin(pk, c->data);
	enc_bool(pk, c->has_data);
	enc_bool(pk, c->binary);
	enc_str(pk, c->session);
	enc_bool(pk, c->from_client);
}

/* A rough size so that a message with a large payload is appended without
 * repeated regrowth; the buf still grows if the guess is short. */
static size_t
enc_size_hint(const struct proto_msg *m)
{
	const struct proto_cmd *c = NULL;
	size_t n = 64;

	switch (m->type) {
	case PROTO_ANNOUNCE:
		n += m->u.announce.self.inbox.n;
		break;
	case PROTO_MEMBERS:
		n += (size_t)m->u.members.n * 48;
		break;
	case PROTO_EVENT:
		n += (size_t)m->u.event.client_id.n + m->u.event.data.n + m->u.event.uid.n;
		break;
	case PROTO_REQUEST:
		c = &m->u.request.cmd;
		break;
	case PROTO_OP:
		c = &m->u.op.cmd;
		break;
	case PROTO_RESULT:
	case PROTO_REPLY:
		n += (size_t)m->u.result.error.n + m->u.result.message.n +
		     m->u.result.session.n + (size_t)m->u.result.strs.n * 16;
		break;
	case PROTO_STATUS:
		n += (size_t)(m->u.status.n + 1) * 160;
		break;
	}
	if (c != NULL)
		n += (size_t)c->data.n + c->session.n +
		     ((size_t)c->uids.n + c->groups.n + c->clients.n + c->exclude.n) * 32;
	return n;
}

int
proto_encode(const struct proto_msg *m, struct buf *out)
{
	msgpack_packer pk;
	const struct proto_result *r;

	if (m->type < PROTO_ANNOUNCE || m->type > PROTO_STATUS)
		return -EINVAL;
	buf_reserve(out, enc_size_hint(m));
	msgpack_packer_init(&pk, out, enc_write);

	switch (m->type) {
	case PROTO_ANNOUNCE:
		msgpack_pack_array(&pk, 2 + ANNOUNCE_FIELDS + (m->u.announce.has_stats ? 1 : 0));
		msgpack_pack_uint8(&pk, PROTO_VERSION);
		msgpack_pack_uint8(&pk, m->type);
		enc_member(&pk, &m->u.announce.self);
		msgpack_pack_uint32(&pk, m->u.announce.lease_ms);
		enc_bool(&pk, m->u.announce.leaving);
		if (m->u.announce.has_stats)
			enc_stats(&pk, &m->u.announce.stats);
		break;
	case PROTO_STATUS_QUERY:
		msgpack_pack_array(&pk, 2);
		msgpack_pack_uint8(&pk, PROTO_VERSION);
		msgpack_pack_uint8(&pk, m->type);
		break;
	case PROTO_STATUS:
		msgpack_pack_array(&pk, 2 + STATUS_FIELDS);
		msgpack_pack_uint8(&pk, PROTO_VERSION);
		msgpack_pack_uint8(&pk, m->type);
		enc_stats(&pk, &m->u.status.self);
		msgpack_pack_array(&pk, m->u.status.n);
		for (uint32_t i = 0; i < m->u.status.n; i++) {
			msgpack_pack_array(&pk, STATUS_MEMBER_FIELDS);
			msgpack_pack_uint8(&pk, m->u.status.v[i].role);
			msgpack_pack_uint64(&pk, m->u.status.v[i].id);
			enc_stats(&pk, &m->u.status.v[i].stats);
		}
		break;
	case PROTO_MEMBERS:
		msgpack_pack_array(&pk, 2 + MEMBERS_FIELDS);
		msgpack_pack_uint8(&pk, PROTO_VERSION);
		msgpack_pack_uint8(&pk, m->type);
		msgpack_pack_uint64(&pk, m->u.members.version);
		msgpack_pack_array(&pk, m->u.members.n);
		for (uint32_t i = 0; i < m->u.members.n; i++)
			enc_member(&pk, &m->u.members.v[i]);
		break;
	case PROTO_EVENT:
		msgpack_pack_array(&pk, 2 + EVENT_FIELDS);
		msgpack_pack_uint8(&pk, PROTO_VERSION);
		msgpack_pack_uint8(&pk, m->type);
		msgpack_pack_uint64(&pk, m->u.event.gateway);
		enc_str(&pk, m->u.event.client_id);
		msgpack_pack_uint8(&pk, m->u.event.kind);
		enc_bool(&pk, m->u.event.binary);
		enc_bin(&pk, m->u.event.data);
		enc_str(&pk, m->u.event.uid);
		msgpack_pack_uint16(&pk, m->u.event.close_code);
		break;
	case PROTO_REQUEST:
		msgpack_pack_array(&pk, 2 + REQUEST_FIELDS + REQUEST_OPTIONAL);
		msgpack_pack_uint8(&pk, PROTO_VERSION);
		msgpack_pack_uint8(&pk, m->type);
		msgpack_pack_uint64(&pk, m->u.request.gateway);
		msgpack_pack_uint64(&pk, m->u.request.req);
		enc_cmd(&pk, &m->u.request.cmd);
		msgpack_pack_uint64(&pk, m->u.request.expires);
		msgpack_pack_uint64(&pk, m->u.request.pushed_us);
		break;
	case PROTO_OP:
		msgpack_pack_array(&pk, 2 + OP_FIELDS + OP_OPTIONAL);
		msgpack_pack_uint8(&pk, PROTO_VERSION);
		msgpack_pack_uint8(&pk, m->type);
		msgpack_pack_uint64(&pk, m->u.op.worker);
		msgpack_pack_uint64(&pk, m->u.op.op);
		enc_cmd(&pk, &m->u.op.cmd);
		msgpack_pack_uint64(&pk, m->u.op.pushed_us);
		msgpack_pack_uint64(&pk, m->u.op.expires);
		break;
	case PROTO_RESULT:
	case PROTO_REPLY:
		r = &m->u.result;
		msgpack_pack_array(&pk, 2 + RESULT_FIELDS);
		msgpack_pack_uint8(&pk, PROTO_VERSION);
		msgpack_pack_uint8(&pk, m->type);
		msgpack_pack_uint64(&pk, r->id);
		enc_bool(&pk, r->ok);
		enc_str(&pk, r->error);
		enc_str(&pk, r->message);
		msgpack_pack_int64(&pk, r->delivered);
		msgpack_pack_int64(&pk, r->count);
		enc_list(&pk, &r->strs);
		enc_str(&pk, r->session);
		enc_bool(&pk, r->partial);
		msgpack_pack_uint32(&pk, r->answered);
		msgpack_pack_uint32(&pk, r->expected);
		break;
	}
	out->p[out->len] = '\0';
	return 0;
}

/* ---- decoding ---- */

enum tok_kind {
	TOK_NIL,
	TOK_BOOL,
	TOK_UINT, /* any integer >= 0, whatever its encoding */
	TOK_INT,  /* a negative integer */
	TOK_FLOAT,
	TOK_STR,
	TOK_BIN,
	TOK_EXT,
	TOK_ARRAY,
	TOK_MAP,
};

struct tok {
	enum tok_kind kind;
	bool b;        /* BOOL */
	uint64_t u;    /* UINT */
	int64_t i;     /* INT */
	uint32_t n;    /* STR, BIN, EXT: body length; ARRAY, MAP: entries */
	const char *p; /* STR, BIN, EXT: body, in the input */
};

/* A pending list: its entries are pool[off .. off + n), and list->v is set
 * once the pool stops moving (the pool grows by realloc). */
struct dec_fix {
	struct pstr_list *list;
	uint32_t off;
};

struct dec {
	const uint8_t *p;
	const uint8_t *end;
	struct pstr *pool; /* all string-list entries of the message */
	uint32_t pool_n, pool_cap;
	struct dec_fix fix[MAX_LISTS];
	int nfix;
};

static size_t
dec_left(const struct dec *d)
{
	return (size_t)(d->end - d->p);
}

static uint64_t
dec_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Reads the big-endian unsigned number of n bytes that follows the tag. */
static int
dec_num(struct dec *d, int n, uint64_t *v)
{
	if (dec_left(d) < (size_t)n)
		return -EPROTO;
	*v = dec_be(d->p, n);
	d->p += n;
	return 0;
}

/* Consumes the body of a str/bin/ext of n bytes. */
static int
dec_body(struct dec *d, uint64_t n, struct tok *t)
{
	if (dec_left(d) < n)
		return -EPROTO;
	t->p = (const char *)d->p;
	t->n = (uint32_t)n;
	d->p += n;
	return 0;
}

static void
dec_signed(struct tok *t, int64_t i)
{
	if (i >= 0) {
		t->kind = TOK_UINT;
		t->u = (uint64_t)i;
	} else {
		t->kind = TOK_INT;
		t->i = i;
	}
}

/* Reads one value's header (and, for str/bin/ext/float, its body). Arrays
 * and maps are only opened: their entries follow. */
static int
dec_token(struct dec *d, struct tok *t)
{
	static const uint8_t width[4] = {1, 2, 4, 8};
	uint64_t v;
	uint8_t c;
	int rc;

	if (d->p == d->end)
		return -EPROTO;
	c = *d->p++;
	if (c <= 0x7f) {
		t->kind = TOK_UINT;
		t->u = c;
		return 0;
	}
	if (c >= 0xe0) {
		t->kind = TOK_INT;
		t->i = (int8_t)c;
		return 0;
	}
	if ((c & 0xf0) == 0x80) {
		t->kind = TOK_MAP;
		t->n = c & 0x0f;
		return 0;
	}
	if ((c & 0xf0) == 0x90) {
		t->kind = TOK_ARRAY;
		t->n = c & 0x0f;
		return 0;
	}
	if ((c & 0xe0) == 0xa0) {
		t->kind = TOK_STR;
		return dec_body(d, c & 0x1f, t);
	}
	switch (c) {
	case 0xc0:
		t->kind = TOK_NIL;
		return 0;
	case 0xc2:
	case 0xc3:
		t->kind = TOK_BOOL;
		t->b = c == 0xc3;
		return 0;
	case 0xc4: /* bin 8/16/32 */
	case 0xc5:
	case 0xc6:
		t->kind = TOK_BIN;
		if ((rc = dec_num(d, width[c - 0xc4], &v)) < 0)
			return rc;
		return dec_body(d, v, t);
	case 0xc7: /* ext 8/16/32: length, type byte, body */
	case 0xc8:
	case 0xc9:
		t->kind = TOK_EXT;
		if ((rc = dec_num(d, width[c - 0xc7], &v)) < 0)
			return rc;
		return dec_body(d, v + 1, t);
	case 0xca: /* float 32/64 */
	case 0xcb:
		t->kind = TOK_FLOAT;
		if (dec_left(d) < (c == 0xca ? 4u : 8u))
			return -EPROTO;
		d->p += c == 0xca ? 4 : 8;
		return 0;
	case 0xcc: /* uint 8/16/32/64 */
	case 0xcd:
	case 0xce:
	case 0xcf:
		t->kind = TOK_UINT;
		return dec_num(d, width[c - 0xcc], &t->u);
	case 0xd0: /* int 8/16/32/64 */
		if ((rc = dec_num(d, 1, &v)) < 0)
			return rc;
		dec_signed(t, (int8_t)v);
		return 0;
	case 0xd1:
		if ((rc = dec_num(d, 2, &v)) < 0)
			return rc;
		dec_signed(t, (int16_t)v);
		return 0;
	case 0xd2:
		if ((rc = dec_num(d, 4, &v)) < 0)
			return rc;
		dec_signed(t, (int32_t)v);
		return 0;
	case 0xd3:
		if ((rc = dec_num(d, 8, &v)) < 0)
			return rc;
		dec_signed(t, (int64_t)v);
		return 0;
	case 0xd4: /* fixext 1/2/4/8/16: type byte, body */
	case 0xd5:
	case 0xd6:
	case 0xd7:
	case 0xd8:
		t->kind = TOK_EXT;
		return dec_body(d, 1 + (1u << (c - 0xd4)), t);
	case 0xd9: /* str 8/16/32 */
	case 0xda:
	case 0xdb:
		t->kind = TOK_STR;
		if ((rc = dec_num(d, width[c - 0xd9], &v)) < 0)
			return rc;
		return dec_body(d, v, t);
	case 0xdc: /* array 16/32 */
	case 0xdd:
		t->kind = TOK_ARRAY;
		if ((rc = dec_num(d, c == 0xdc ? 2 : 4, &v)) < 0)
			return rc;
		t->n = (uint32_t)v;
		return 0;
	case 0xde: /* map 16/32 */
	case 0xdf:
		t->kind = TOK_MAP;
		if ((rc = dec_num(d, c == 0xde ? 2 : 4, &v)) < 0)
			return rc;
		t->n = (uint32_t)v;
		return 0;
	default: /* 0xc1: never used */
		return -EPROTO;
	}
}

/* Skips n values of any kind (the unknown trailing fields of a newer
 * sender). Iterative, so nesting depth costs no stack; every value takes at
 * least one byte, so a count beyond the input is rejected at once. */
static int
dec_skip(struct dec *d, uint64_t n)
{
	struct tok t;
	int rc;

	while (n > 0) {
		if (n > dec_left(d))
			return -EPROTO;
		if ((rc = dec_token(d, &t)) < 0)
			return rc;
		n--;
		if (t.kind == TOK_ARRAY)
			n += t.n;
		else if (t.kind == TOK_MAP)
			n += 2 * (uint64_t)t.n;
	}
	return 0;
}

/* Opens an array of at least want entries; *extra gets how many more it has. */
static int
dec_array(struct dec *d, uint32_t want, uint32_t *extra)
{
	struct tok t;
	int rc;

	if ((rc = dec_token(d, &t)) < 0)
		return rc;
	if (t.kind != TOK_ARRAY || t.n < want)
		return -EPROTO;
	*extra = t.n - want;
	return 0;
}

static int
dec_uint(struct dec *d, uint64_t min, uint64_t max, uint64_t *v)
{
	struct tok t;
	int rc;

	if ((rc = dec_token(d, &t)) < 0)
		return rc;
	if (t.kind != TOK_UINT || t.u < min || t.u > max)
		return -EPROTO;
	*v = t.u;
	return 0;
}

static int
dec_u8(struct dec *d, uint64_t min, uint64_t max, uint8_t *v)
{
	uint64_t x;
	int rc = dec_uint(d, min, max, &x);
	if (rc == 0)
		*v = (uint8_t)x;
	return rc;
}

static int
dec_u16(struct dec *d, uint16_t *v)
{
	uint64_t x;
	int rc = dec_uint(d, 0, UINT16_MAX, &x);
	if (rc == 0)
		*v = (uint16_t)x;
	return rc;
}

static int
dec_u32(struct dec *d, uint32_t *v)
{
	uint64_t x;
	int rc = dec_uint(d, 0, UINT32_MAX, &x);
	if (rc == 0)
		*v = (uint32_t)x;
	return rc;
}

static int
dec_u64(struct dec *d, uint64_t *v)
{
	return dec_uint(d, 0, UINT64_MAX, v);
}

static int
dec_i64(struct dec *d, int64_t *v)
{
	struct tok t;
	int rc;

	if ((rc = dec_token(d, &t)) < 0)
		return rc;
	if (t.kind == TOK_INT)
		*v = t.i;
	else if (t.kind == TOK_UINT && t.u <= INT64_MAX)
		*v = (int64_t)t.u;
	else
		return -EPROTO;
	return 0;
}

static int
dec_bool(struct dec *d, bool *v)
{
	struct tok t;
	int rc;

	if ((rc = dec_token(d, &t)) < 0)
		return rc;
	if (t.kind != TOK_BOOL)
		return -EPROTO;
	*v = t.b;
	return 0;
}

/* A str or a bin; the pstr points into the input. */
static int
dec_str(struct dec *d, struct pstr *s)
{
	struct tok t;
	int rc;

	if ((rc = dec_token(d, &t)) < 0)
		return rc;
	if (t.kind != TOK_STR && t.kind != TOK_BIN)
		return -EPROTO;
	s->p = t.p;
	s->n = t.n;
	return 0;
}

/* An array of strings into the pool; l->v is set by dec_fixup. */
static int
dec_list(struct dec *d, struct pstr_list *l)
{
	struct tok t;
	int rc;

	if ((rc = dec_token(d, &t)) < 0)
		return rc;
	if (t.kind != TOK_ARRAY)
		return -EPROTO;
	if (t.n > PROTO_MAX_LIST)
		return -EMSGSIZE;
	/* Each entry takes a byte at least: reject a lying count before
	 * allocating for it. */
	if (t.n > dec_left(d))
		return -EPROTO;
	l->v = NULL;
	l->n = 0;
	if (t.n == 0)
		return 0;
	if (d->nfix == MAX_LISTS)
		abort(); /* a layout above grew a list without MAX_LISTS */
	if (d->pool_cap - d->pool_n < t.n) {
		uint32_t cap = d->pool_cap * 2;
		if (cap < d->pool_n + t.n)
			cap = d->pool_n + t.n;
		if (cap < 4)
			cap = 4;
		d->pool = xrealloc(d->pool, cap * sizeof *d->pool);
		d->pool_cap = cap;
	}
	for (uint32_t i = 0; i < t.n; i++) {
		struct tok e;
		if ((rc = dec_token(d, &e)) < 0)
			return rc;
		if (e.kind != TOK_STR && e.kind != TOK_BIN)
			return -EPROTO;
		d->pool[d->pool_n + i].p = e.p;
		d->pool[d->pool_n + i].n = e.n;
	}
	d->fix[d->nfix].list = l;
	d->fix[d->nfix].off = d->pool_n;
	d->nfix++;
	d->pool_n += t.n;
	l->n = t.n;
	return 0;
}

static int
dec_member(struct dec *d, struct proto_member *mb)
{
	uint32_t extra;
	int rc;

	mb->left = false;
	if ((rc = dec_array(d, MEMBER_FIELDS, &extra)) < 0 ||
	    (rc = dec_u8(d, ROLE_GATEWAY, ROLE_WORKER, &mb->role)) < 0 ||
	    (rc = dec_u64(d, &mb->id)) < 0 || (rc = dec_str(d, &mb->inbox)) < 0)
		return rc;
	if (extra > 0) {
		if ((rc = dec_bool(d, &mb->left)) < 0)
			return rc;
		extra--;
	}
	return dec_skip(d, extra);
}

static int
dec_stats(struct dec *d, struct proto_stats *st)
{
	uint32_t extra;
	int rc;

	if ((rc = dec_array(d, STATS_FIELDS, &extra)) < 0 || (rc = dec_u32(d, &st->pid)) < 0 ||
	    (rc = dec_str(d, &st->host)) < 0 || (rc = dec_u64(d, &st->started)) < 0 ||
	    (rc = dec_u64(d, &st->rss)) < 0 || (rc = dec_u64(d, &st->connections)) < 0 ||
	    (rc = dec_u64(d, &st->uids)) < 0 || (rc = dec_u64(d, &st->groups)) < 0 ||
	    (rc = dec_u64(d, &st->msgs_in)) < 0 || (rc = dec_u64(d, &st->msgs_out)) < 0 ||
	    (rc = dec_u64(d, &st->pushes)) < 0 || (rc = dec_u32(d, &st->push_rate)) < 0 ||
	    (rc = dec_bool(d, &st->draining)) < 0)
		return rc;
	return dec_skip(d, extra);
}

/* Reads the header of a list of at most PROTO_MAX_MEMBERS entries (members,
 * status entries): *n entries, each at least one byte, follow. */
static int
dec_member_list(struct dec *d, uint32_t *n)
{
	struct tok t;
	int rc;

	if ((rc = dec_token(d, &t)) < 0)
		return rc;
	if (t.kind != TOK_ARRAY)
		return -EPROTO;
	if (t.n > PROTO_MAX_MEMBERS)
		return -EMSGSIZE;
	if (t.n > dec_left(d))
		return -EPROTO;
	*n = t.n;
	return 0;
}

/* The entry array is the message's one allocation, handed to *arena. */
static int
dec_status(struct dec *d, struct proto_status *s, void **arena)
{
	uint32_t n;
	int rc;

	s->n = 0;
	s->v = NULL;
	if ((rc = dec_stats(d, &s->self)) < 0 || (rc = dec_member_list(d, &n)) < 0)
		return rc;
	if (n == 0)
		return 0;
	s->v = xcalloc(n, sizeof *s->v);
	*arena = s->v;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t extra;
		struct proto_status_member *e = &s->v[i];
		if ((rc = dec_array(d, STATUS_MEMBER_FIELDS, &extra)) < 0 ||
		    (rc = dec_u8(d, ROLE_GATEWAY, ROLE_WORKER, &e->role)) < 0 ||
		    (rc = dec_u64(d, &e->id)) < 0 || (rc = dec_stats(d, &e->stats)) < 0 ||
		    (rc = dec_skip(d, extra)) < 0)
			return rc;
	}
	s->n = n;
	return 0;
}

static int
dec_cmd(struct dec *d, struct proto_cmd *c)
{
	uint32_t extra;
	int rc;

	if ((rc = dec_array(d, CMD_FIELDS, &extra)) < 0 ||
	    (rc = dec_u8(d, 1, CMD__COUNT - 1, &c->type)) < 0 ||
	    (rc = dec_list(d, &c->uids)) < 0 || (rc = dec_list(d, &c->groups)) < 0 ||
	    (rc = dec_list(d, &c->clients)) < 0 || (rc = dec_list(d, &c->exclude)) < 0 ||
	    (rc = dec_str(d, &c->data)) < 0 || (rc = dec_bool(d, &c->has_data)) < 0 ||
	    (rc = dec_bool(d, &c->binary)) < 0 || (rc = dec_str(d, &c->session)) < 0)
		return rc;
	c->from_client = c->has_data;
	if (extra > 0) {
		if ((rc = dec_bool(d, &c->from_client)) < 0)
			return rc;
		extra--;
	}
	return dec_skip(d, extra);
}

static int
dec_announce(struct dec *d, struct proto_announce *a)
{
	int rc;

	if ((rc = dec_member(d, &a->self)) < 0 || (rc = dec_u32(d, &a->lease_ms)) < 0 ||
	    (rc = dec_bool(d, &a->leaving)) < 0)
		return rc;
	return 0;
}

/* The optional stats after an announce's fields; n as in dec_optional_u64. */
static int
dec_announce_stats(struct dec *d, uint32_t *n, struct proto_announce *a)
{
	int rc;

	a->has_stats = false;
	memset(&a->stats, 0, sizeof a->stats);
	if (*n <= ANNOUNCE_FIELDS)
		return 0;
	if ((rc = dec_stats(d, &a->stats)) < 0)
		return rc;
	a->has_stats = true;
	(*n)--;
	return 0;
}

/* The member array is the message's one allocation, handed to *arena. */
static int
dec_members(struct dec *d, struct proto_members *ms, void **arena)
{
	uint32_t n;
	int rc;

	ms->n = 0;
	ms->v = NULL;
	if ((rc = dec_u64(d, &ms->version)) < 0 || (rc = dec_member_list(d, &n)) < 0)
		return rc;
	if (n == 0)
		return 0;
	ms->v = xcalloc(n, sizeof *ms->v);
	*arena = ms->v;
	for (uint32_t i = 0; i < n; i++)
		if ((rc = dec_member(d, &ms->v[i])) < 0)
			return rc;
	ms->n = n;
	return 0;
}

static int
dec_event(struct dec *d, struct proto_event *e)
{
	int rc;

	if ((rc = dec_u64(d, &e->gateway)) < 0 || (rc = dec_str(d, &e->client_id)) < 0 ||
	    (rc = dec_u8(d, EVENT_CONNECT, EVENT_PRESENCE, &e->kind)) < 0 ||
	    (rc = dec_bool(d, &e->binary)) < 0 || (rc = dec_str(d, &e->data)) < 0 ||
	    (rc = dec_str(d, &e->uid)) < 0 || (rc = dec_u16(d, &e->close_code)) < 0)
		return rc;
	return 0;
}

static int
dec_result(struct dec *d, struct proto_result *r)
{
	int rc;

	if ((rc = dec_u64(d, &r->id)) < 0 || (rc = dec_bool(d, &r->ok)) < 0 ||
	    (rc = dec_str(d, &r->error)) < 0 || (rc = dec_str(d, &r->message)) < 0 ||
	    (rc = dec_i64(d, &r->delivered)) < 0 || (rc = dec_i64(d, &r->count)) < 0 ||
	    (rc = dec_list(d, &r->strs)) < 0 || (rc = dec_str(d, &r->session)) < 0 ||
	    (rc = dec_bool(d, &r->partial)) < 0 || (rc = dec_u32(d, &r->answered)) < 0 ||
	    (rc = dec_u32(d, &r->expected)) < 0)
		return rc;
	return 0;
}

/* An optional field appended to a layout: read into *v when the array (of
 * *n fields after [version, type], base of them required) still has one,
 * which it then counts as read; otherwise *v is left as it is. */
static int
dec_optional_u64(struct dec *d, uint32_t *n, uint32_t base, uint64_t *v)
{
	int rc;

	if (*n <= base)
		return 0;
	if ((rc = dec_u64(d, v)) < 0)
		return rc;
	(*n)--;
	return 0;
}

static int
dec_body_of(struct dec *d, struct proto_msg *m, uint32_t n)
{
	static const uint32_t fields[] = {
		[PROTO_ANNOUNCE] = ANNOUNCE_FIELDS,
		[PROTO_MEMBERS] = MEMBERS_FIELDS,
		[PROTO_EVENT] = EVENT_FIELDS,
		[PROTO_REQUEST] = REQUEST_FIELDS,
		[PROTO_OP] = OP_FIELDS,
		[PROTO_RESULT] = RESULT_FIELDS,
		[PROTO_REPLY] = RESULT_FIELDS,
		[PROTO_STATUS_QUERY] = STATUS_QUERY_FIELDS,
		[PROTO_STATUS] = STATUS_FIELDS,
	};
	int rc;

	if (n < fields[m->type])
		return -EPROTO;
	switch (m->type) {
	case PROTO_ANNOUNCE:
		if ((rc = dec_announce(d, &m->u.announce)) < 0)
			break;
		rc = dec_announce_stats(d, &n, &m->u.announce);
		break;
	case PROTO_STATUS_QUERY:
		rc = 0;
		break;
	case PROTO_STATUS:
		rc = dec_status(d, &m->u.status, &m->arena);
		break;
	case PROTO_MEMBERS:
		rc = dec_members(d, &m->u.members, &m->arena);
		break;
	case PROTO_EVENT:
		rc = dec_event(d, &m->u.event);
		break;
	case PROTO_REQUEST:
		m->u.request.expires = 0;
		m->u.request.pushed_us = 0;
		if ((rc = dec_u64(d, &m->u.request.gateway)) < 0 ||
		    (rc = dec_u64(d, &m->u.request.req)) < 0 ||
		    (rc = dec_cmd(d, &m->u.request.cmd)) < 0 ||
		    (rc = dec_optional_u64(d, &n, fields[m->type], &m->u.request.expires)) < 0)
			break;
		rc = dec_optional_u64(d, &n, fields[m->type], &m->u.request.pushed_us);
		break;
	case PROTO_OP:
		m->u.op.pushed_us = 0;
		m->u.op.expires = 0;
		if ((rc = dec_u64(d, &m->u.op.worker)) < 0 || (rc = dec_u64(d, &m->u.op.op)) < 0 ||
		    (rc = dec_cmd(d, &m->u.op.cmd)) < 0 ||
		    (rc = dec_optional_u64(d, &n, fields[m->type], &m->u.op.pushed_us)) < 0)
			break;
		rc = dec_optional_u64(d, &n, fields[m->type], &m->u.op.expires);
		break;
	default: /* RESULT, REPLY */
		rc = dec_result(d, &m->u.result);
		break;
	}
	if (rc < 0)
		return rc;
	return dec_skip(d, n - fields[m->type]);
}

/* Decodes the message at the front of p; *used gets its length. With
 * whole, bytes after it are an error (-EBADMSG). */
static int
proto_decode_front(const void *p, size_t len, struct proto_msg *m, size_t *used, bool whole)
{
	struct dec d;
	uint32_t n;
	uint64_t version;
	int rc;

	/* Only what fini and the fail path read is cleared here; the decoder
	 * writes every field of the type it finds. */
	m->type = 0;
	m->arena = NULL;
	if (len == 0)
		return -EPROTO;
	d.p = p;
	d.end = d.p + len;
	d.pool = NULL;
	d.pool_n = d.pool_cap = 0;
	d.nfix = 0;

	if ((rc = dec_array(&d, 2, &n)) < 0 || (rc = dec_u64(&d, &version)) < 0)
		goto fail;
	if (version != PROTO_VERSION) {
		rc = -EPROTO;
		goto fail;
	}
	if ((rc = dec_u8(&d, PROTO_ANNOUNCE, PROTO_STATUS, &m->type)) < 0 ||
	    (rc = dec_body_of(&d, m, n)) < 0)
		goto fail;
	if (whole && d.p != d.end) {
		rc = -EBADMSG;
		goto fail;
	}
	if (d.pool != NULL) {
		m->arena = d.pool;
		for (int i = 0; i < d.nfix; i++)
			d.fix[i].list->v = d.pool + d.fix[i].off;
	}
	*used = (size_t)(d.p - (const uint8_t *)p);
	return 0;

fail:
	free(d.pool);
	free(m->arena);
	memset(m, 0, sizeof *m);
	return rc;
}

int
proto_decode(const void *p, size_t len, struct proto_msg *m)
{
	size_t used;
	return proto_decode_front(p, len, m, &used, true);
}

int
proto_decode_next(const void *p, size_t len, struct proto_msg *m, size_t *used)
{
	return proto_decode_front(p, len, m, used, false);
}

void
proto_msg_fini(struct proto_msg *m)
{
	free(m->arena);
	m->arena = NULL;
	m->type = 0;
}

int
proto_decode_batch(const void *p, size_t len, proto_visit_fn *fn, void *arg, size_t *left)
{
	const uint8_t *q = p;
	while (len > 0) {
		struct proto_msg m;
		size_t used;
		int rc = proto_decode_next(q, len, &m, &used);
		if (rc != 0) {
			*left = len;
			return rc;
		}
		q += used;
		len -= used;
		fn(arg, &m);
		proto_msg_fini(&m);
	}
	*left = 0;
	return 0;
}
