/*
 * ipc — gatecast's own framing for the links between processes of one host
 * (inbox URLs ipc://PATH), read and written from the libevent loop.
 *
 * Why not nng's ipc transport: nng hands every message through its own
 * threads — caller → pipe thread on the sending side, pipe thread → socket
 * queue → loop (woken through a pipe fd) on the receiving side. Profiles of
 * the push path (bench/RESULTS.md) found most of the CPU in those hand-offs
 * (futex waits, context switches) and tens of microseconds per hop. Here a
 * hop is one write(2) and one read(2) on a unix stream socket, both on the
 * loop thread. Links across hosts (tcp://, tls+tcp://) stay on nng.
 *
 * Wire, one direction only (the listener never writes):
 *
 *   dialer → listener:  "GCL1", then frames: u32 big-endian length, bytes
 *
 * Frame 0 is the hello: the dialer's caller makes it (outlink.c seals
 * IPC_HELLO_BODY for the inbox's URL, SECURITY.md), the listener's caller
 * judges it (inbox.c opens the seal: right secret, this inbox, fresh, never
 * seen before). Every later frame is one batch (outlink.h) *without* a seal:
 * the connection is authenticated once, and a unix stream cannot be written
 * into by anyone but its two ends. So same-host links pay no HMAC per
 * message; the socket file's mode (0600 in the 0700 run_dir) is a second
 * fence. A connection that opens with anything but "GCL1", whose hello is
 * refused, or that announces a frame over IPC_FRAME_MAX is closed and
 * logged (event=ipc_refused, rate-limited, never the bytes). So is the
 * oldest of more than 16 connections still waiting for their hello (a
 * member sends it with the connect): idle strangers cannot pile up fds.
 *
 * A dialer connects without blocking and reconnects 50 ms, 100 ms, ... up to
 * 1 s after a failure or a break, and reports its connection coming up and
 * going down. Its output is one buffer of at most IPC_OUT_MAX bytes (plus
 * the frame that crossed the bound); past that, ipc_dialer_send says
 * -EAGAIN and the caller keeps the frame (outlink's bounded FIFO) until the
 * room callback runs. While not connected every send says -EAGAIN. A
 * connection that breaks loses what its buffer held, as an nng pipe does;
 * senders' requests then time out and are answered as errors.
 *
 * The listener reads at most IPC_READ_MAX bytes per readiness callback per
 * connection, so one busy peer cannot starve the loop's other sockets.
 */
#ifndef GATECAST_CLUSTER_IPC_H
#define GATECAST_CLUSTER_IPC_H

#include "common/attr.h"

#include <stdbool.h>
#include <stddef.h>

struct buf;
struct event_base;
struct ipc_dialer;
struct ipc_listener;

#define IPC_MAGIC "GCL1"
#define IPC_MAGIC_LEN 4
#define IPC_HELLO_BODY "gatecast ipc hello"
#define IPC_FRAME_MAX (64u << 20) /* as the nng inbox's NNG_OPT_RECVMAXSZ */
#define IPC_OUT_MAX (1u << 20)
#define IPC_READ_MAX (64u << 10)

/* The path of an ipc:// URL (borrowed from url), or NULL when url is not one. */
const char *ipc_path(const char *url);

/* The dialer's connection came up (up) or went down. */
typedef void ipc_state_fn(void *arg, bool up);
/* The output buffer emptied after a send was refused: send again. Also
 * called when a connection comes up. */
typedef void ipc_room_fn(void *arg);
/* Appends the hello for a new connection (a fresh one each time) to out,
 * which is empty. */
typedef void ipc_hello_fn(void *arg, struct buf *out);
/* Judges a connection's hello (the n bytes at p, borrowed for the call): 0
 * lets the connection in. */
typedef int ipc_auth_fn(void *arg, const void *p, size_t n);
/* One frame received after the hello: the n bytes at p, borrowed for the
 * call (they point into the connection's read buffer: no copy). */
typedef void ipc_frame_fn(void *arg, const void *p, size_t n);

/* Starts dialing path (copied). Never fails for a path that fits a unix
 * socket address; returns NULL with *err = -EINVAL (empty) or
 * -ENAMETOOLONG otherwise. The
 * callbacks run on the loop; arg is borrowed. */
struct ipc_dialer *ipc_dialer_new(struct event_base *base, const char *path, ipc_hello_fn *hello,
	ipc_state_fn *state, ipc_room_fn *room, void *arg, int *err);
/* Closes the connection, discarding unsent bytes. NULL is fine. */
void ipc_dialer_free(struct ipc_dialer *d);
/* Sends n bytes (n <= IPC_FRAME_MAX) as one frame: 0, or -EAGAIN when not
 * connected or the output buffer is full (nothing was taken). Bytes are
 * borrowed for the call. */
MUST_CHECK int ipc_dialer_send(struct ipc_dialer *d, const void *p, size_t n);
/* Connected right now. */
bool ipc_dialer_connected(const struct ipc_dialer *d);

/* Listens on path (a stale socket file left by a dead process is replaced;
 * one a live process listens on is not: -EADDRINUSE). The file is made
 * 0600. Returns the listener or NULL with *err a negative errno (-EINVAL
 * or -ENAMETOOLONG for a path that is not a unix socket address). */
struct ipc_listener *ipc_listen(struct event_base *base, const char *path, ipc_auth_fn *auth,
	ipc_frame_fn *fn, void *arg, int *err);
/* Closes the listener and its connections, removes the socket file. NULL
 * is fine. */
void ipc_listener_free(struct ipc_listener *l);

#endif
