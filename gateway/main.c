/*
 * gatecast-gateway — holds browser WebSocket connections and the push port.
 */
#include <event2/event.h>
#include <string.h>

#include "common/log.h"
#include "cluster/prog.h"
#include "gateway/gateway.h"

static void
gateway_on_stop(void *arg, int signo)
{
	gateway_stop(arg);
}

int
main(int argc, char **argv)
{
	struct prog p;
	struct gateway *gw = NULL;
	prog_init(&p, "gateway",
		"Usage: gatecast-gateway [-c gatecast.ini] [--set section.key=value]...\n"
		"Serves WebSocket clients on gateway.ws_listen and the push port on\n"
		"gateway.push_listen, and joins the cluster through the register.",
		argc, argv, gateway_on_stop, NULL);
	/* The stop callback needs the gateway: re-register with it. */
	gw = gateway_new(p.base, &p.cfg, p.cluster);
	if (gw == NULL)
		return 1;
	prog_set_stop_arg(gw);
	event_base_dispatch(p.base);
	gateway_free(gw);
	prog_fini(&p);
	log_info("stopped", NULL);
	return 0;
}
