/*
 * proto/cmd — command names and the small pstr helpers declared in msg.h.
 * The names are the push-port API; their numbers are on the wire.
 */
#include <string.h>

#include "proto/msg.h"

static const char *const cmd_names[CMD__COUNT] = {
	[CMD_SEND_TO_UID] = "send_to_uid",
	[CMD_SEND_TO_GROUP] = "send_to_group",
	[CMD_SEND_TO_ALL] = "send_to_all",
	[CMD_SEND_TO_CLIENT] = "send_to_client",
	[CMD_CLOSE_CLIENT] = "close_client",
	[CMD_BIND_UID] = "bind_uid",
	[CMD_UNBIND_UID] = "unbind_uid",
	[CMD_JOIN_GROUP] = "join_group",
	[CMD_LEAVE_GROUP] = "leave_group",
	[CMD_UNGROUP] = "ungroup",
	[CMD_IS_UID_ONLINE] = "is_uid_online",
	[CMD_GET_CLIENT_ID_BY_UID] = "get_client_id_by_uid",
	[CMD_GET_UID_BY_CLIENT_ID] = "get_uid_by_client_id",
	[CMD_GET_CLIENT_COUNT_BY_GROUP] = "get_client_count_by_group",
	[CMD_GET_UID_LIST_BY_GROUP] = "get_uid_list_by_group",
	[CMD_GET_UID_COUNT_BY_GROUP] = "get_uid_count_by_group",
	[CMD_GET_ALL_UID_COUNT] = "get_all_uid_count",
	[CMD_GET_ALL_CLIENT_COUNT] = "get_all_client_count",
	[CMD_GET_ALL_GROUP_ID_LIST] = "get_all_group_id_list",
	[CMD_SET_SESSION] = "set_session",
	[CMD_UPDATE_SESSION] = "update_session",
	[CMD_GET_SESSION] = "get_session",
};

const char *
cmd_name(enum cmd_type t)
{
	if ((int)t <= 0 || t >= CMD__COUNT)
		return NULL;
	return cmd_names[t];
}

enum cmd_type
cmd_lookup(const char *name, size_t len)
{
	for (int t = 1; t < CMD__COUNT; t++)
		if (strlen(cmd_names[t]) == len && memcmp(cmd_names[t], name, len) == 0)
			return (enum cmd_type)t;
	return (enum cmd_type)0;
}

struct pstr
pstr_c(const char *s)
{
	struct pstr r = {s, s ? (uint32_t)strlen(s) : 0};
	return r;
}

bool
pstr_eq(struct pstr a, struct pstr b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

bool
pstr_eq_c(struct pstr a, const char *s)
{
	return pstr_eq(a, pstr_c(s));
}

bool
cmd_is_single_client(enum cmd_type t)
{
	switch (t) {
	case CMD_CLOSE_CLIENT:
	case CMD_BIND_UID:
	case CMD_UNBIND_UID:
	case CMD_JOIN_GROUP:
	case CMD_LEAVE_GROUP:
	case CMD_GET_UID_BY_CLIENT_ID:
	case CMD_SET_SESSION:
	case CMD_UPDATE_SESSION:
	case CMD_GET_SESSION:
		return true;
	default:
		return false;
	}
}
