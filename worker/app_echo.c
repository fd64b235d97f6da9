/*
 * app_echo — every client message goes back to its sender unchanged, through
 * the whole path (gateway → worker → gateway), so conformance tests exercise
 * exactly what real traffic does.
 */
#include <string.h>

#include "worker/app.h"
#include "worker/worker.h"

static void
echo_on_event(struct worker *w, const struct proto_event *ev)
{
	if (ev->kind == EVENT_MESSAGE)
		worker_send_to_client(w, ev->gateway, ev->client_id, ev->data.p, ev->data.n, ev->binary);
}

const struct app app_echo = {"echo", echo_on_event};
