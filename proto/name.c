/*
 * name — see name.h.
 */
#include "proto/name.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
name_from_json(const json_t *v, size_t max_len, struct name *out)
{
	const char *p;
	size_t n;

	out->p = NULL;
	out->n = 0;
	if (json_is_string(v)) {
		p = json_string_value(v);
		n = json_string_length(v);
	} else if (json_is_integer(v)) {
		int k = snprintf(out->num, sizeof out->num, "%" JSON_INTEGER_FORMAT,
			json_integer_value(v));
		p = out->num;
		n = (size_t)k;
	} else if (json_is_real(v)) {
		return -EDOM;
	} else {
		return -EINVAL;
	}
	if (n == 0)
		return -ENODATA;
	if (n > max_len)
		return -ENAMETOOLONG;
	if (memchr(p, '\0', n) != NULL)
		return -EINVAL;
	out->p = p;
	out->n = n;
	return 0;
}
