/*
 * status: mapping between outcomes, SMTP reply classes and sysexits.
 * EX_TEMPFAIL is the only temporary exit code, as qmail's 111 and
 * sendmail's 75: anything unexpected from an agent is permanent only when
 * it says so.
 */
#include "config.h"

#include <string.h>
#include <sysexits.h>

#include "status.h"

static const struct {
	enum status status;
	const char *name;
	int exitcode;
} status_table[] = {
	{ STATUS_OK,	"ok",	EX_OK },
	{ STATUS_TEMP,	"temp",	EX_TEMPFAIL },
	{ STATUS_PERM,	"perm",	EX_UNAVAILABLE },
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

enum status
status_from_exit(int exitcode)
{
	if (exitcode == EX_OK)
		return STATUS_OK;
	if (exitcode == EX_TEMPFAIL || exitcode < 0)
		return STATUS_TEMP;
	/* sysexits codes that describe a local, passing condition */
	if (exitcode == EX_OSERR || exitcode == EX_IOERR ||
	    exitcode == EX_CANTCREAT || exitcode == EX_SOFTWARE)
		return STATUS_TEMP;
	return STATUS_PERM;
}

int
status_to_exit(enum status s)
{
	return status_table[s].exitcode;
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
