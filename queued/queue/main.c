/*
 * pombo-queue: the queue tool. Talks to queued over its socket, so it
 * works while queued delivers: list, show ID, stats, flush [ID],
 * delete ID, hold ID, release ID, tls-reports; --json for scripts,
 * --prometheus (stats) for node_exporter's textfile collector.
 *
 * Runs as: the admin (queued accepts changes from root and its own user).
 * May touch: nothing but queued's socket.
 * Trusts: queued's replies.
 */
#include "config.h"

#include <getopt.h>
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
	    "       pombo-queue [-c config] [--json | --prometheus] stats\n"
	    "       pombo-queue [-c config] [--json] flush [ID]\n"
	    "       pombo-queue [-c config] [--json] delete|hold|release ID\n"
	    "       pombo-queue [-c config] tls-reports\n");
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	NULL,	'j' },
		{ "prometheus",	no_argument,	NULL,	'p' },
		{ NULL,		0,		NULL,	0 }
	};
	const char *confpath = NULL, *cmd, *arg = NULL, *verb;
	int ch, format = QTOOL_TEXT;

	log_init("pombo/queue", 0);
	/*
	 * Options anywhere, the GNU way ("list --json" as "--json list"):
	 * getopt_long permutes unless POSIXLY_CORRECT is set; "+" would stop
	 * at the command. A queue id never begins with '-'.
	 */
	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		case 'j':
		case 'p':
			if (format != QTOOL_TEXT)
				usage();
			format = ch == 'j' ? QTOOL_JSON : QTOOL_PROMETHEUS;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	cmd = argv[optind++];
	if (optind < argc)
		arg = argv[optind++];
	if (optind < argc)
		usage();
	if (strcmp(cmd, "list") == 0 && arg == NULL)
		verb = "LIST";
	else if (strcmp(cmd, "show") == 0 && arg)
		verb = "SHOW";
	else if (strcmp(cmd, "stats") == 0 && arg == NULL)
		verb = "STATS";
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
	if (format == QTOOL_PROMETHEUS && strcmp(verb, "STATS") != 0)
		usage();
	return qtool_run(confpath, verb, arg, format);
}
