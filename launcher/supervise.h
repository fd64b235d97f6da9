/*
 * supervise — `gatecast start [-d]`: runs a whole local cluster, one
 * register, gateway.count gateways and worker.count workers (0 = one per
 * CPU core), each started with the same -c/--set arguments, and keeps it
 * running.
 *
 * * Readiness: children report READY=1 (notify.h) on a datagram socket the
 *   launcher makes in cluster.run_dir; `start` is ready when every child
 *   is. With -d the command returns only then (exit 0), or with the reason
 *   it could not start (exit 1). Under systemd (Type=notify) the launcher
 *   passes its own READY=1 on.
 * * Restarts: a child that dies is restarted with exponential backoff
 *   (launcher.restart_backoff_min … _max; reset after it ran 10 s).
 * * Control (control.h): `status` asks the register for every member's
 *   last report; `reload` re-reads the config, sends SIGHUP to the register
 *   and the gateways (they re-read their run-time keys and reopen logs)
 *   and replaces the workers one at a time — each new worker is ready and
 *   listed before the old one is told to leave, and the old one answers
 *   what reached it before it exits, so no connection is dropped and no
 *   request goes unanswered; `stop` is SIGTERM.
 * * Stopping (SIGINT/SIGTERM/`stop`): gateways first (their clients get close
 *   1001), then workers, then the register; whatever is still alive after
 *   launcher.stop_timeout is killed.
 * * SIGHUP reopens the launcher's log and is passed on to every child.
 *
 * It only supervises: it holds no client state, so a crash of the launcher
 * leaves a running cluster running. The pieces: child.h (the processes and
 * their restarts), reload.h (the rolling replacement), control.h (the
 * control socket) and daemon.h (-d).
 */
#ifndef GATECAST_LAUNCHER_SUPERVISE_H
#define GATECAST_LAUNCHER_SUPERVISE_H

/* argv[1] is "start". Returns the exit status. */
int supervise_main(int argc, char **argv);

#endif
