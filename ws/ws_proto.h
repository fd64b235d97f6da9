/*
 * ws_proto — the numbers RFC 6455 defines, once: frame opcodes (§5.2,
 * §11.8) and the close codes gatecast sends or checks (§7.4.1). Codes of
 * gatecast's own (the 4000–4999 range) are the gateway's, in gateway/ws_server.h.
 */
#ifndef GATECAST_WS_WS_PROTO_H
#define GATECAST_WS_WS_PROTO_H

/* Opcodes (§5.2). */
#define WS_OP_CONT 0x0
#define WS_OP_TEXT 0x1
#define WS_OP_BINARY 0x2
#define WS_OP_CLOSE 0x8
#define WS_OP_PING 0x9
#define WS_OP_PONG 0xa

/* Close codes (§7.4.1). 1006 is never sent: it stands for "closed without
 * a close frame" where a code must be reported. */
#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_ABNORMAL 1006
#define WS_CLOSE_BAD_DATA 1007
#define WS_CLOSE_POLICY 1008
#define WS_CLOSE_TOO_BIG 1009

#endif
