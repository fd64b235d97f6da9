/*
 * app — the table of apps a worker can run (worker.app).
 */
#include "worker/app.h"

#include <string.h>

static const struct app *const apps[] = {&app_builtin, &app_echo};

const struct app *
app_find(const char *name)
{
	for (size_t i = 0; i < sizeof apps / sizeof apps[0]; i++)
		if (strcmp(name, apps[i]->name) == 0)
			return apps[i];
	return NULL;
}
