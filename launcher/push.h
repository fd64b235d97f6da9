/*
 * push — `gatecast push`: a small client of the push port for shell scripts
 * and cron.
 *
 *   gatecast push <command> [--uid U]... [--group G]... [--client-id C]...
 *                 [--exclude C]... [--data JSON_OR_TEXT | --data-text TEXT |
 *                 --data-base64 B64] [--session JSON] [--id ID]
 *                 [-c gatecast.ini] [--set k=v]... [--host HOST:PORT]
 *   gatecast push   (no command: raw JSON request lines from stdin, pipelined)
 *
 * Connects to gateway.push_listen (or --host), sends {"type":"auth",...}
 * first when push.secret is set (config or GATECAST_PUSH_SECRET), sends the
 * request(s) and prints every reply line as it arrives. Exit status: 0 when
 * every reply had "ok":true, 1 when any had "ok":false, 2 on usage,
 * configuration or connection errors, and when the port answers
 * "unauthorized" (a missing or wrong push.secret).
 */
#ifndef GATECAST_LAUNCHER_PUSH_H
#define GATECAST_LAUNCHER_PUSH_H

/* argv[1] is "push". Returns the exit status. */
int push_cli_main(int argc, char **argv);

#endif
