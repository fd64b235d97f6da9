/*
 * ipc_test — the same-host framing on a real unix socket, one event loop
 * holding both ends: every frame arrives once, whole and in order, through
 * a full socket buffer (the dialer says -EAGAIN and calls back when there is
 * room); a hello the listener refuses lets nothing through; a listener that
 * goes away is reported down, and the dialer comes back up when it returns;
 * a stale socket file is replaced, a live one is not.
 */
#include "cluster/ipc.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "tests/tap.h"

#define FRAMES 1000

static struct event_base *base;

/* ---- the listener's side ---- */

static unsigned received, bad_frames, hellos_refused;

static int
on_auth(void *arg, const void *p, size_t n)
{
	int ok = n == 8 && memcmp(p, "ok-hello", 8) == 0;
	if (!ok)
		hellos_refused++;
	return ok ? 0 : -1;
}

/* Frame i is (i % 97) * 1000 + 4 bytes: its number, then bytes i + k. */
static size_t
frame_len(unsigned i)
{
	return (size_t)(i % 97) * 300 + 4;
}

static void
fill(unsigned char *p, unsigned i)
{
	memcpy(p, &i, 4);
	for (size_t k = 4; k < frame_len(i); k++)
		p[k] = (unsigned char)(i + k);
}

static void
on_frame(void *arg, const void *p, size_t n)
{
	static unsigned char want[97 * 300 + 4];
	unsigned i;
	memcpy(&i, p, 4);
	fill(want, received);
	if (i != received || n != frame_len(received) || memcmp(p, want, n) != 0)
		bad_frames++;
	received++;
	if (received == FRAMES)
		event_base_loopbreak(base);
}

/* ---- the dialer's side ---- */

static const char *hello_text = "ok-hello";
static unsigned ups, downs, rooms, refusals, next_frame;
static struct ipc_dialer *dialer;
static bool stop_on_up, stop_on_down;

static void
on_hello(void *arg, struct buf *out)
{
	buf_append_str(out, hello_text);
}

static void
on_state(void *arg, bool up)
{
	if (up)
		ups++;
	else
		downs++;
	if ((up && stop_on_up) || (!up && stop_on_down))
		event_base_loopbreak(base);
}

/* Sends frames until the dialer refuses one; room calls back for more. */
static void
pump(void)
{
	static unsigned char p[97 * 300 + 4];
	while (next_frame < FRAMES) {
		fill(p, next_frame);
		if (ipc_dialer_send(dialer, p, frame_len(next_frame)) != 0) {
			refusals++;
			return;
		}
		next_frame++;
	}
}

static void
on_room(void *arg)
{
	rooms++;
	pump();
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	*(bool *)arg = true;
	event_base_loopbreak(base);
}

/* Runs the loop until a callback breaks it or ms pass. True if in time. */
static bool
run(unsigned ms)
{
	bool late = false;
	struct event *t = evtimer_new(base, on_deadline, &late);
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(t, &tv);
	event_base_dispatch(base);
	event_free(t);
	return !late;
}

int
main(void)
{
	char path[108];
	int err = 0;
	base = event_base_new();
	snprintf(path, sizeof path, "/tmp/gatecast-ipc-test-%d.sock", (int)getpid());
	unlink(path);

	struct ipc_listener *l = ipc_listen(base, path, on_auth, on_frame, NULL, &err);
	tap_ok(l != NULL, "listens");
	struct stat st;
	tap_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the socket file is 0600");
	int err2 = 0;
	tap_ok(ipc_listen(base, path, on_auth, on_frame, NULL, &err2) == NULL &&
			err2 == -EADDRINUSE,
		"a second listener on a live path is refused with EADDRINUSE");

	dialer = ipc_dialer_new(base, path, on_hello, on_state, on_room, NULL, &err);
	tap_ok(dialer != NULL, "dials");
	tap_ok(ipc_dialer_send(dialer, "x", 1) == -EAGAIN, "a send before the connection says -EAGAIN");
	refusals = 0;
	/* The room callback after the connection comes up starts the pump. */
	tap_ok(run(20000), "every frame arrived within 20 s");
	tap_eq_int(received, FRAMES, "every frame arrived");
	tap_eq_int(bad_frames, 0, "each frame whole, once, in order");
	tap_ok(refusals > 0, "the output buffer filled: sends were refused (backpressure)");
	tap_ok(rooms > refusals / 2, "and the room callback asked for more each time");
	tap_eq_int(ups, 1, "the connection came up once");

	/* The listener goes away: the dialer notices and keeps retrying. */
	stop_on_down = true;
	ipc_listener_free(l);
	tap_ok(run(5000), "the dialer saw the listener go");
	tap_eq_int(downs, 1, "reported down once");
	tap_ok(!ipc_dialer_connected(dialer), "not connected");
	tap_ok(access(path, F_OK) != 0, "the socket file was removed");

	/* A stale file (nobody listening) is replaced by a new listener. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, path);
	tap_ok(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "a stale socket file is left");
	close(fd);
	l = ipc_listen(base, path, on_auth, on_frame, NULL, &err);
	tap_ok(l != NULL, "a listener replaces the stale file");
	stop_on_down = false;
	stop_on_up = true;
	tap_ok(run(5000), "the dialer reconnected");
	tap_eq_int(ups, 2, "reported up again");
	stop_on_up = false;
	received = 0;
	next_frame = 0;
	pump();
	tap_ok(run(20000) && received == FRAMES && bad_frames == 0,
		"every frame arrives again on the new connection");

	/* A dialer whose hello is refused gets nothing through. */
	ipc_dialer_free(dialer);
	hello_text = "bad-hello";
	ups = downs = 0;
	dialer = ipc_dialer_new(base, path, on_hello, on_state, on_room, NULL, &err);
	received = 0;
	next_frame = FRAMES - 5; /* a few small frames after the hello */
	stop_on_down = true;
	tap_ok(run(5000), "the refused dialer saw its connection closed");
	tap_eq_int(hellos_refused, 1, "the listener refused the hello");
	tap_eq_int(received, 0, "no frame after a refused hello was delivered");
	ipc_dialer_free(dialer);

	/* Strangers that connect and say nothing cannot pile up: past 16
	 * waiting for their hello, the oldest is closed. */
	int idle[17];
	for (int i = 0; i < 17; i++) {
		idle[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		connect(idle[i], (struct sockaddr *)&sa, sizeof sa);
	}
	run(300);
	char ch;
	tap_ok(recv(idle[0], &ch, 1, MSG_DONTWAIT) == 0, "the oldest silent connection was closed");
	tap_ok(recv(idle[16], &ch, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN,
		"the newest is still open");
	for (int i = 0; i < 17; i++)
		close(idle[i]);
	hello_text = "ok-hello";
	ups = 0;
	stop_on_down = false;
	stop_on_up = true;
	dialer = ipc_dialer_new(base, path, on_hello, on_state, on_room, NULL, &err);
	tap_ok(run(5000) && ups == 1, "a member still connects");
	stop_on_up = false;
	received = next_frame = FRAMES - 1; /* one more frame: the last */
	pump();
	tap_ok(run(5000) && received == FRAMES && bad_frames == 0, "and its frame arrives");
	ipc_dialer_free(dialer);
	ipc_listener_free(l);

	int err3 = 0;
	tap_ok(ipc_dialer_new(base, "", on_hello, on_state, on_room, NULL, &err3) == NULL &&
			err3 == -EINVAL,
		"an empty path is refused");
	event_base_free(base);
	return tap_done();
}
