/*
 * options: the letters Postfix's sendmail(1) takes, each done, or taken
 * and ignored where Pombo has no such thing (a pombo.conf key does it,
 * or nothing needs doing); the few that would silently change what
 * happens to the mail (-XV, -qS) are refused instead. Letters group the
 * getopt way ("-ti", "-oi" is -o with "i"); a letter with a value takes
 * the rest of its word, else the next word.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "options.h"
#include "str.h"

/* Sendmail's and Postfix's letters; 'q' is apart (its value is optional) */
#define FLAGS		"GIUcimntvx"
#define WITH_VALUE	"ABCFLNORVXbefhopr"

/* -b<x>: the mode it names, or -1 */
static int
b_mode(const char *v)
{
	static const struct {
		char		c;
		enum sm_mode	mode;
	} modes[] = {
		{ 'm', SM_SEND }, { 's', SM_SMTP }, { 'p', SM_LIST },
		{ 'i', SM_NEWALIASES }, { 'v', SM_VERIFY }, { 't', SM_TEST },
		{ 'd', SM_DAEMON }, { 'l', SM_DAEMON },
		/* host status: Pombo keeps none */
		{ 'h', SM_NOTHING }, { 'H', SM_NOTHING },
	};
	size_t i;

	if (v[0] == '\0' || v[1] != '\0')
		return -1;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (modes[i].c == v[0])
			return (int)modes[i].mode;
	return -1;
}

/* -q, -q<interval>, -qI<id>, -qR<site>; 0, or -1 with err */
static int
q_option(const char *v, struct sm_options *op, char *err, size_t errlen)
{
	if (*v == '\0' || *v == 'R') {
		/* no queue per site: the whole queue includes the site's */
		if (*v == 'R' && v[1] == '\0') {
			str_copy_trunc(err, "specify -qRsite", errlen);
			return -1;
		}
		op->mode = SM_FLUSH;
	} else if (*v == 'I') {
		if (v[1] == '\0') {
			str_copy_trunc(err, "specify -qIqueueid", errlen);
			return -1;
		}
		op->mode = SM_FLUSH;
		op->flush_id = v + 1;
	} else if (isdigit((unsigned char)*v)) {
		/* a queue-run interval: queued has retry_interval */
		op->mode = SM_NOTHING;
	} else {
		str_fmt_trunc(err, errlen, "-q%c is not implemented", *v);
		return -1;
	}
	return 0;
}

/* A letter with its value; 0, or -1 with err. */
static int
value_option(char c, const char *v, struct sm_options *op, char *err,
    size_t errlen)
{
	int m;

	switch (c) {
	case 'f':
	case 'r':
		if (strcmp(v, "<>") == 0 || *v == '\0')
			op->null_sender = 1;
		else {
			op->null_sender = 0;
			op->fopt = v;
		}
		break;
	case 'F':
		op->fullname = v;
		break;
	case 'C':
		op->confpath = v;
		break;
	case 'N':
		op->notify = v;
		break;
	case 'R':
		op->ret = v;
		break;
	case 'V':
		op->envid = v;
		break;
	case 'b':
		if ((m = b_mode(v)) == -1) {
			str_fmt_trunc(err, errlen, "unsupported: -b%s", v);
			return -1;
		}
		op->mode = (enum sm_mode)m;
		break;
	case 'o':
		if (*v == 'i')
			op->ignore_dots = 1;
		else if (*v == 'A') {
			if (v[1] == '\0') {
				str_copy_trunc(err, "-oA needs a file", errlen);
				return -1;
			}
			op->aliases = v + 1;
		}
		/* -o7, -o8, -om, -oem, -odi, ...: sendmail.cf options */
		break;
	case 'X':
		/*
		 * -XV is VERP: mailing lists count their bounces by it, so
		 * taking it and sending without it would lose them. Any
		 * other -X is a traffic log file, which Postfix refuses too.
		 */
		str_fmt_trunc(err, errlen, "unsupported option -X%s%s", v,
		    *v == 'V' ? " (VERP)" : "");
		return -1;
	case 'A':	/* -Am, -Ac: one configuration for both */
	case 'B':	/* the body type: pombo-sendmail looks itself */
	case 'L':	/* the syslog label: always pombo/sendmail */
	case 'O':	/* option=value: pombo.conf has the keys */
	case 'e':	/* error mode: errors go to stderr and the exit code */
	case 'h':	/* hop count: queued counts Received: lines */
	case 'p':	/* protocol: the Received: line says Pombo sendmail */
		break;
	}
	return 0;
}

static void
flag_option(char c, struct sm_options *op)
{
	switch (c) {
	case 't':
		op->from_header = 1;
		break;
	case 'i':
		op->ignore_dots = 1;
		break;
	case 'v':
		op->verbose = 1;
		break;
	case 'I':
		op->mode = SM_NEWALIASES;
		break;
	/* G, U (gateway or user submission), c, m, n, x: nothing differs */
	}
}

/* What the options allow together (Postfix's rules). */
static int
check_combination(const struct sm_options *op, int nrcpt, char *err,
    size_t errlen)
{
	if (op->from_header && op->mode != SM_SEND) {
		str_copy_trunc(err, "-t can be used only in delivery mode",
		    errlen);
		return -1;
	}
	if (op->mode == SM_VERIFY && (op->notify || op->ret)) {
		str_copy_trunc(err, "-N and -R cannot be used with -bv",
		    errlen);
		return -1;
	}
	if (nrcpt > 0 && op->mode != SM_SEND && op->mode != SM_VERIFY &&
	    op->mode != SM_NOTHING) {
		str_copy_trunc(err, "this mode takes no recipients", errlen);
		return -1;
	}
	if (nrcpt == 0 && op->mode == SM_VERIFY) {
		str_copy_trunc(err, "-bv needs recipients", errlen);
		return -1;
	}
	return 0;
}

int
sm_options_parse(int argc, char *argv[], struct sm_options *op,
    char *err, size_t errlen)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *p;

		if (o[0] != '-' || o[1] == '\0')
			break;
		if (strcmp(o, "--") == 0) {
			i++;
			break;
		}
		for (p = o + 1; *p; p++) {
			if (*p == 'q') {
				if (q_option(p + 1, op, err, errlen) == -1)
					return -1;
				break;
			}
			if (strchr(FLAGS, *p) != NULL) {
				flag_option(*p, op);
				continue;
			}
			if (*p == '-' && p == o + 1) {
				/* --help, --version: not "unknown option --" */
				str_fmt_trunc(err, errlen, "unknown option %.64s "
				    "(sendmail has no long options)", o);
				return -1;
			}
			if (strchr(WITH_VALUE, *p) == NULL) {
				str_fmt_trunc(err, errlen, "unknown option -%c",
				    *p);
				return -1;
			}
			if (p[1] == '\0' && i + 1 >= argc) {
				str_fmt_trunc(err, errlen, "-%c needs a value",
				    *p);
				return -1;
			}
			if (value_option(*p, p[1] ? p + 1 : argv[++i], op, err,
			    errlen) == -1)
				return -1;
			break;
		}
	}
	if (check_combination(op, argc - i, err, errlen) == -1)
		return -1;
	return i;
}
