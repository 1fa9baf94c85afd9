/*
 * options: pombo-sendmail's command line, read the way Postfix's
 * sendmail(1) reads it (getopt letters, grouped or not, a value in the
 * same word or the next), into what to do. Used by pombo-sendmail; a
 * pure function over argv, tested alone. Trusts nothing in argv.
 */
#ifndef POMBO_SENDMAIL_OPTIONS_H
#define POMBO_SENDMAIL_OPTIONS_H

#include <stddef.h>

enum sm_mode {
	SM_SEND,	/* -bm, the default: a message on stdin */
	SM_SMTP,	/* -bs: smtpd on stdin/stdout */
	SM_LIST,	/* -bp, mailq */
	SM_FLUSH,	/* -q, -qI<id>, -qR<site> */
	SM_NEWALIASES,	/* -bi, -I, newaliases: check the aliases file */
	SM_VERIFY,	/* -bv: say what becomes of each recipient */
	SM_TEST,	/* -bt: the same for addresses read on stdin */
	SM_DAEMON,	/* -bd, -bl: is queued running? */
	SM_NOTHING	/* -bh, -bH, -q<interval>: accepted, nothing to do */
};

struct sm_options {
	enum sm_mode	 mode;
	int		 from_header;	/* -t */
	int		 ignore_dots;	/* -i, -oi */
	int		 verbose;	/* -v */
	int		 null_sender;	/* -f <> */
	const char	*fopt;		/* -f, -r: checked with the config */
	const char	*confpath, *fullname, *notify, *ret, *envid;
	const char	*flush_id;	/* -qI<id> */
	const char	*aliases;	/* -oA<file>, for -bi */
};

/*
 * Parse argv (op->mode already set from the program's name) and check
 * the combination; returns the index of the first recipient, or -1 with
 * a usage error in err.
 */
int sm_options_parse(int argc, char *argv[], struct sm_options *op,
    char *err, size_t errlen);

#endif
