/*
 * client — see client.h.
 */
#include "gateway/client.h"

#include <stdlib.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "gateway/ws_server.h"
#include "proto/client_frame.h"
#include "ws/ws_frame.h"

struct client *
client_new(struct ws_conn *ws, uint64_t seq, uint64_t ip)
{
	struct client *cl = xcalloc(1, sizeof *cl);
	cl->ws = ws;
	cl->seq = seq;
	cl->ip = ip;
	return cl;
}

static void
client_drop_claims(struct client *cl)
{
	if (cl->claims != NULL) {
		jwt_claims_fini(cl->claims);
		free(cl->claims);
		cl->claims = NULL;
	}
}

void
client_free(struct client *cl, struct guard *guard)
{
	if (cl == NULL)
		return;
	guard_ip_release(guard, cl->ip);
	json_decref(cl->session);
	client_drop_claims(cl);
	free(cl);
}

void
client_set_claims(struct client *cl, struct jwt_claims *claims)
{
	client_drop_claims(cl);
	if (claims->groups != NULL) {
		cl->claims = xmalloc(sizeof *cl->claims);
		*cl->claims = *claims; /* takes the groups list */
	} else {
		jwt_claims_fini(claims);
	}
}

void
client_send_error(struct client *cl, const char *code, const char *message)
{
	struct buf b = BUF_INIT;
	client_frame_error(&b, code, message);
	struct ws_out *f = ws_frame_new(WS_OP_TEXT, b.p, b.len);
	ws_send(cl->ws, f);
	ws_out_unref(f);
	buf_fini(&b);
}
