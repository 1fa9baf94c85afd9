/*
 * milter_edit: the changes milters ask for at end of message, kept as a
 * plain list, and the pure function that writes a message (header
 * section, then body, LF line ends, as in the queue file) with them
 * applied. Used by queued's milter client (which fills the list) and by
 * whoever commits the message; it trusts the list (milter_proto checked
 * every name and value) and nothing of the message's form.
 */
#ifndef POMBO_MILTER_EDIT_H
#define POMBO_MILTER_EDIT_H

#include <stddef.h>
#include <stdint.h>

#include "str.h"

/* At most this many changes per message: a filter is not a generator. */
#define MILTER_MODS_MAX		1000

enum milter_mod_type {
	MILTER_MOD_ADDHDR,	/* name, value: a field at the header's end */
	MILTER_MOD_INSHDR,	/* index: 0 = before the first field */
	MILTER_MOD_CHGHDR,	/* index: the Nth field of that name, from 1;
				 * an empty value deletes it */
	MILTER_MOD_ADDRCPT,	/* name: the address as sent; value: ESMTP
				 * arguments or NULL */
	MILTER_MOD_DELRCPT,	/* name: the address as sent */
	MILTER_MOD_CHGFROM,	/* name: the new sender; value: arguments or
				 * NULL */
};

struct milter_mod {
	enum milter_mod_type	 type;
	uint32_t		 index;
	char			*name;
	/* a header's value: what follows the colon, blank included, line
	 * breaks as LF (each followed by a blank: a folded line) */
	char			*value;
};

struct milter_mods {
	struct milter_mod	*v;
	size_t			 n;
	int			 replbody;	/* body replaced by body */
	struct buf		 body;		/* LF line ends */
	int			 body_cr;	/* a CR ended the last chunk */
	char			*quarantine;	/* reason; NULL: not held */
};

/* body_max: the largest replacement body accepted. */
void milter_mods_init(struct milter_mods *m, size_t body_max);
void milter_mods_free(struct milter_mods *m);
/* Copies name and value (CRLF in value made LF); -1: too many, or memory. */
int milter_mods_add(struct milter_mods *m, enum milter_mod_type type,
    uint32_t index, const char *name, const char *value);
/* A chunk of replacement body as a filter sends it (CRLF); -1: too big. */
int milter_mods_body(struct milter_mods *m, const void *data, size_t len);
/* After the last chunk. */
void milter_mods_body_end(struct milter_mods *m);
int milter_mods_quarantine(struct milter_mods *m, const char *reason);
/* Does the message itself (header or body) change? */
int milter_mods_edit_message(const struct milter_mods *m);

/*
 * Write msg (len octets: header fields, an empty line, the body; LF
 * line ends) to fd with m's header and body changes applied, in order;
 * envelope changes are the caller's. Field indexes count the fields as
 * they stand after the changes before them, as the filter saw the
 * header the caller sent it (every field, in order). 0, or -1 with
 * errno from write(2) or ENOMEM.
 */
int milter_edit_apply(const char *msg, size_t len,
    const struct milter_mods *m, int fd);

#endif
