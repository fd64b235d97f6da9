/*
 * push_cmd_fuzz — libFuzzer entry for the push-port parser and the reply
 * writer. Any input is one line; a parsed command is answered with a result
 * made from its own fields (so hostile bytes from base64 data reach the
 * string escaper), a failure with an error reply. Every reply must be one
 * line of valid JSON: anything else aborts.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "push/push_batch.h"
#include "push/push_cmd.h"
#include "push/push_reply.h"
#include "proto/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One line of valid JSON object, ending in its only '\n'. */
static void
check_line(const struct buf *b)
{
	json_error_t je;
	json_t *v;

	if (b->len == 0 || b->p[b->len - 1] != '\n' || memchr(b->p, '\n', b->len - 1) != NULL)
		abort();
	v = json_loadb(b->p, b->len - 1, JSON_ALLOW_NUL, &je);
	if (!json_is_object(v))
		abort();
	json_decref(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct push_limits lim = {128, 128, 1000};
	struct push_cmd c;
	struct push_error err;
	struct proto_result r;
	struct buf b = BUF_INIT;
	struct pstr extra[2];

	/* The same bytes as the body of POST /api/batch: every span it
	 * returns lies inside the input and is not empty. */
	size_t off[8], len[8];
	long nb = push_batch_split((const char *)data, size, off, len, 8);
	for (long i = 0; i < nb && i < 8; i++)
		if (off[i] + len[i] > size || len[i] == 0)
			abort();

	if (push_cmd_parse((const char *)data, size, &lim, &c, &err) < 0) {
		if (err.code == PROTO_ERR_NONE)
			abort();
		push_reply_error(c.id, err.code, err.message, &b);
		check_line(&b);
		goto out;
	}

	memset(&r, 0, sizeof r);
	r.ok = size % 2 == 0;
	r.delivered = (int64_t)size;
	r.count = (int64_t)(size % 3);
	r.session = c.cmd.session;
	r.partial = size % 5 == 0;
	r.answered = 1;
	r.expected = 2;
	/* Hostile strings: the data bytes (binary when base64) and the
	 * first uid/group/client. */
	extra[0] = c.cmd.data;
	extra[1] = c.cmd.uids.n ? c.cmd.uids.v[0]
		: c.cmd.groups.n ? c.cmd.groups.v[0]
		: c.cmd.clients.n ? c.cmd.clients.v[0] : pstr_c("");
	r.strs = (struct pstr_list){extra, 2};
	r.error = c.cmd.data;
	r.message = extra[1];
	push_reply_render((enum cmd_type)c.cmd.type, c.id, &r, &b, NULL);
	check_line(&b);
	/* Every type's reply shape, for the same result. */
	for (int t = 0; t <= CMD__COUNT; t++) {
		buf_reset(&b);
		r.ok = !r.ok;
		push_reply_render((enum cmd_type)t, c.id, &r, &b, NULL);
		check_line(&b);
	}
out:
	buf_fini(&b);
	push_cmd_fini(&c);
	return 0;
}
