/*
 * status: mapping between outcomes, their names in result lines and
 * SMTP reply classes.
 */
#include "config.h"

#include <string.h>

#include "status.h"

static const struct {
	enum status status;
	const char *name;
} status_table[] = {
	{ STATUS_OK,	"ok" },
	{ STATUS_TEMP,	"temp" },
	{ STATUS_PERM,	"perm" },
};

enum status
status_from_reply(int code)
{
	if (code >= 200 && code < 400)
		return STATUS_OK;
	if (code >= 500 && code < 600)
		return STATUS_PERM;
	return STATUS_TEMP;	/* 4xx and anything malformed */
}

const char *
status_name(enum status s)
{
	return status_table[s].name;
}

int
status_parse(const char *name, enum status *out)
{
	size_t i;

	for (i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++)
		if (strcmp(status_table[i].name, name) == 0) {
			*out = status_table[i].status;
			return 0;
		}
	return -1;
}
