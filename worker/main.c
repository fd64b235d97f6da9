/*
 * gatecast-worker — business logic (worker.app), stateless.
 */
#include <event2/event.h>

#include "common/log.h"
#include "cluster/prog.h"
#include "worker/worker.h"

static void
worker_on_stop(void *arg, int signo)
{
	log_info("stopping", "signal=%d", signo);
	worker_stop(arg);
}

int
main(int argc, char **argv)
{
	struct prog p;
	prog_init(&p, "worker",
		"Usage: gatecast-worker [-c gatecast.ini] [--set section.key=value]...\n"
		"Runs business logic (worker.app = builtin | echo) for the gateways it\n"
		"finds through the register.",
		argc, argv, worker_on_stop, NULL);
	struct worker *w = worker_new(p.base, &p.cfg, p.cluster);
	if (w == NULL)
		return 1;
	prog_set_stop_arg(w);
	event_base_dispatch(p.base);
	worker_free(w);
	prog_fini(&p);
	log_info("stopped", NULL);
	return 0;
}
