/*
 * cmdtab: the command table type shared by smtpd and pop3d. A row is a
 * verb, the states it is allowed in, flags, a check that only validates
 * (and replies on failure) and a proceed that only acts. A NULL verb ends
 * the table and handles unknown commands.
 */
#ifndef POMBO_CMDTAB_H
#define POMBO_CMDTAB_H

/* flags */
#define CMD_JUNK	0x01	/* moves no mail: counts toward the junk limit */
#define CMD_LONG	0x02	/* may exceed the protocol's line limit */

struct cmdtab {
	const char	*verb;
	unsigned	 states;	/* bit mask of allowed states */
	unsigned	 flags;		/* CMD_* */
	const char	*badseq;	/* reply text when not allowed now */
	int		(*check)(void *session, char *arg);	/* 0: go on */
	void		(*proceed)(void *session, char *arg);
};

/*
 * Split line into verb and argument (after one space) and find its row;
 * the verb is matched case-insensitively. *arg is "" without one.
 */
const struct cmdtab *cmdtab_find(const struct cmdtab *tab, char *line,
    char **arg);

#endif
