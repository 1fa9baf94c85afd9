/*
 * pombo-queue: the queue tool. Talks to queued over its socket, so it
 * works while queued delivers: list, show ID, flush [ID], delete ID,
 * hold ID, release ID, tls-reports; --json for scripts.
 *
 * Runs as: the admin (queued accepts changes from root and its own user).
 * May touch: nothing but queued's socket.
 * Trusts: queued's replies.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "qtool.h"

static void
usage(void)
{
	fprintf(stderr, "usage: pombo-queue [-c config] [--json] list\n"
	    "       pombo-queue [-c config] [--json] show ID\n"
	    "       pombo-queue [-c config] [--json] flush [ID]\n"
	    "       pombo-queue [-c config] [--json] delete|hold|release ID\n"
	    "       pombo-queue [-c config] tls-reports\n");
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	const char *confpath = NULL, *cmd, *arg = NULL, *verb;
	int i, json = 0;

	log_init("pombo/queue", 0);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			confpath = argv[++i];
		else
			usage();
	}
	if (i >= argc)
		usage();
	cmd = argv[i++];
	if (i < argc)
		arg = argv[i++];
	if (i < argc)
		usage();
	if (strcmp(cmd, "list") == 0 && arg == NULL)
		verb = "LIST";
	else if (strcmp(cmd, "show") == 0 && arg)
		verb = "SHOW";
	else if (strcmp(cmd, "flush") == 0)
		verb = "FLUSH";
	else if (strcmp(cmd, "delete") == 0 && arg)
		verb = "DELETE";
	else if (strcmp(cmd, "hold") == 0 && arg)
		verb = "HOLD";
	else if (strcmp(cmd, "release") == 0 && arg)
		verb = "RELEASE";
	else if (strcmp(cmd, "tls-reports") == 0 && arg == NULL)
		verb = "TLSRPT";
	else
		usage();
	return qtool_run(confpath, verb, arg, json);
}
