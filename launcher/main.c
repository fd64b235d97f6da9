/*
 * gatecast — the command a user types: `start` runs and supervises a local
 * cluster (supervise.h), `stop`/`status`/`reload` talk to a running one
 * (control.h), `token` mints a client token, `push` talks to the push port
 * (push.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/config.h"
#include "common/jwt.h"
#include "common/xmalloc.h"
#include "launcher/control.h"
#include "launcher/push.h"
#include "launcher/supervise.h"

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: gatecast start [-d] [-c gatecast.ini] [--set section.key=value]...\n"
		"       gatecast stop | status | reload [-c gatecast.ini] [--set ...]\n"
		"       gatecast token --uid UID [--ttl SECONDS] [--groups G1,G2] [-c gatecast.ini]\n"
		"       gatecast push <command> [--uid U]... [--group G]... [--client-id C]...\n"
		"                     [--data JSON_OR_TEXT | --data-text TEXT | --data-base64 B64]\n"
		"                     [--exclude C]... [--session JSON] [--id ID]\n"
		"                     [-c gatecast.ini] [--set ...] [--host HOST:PORT]\n"
		"       gatecast push [-c gatecast.ini] [--host HOST:PORT] < request-lines\n"
		"       gatecast --help\n\n"
		"start   run a local cluster: one register, gateway.count gateways and\n"
		"        worker.count workers (0 = one per CPU core), in the foreground\n"
		"        (Ctrl-C stops it) or with -d as a daemon that returns once every\n"
		"        process is ready (log: log.file or <cluster.run_dir>/gatecast.log).\n"
		"stop    stop the cluster started with the same cluster.run_dir: gateways\n"
		"        first (clients get close 1001), then workers, then the register.\n"
		"status  a table of every process (read from the processes themselves,\n"
		"        through the register): role, pid, uptime, connections, uids,\n"
		"        groups, memory, messages in/out, pushes/s, and the totals.\n"
		"        Without a launcher (systemd, several hosts) it asks the register\n"
		"        of the config directly.\n"
		"reload  re-read the config: gateways and register re-read their\n"
		"        run-time keys (SIGHUP); workers are replaced one at a time, each\n"
		"        new one ready before the old one drains and exits. No connection\n"
		"        is dropped, no request goes unanswered.\n"
		"token   print a client token (HS256 JWT) for UID signed with\n"
		"        auth.secret (or GATECAST_AUTH_SECRET); --ttl defaults to 3600 s,\n"
		"        --groups lists the groups it may join (\"company:7:*\" wildcards).\n"
		"push    send one push-port command, or the JSON request lines on stdin,\n"
		"        to gateway.push_listen (authenticating with push.secret or\n"
		"        GATECAST_PUSH_SECRET) and print the replies; exit 0 = all ok,\n"
		"        1 = some reply not ok, 2 = usage or connection error\n"
		"        (gatecast push --help for details).\n\n"
		"Each program (gatecast-register, gatecast-gateway, gatecast-worker)\n"
		"also runs alone with the same options, for multi-host clusters.\n"
		"Config keys: see gatecast-gateway --help or deploy/gatecast.ini.example.\n");
}

/* `gatecast token`: mints a token the way a backend would. */
static int
launcher_token(int argc, char **argv)
{
	const char *uid = NULL, *groups = NULL;
	long long ttl = 3600;
	char **cfgargs = xcalloc((size_t)argc + 1, sizeof *cfgargs);
	int ncfg = 0;
	cfgargs[ncfg++] = argv[0];
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--uid") == 0 && i + 1 < argc)
			uid = argv[++i];
		else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc)
			ttl = atoll(argv[++i]);
		else if (strcmp(argv[i], "--groups") == 0 && i + 1 < argc)
			groups = argv[++i];
		else
			cfgargs[ncfg++] = argv[i];
	}
	struct config c;
	char err[512];
	int rc = 2;
	if (config_from_args(&c, ncfg, cfgargs, 1, NULL, NULL, err, sizeof err) != 0) {
		fprintf(stderr, "gatecast token: %s\n", err);
		free(cfgargs);
		return 2;
	}
	if (uid == NULL || uid[0] == '\0' || ttl <= 0 || strlen(c.auth_secret) == 0) {
		fprintf(stderr, "gatecast token: needs --uid, a positive --ttl and auth.secret "
				"(or GATECAST_AUTH_SECRET)\n");
		goto out;
	}
	char *list = groups != NULL ? xstrdup(groups) : NULL, *save = NULL;
	const char **gv = xcalloc(strlen(groups != NULL ? groups : "") / 2 + 2, sizeof *gv);
	size_t ng = 0;
	for (char *g = list ? strtok_r(list, ",", &save) : NULL; g != NULL; g = strtok_r(NULL, ",", &save))
		gv[ng++] = g;
	int64_t now = (int64_t)time(NULL);
	char *tok = jwt_sign(c.auth_secret, uid, now, now + ttl, groups != NULL ? gv : NULL, ng);
	if (tok != NULL) {
		printf("%s\n", tok);
		rc = 0;
	} else {
		fprintf(stderr, "gatecast token: uid and groups must be UTF-8\n");
	}
	free(tok);
	free(gv);
	free(list);
out:
	config_fini(&c);
	free(cfgargs);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
		strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "token") == 0)
		return launcher_token(argc, argv);
	if (strcmp(argv[1], "push") == 0)
		return push_cli_main(argc, argv);
	if (strcmp(argv[1], "start") == 0) {
		for (int i = 2; i < argc; i++)
			if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
				usage(stdout);
				return 0;
			}
		return supervise_main(argc, argv);
	}
	if (strcmp(argv[1], "stop") == 0 || strcmp(argv[1], "status") == 0 ||
		strcmp(argv[1], "reload") == 0)
		return control_cli_main(argc, argv);
	fprintf(stderr, "gatecast: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
