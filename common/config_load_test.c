/*
 * config_load_test — every example config under deploy/ must load and
 * validate, so the documentation cannot rot. Takes the files as arguments
 * (see common/meson.build). For each: the defaults, then the file, then
 * dummy secrets, as the units give them through the environment
 * (GATECAST_*_SECRET), then config_validate. One TAP check per file.
 */
#include "common/config.h"

#include <stdio.h>
#include <string.h>

#include "tests/tap.h"

#define SECRET32 "0123456789abcdef0123456789abcdef"

static int
load_one(const char *path)
{
	static const char *const secrets[] = {
		"cluster.secret=" SECRET32,
		"auth.secret=" SECRET32,
		"push.secret=" SECRET32,
	};
	char err[512] = "";
	struct config c;
	int ok = 0;

	config_defaults(&c);
	int rc = config_load_file(&c, path, err, sizeof err);
	if (rc != 0) {
		printf("# %s: config_load_file: %d %s\n", path, rc, err);
		goto out;
	}
	/* The examples keep secrets out of the file: they come from the
	 * environment (secrets.env). */
	if (c.cluster_secret[0] || c.auth_secret[0] || c.auth_previous_secret[0] ||
		c.push_secret[0]) {
		printf("# %s: holds a secret; use GATECAST_*_SECRET instead\n", path);
		goto out;
	}
	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
		if (config_set(&c, secrets[i], err, sizeof err) != 0) {
			printf("# %s: config_set: %s\n", path, err);
			goto out;
		}
	}
	if (config_validate(&c, err, sizeof err) != 0) {
		printf("# %s: config_validate: %s\n", path, err);
		goto out;
	}
	ok = 1;
out:
	config_fini(&c);
	return ok;
}

int
main(int argc, char **argv)
{
	tap_ok(argc > 1, "example config files are given");
	for (int i = 1; i < argc; i++) {
		/* Name the check after the file and its directory
		 * ("multi-host/gateway.ini"), not the whole build path. */
		const char *shown = argv[i];
		const char *slash = strrchr(argv[i], '/');
		if (slash != NULL && slash > argv[i]) {
			shown = slash - 1;
			while (shown > argv[i] && shown[-1] != '/')
				shown--;
		}
		char name[512];
		snprintf(name, sizeof name, "%s loads and validates", shown);
		tap_ok(load_one(argv[i]), name);
	}
	return tap_done();
}
