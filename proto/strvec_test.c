/*
 * strvec_test — gathering, listing, de-duplication.
 */
#include <stdlib.h>

#include "proto/strvec.h"
#include "tests/tap.h"

int
main(void)
{
	struct strvec s = STRVEC_INIT;
	const char *names[] = {"b", "a", "bb", "a", "", "b"};
	for (int i = 0; i < 6; i++)
		strvec_add(&s, names[i], strlen(names[i]));
	for (int i = 0; i < 100; i++)
		strvec_add(&s, "zzzz", 4); /* forces the buffer to move */
	struct pstr_list all = strvec_list(&s, false);
	tap_eq_int(all.n, 106, "every entry is listed");
	tap_ok(pstr_eq_c(all.v[2], "bb") && pstr_eq_c(all.v[4], ""),
		"entries keep their bytes and order after the buffer grew");
	free(all.v);
	struct pstr_list u = strvec_list(&s, true);
	tap_eq_int(u.n, 5, "unique drops repeats");
	tap_ok(pstr_eq_c(u.v[0], "") && pstr_eq_c(u.v[1], "a") && pstr_eq_c(u.v[2], "b") &&
			pstr_eq_c(u.v[3], "bb") && pstr_eq_c(u.v[4], "zzzz"),
		"unique sorts by bytes, shorter first on a common prefix");
	free(u.v);
	strvec_fini(&s);
	tap_eq_int(s.n, 0, "fini empties");
	return tap_done();
}
