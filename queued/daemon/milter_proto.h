/*
 * milter_proto: the packets of the Sendmail/Postfix mail filter protocol
 * (version 6), encoded for and decoded from a filter; pure functions.
 * Used by queued's milter client (milter.c); it trusts nothing a filter
 * sends: every packet is bounded, every string checked to end inside it.
 */
#ifndef POMBO_MILTER_PROTO_H
#define POMBO_MILTER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "str.h"

#define MILTER_VERSION		6
/*
 * A packet is a 4-octet length in network order, then that many octets:
 * a command octet and its data. Filters send body chunks of at most
 * 65535 octets unless offered bigger ones (we never offer them); header
 * values and reply texts are far shorter. 1 MiB leaves room and stops
 * a hostile filter from making us buffer gigabytes.
 */
#define MILTER_PACKET_MAX	(1024 * 1024)
#define MILTER_CHUNK_MAX	65535	/* a body chunk we send */
#define MILTER_REPLY_MAX	1024	/* a custom SMTP reply, all lines */

/* Commands: MTA -> filter. */
#define MILTER_C_ABORT		'A'
#define MILTER_C_BODY		'B'
#define MILTER_C_CONNECT	'C'
#define MILTER_C_MACRO		'D'
#define MILTER_C_EOB		'E'
#define MILTER_C_HELO		'H'
#define MILTER_C_QUIT_NC	'K'
#define MILTER_C_HEADER		'L'
#define MILTER_C_MAIL		'M'
#define MILTER_C_EOH		'N'
#define MILTER_C_OPTNEG		'O'
#define MILTER_C_QUIT		'Q'
#define MILTER_C_RCPT		'R'
#define MILTER_C_DATA		'T'
#define MILTER_C_UNKNOWN	'U'

/* Replies and actions: filter -> MTA. */
#define MILTER_R_ADDRCPT	'+'
#define MILTER_R_DELRCPT	'-'
#define MILTER_R_ADDRCPT_PAR	'2'
#define MILTER_R_SHUTDOWN	'4'
#define MILTER_R_ACCEPT		'a'
#define MILTER_R_REPLBODY	'b'
#define MILTER_R_CONTINUE	'c'
#define MILTER_R_DISCARD	'd'
#define MILTER_R_CHGFROM	'e'
#define MILTER_R_CONN_FAIL	'f'
#define MILTER_R_ADDHEADER	'h'
#define MILTER_R_INSHEADER	'i'
#define MILTER_R_SETSYMLIST	'l'
#define MILTER_R_CHGHEADER	'm'
#define MILTER_R_PROGRESS	'p'
#define MILTER_R_QUARANTINE	'q'
#define MILTER_R_REJECT		'r'
#define MILTER_R_SKIP		's'
#define MILTER_R_TEMPFAIL	't'
#define MILTER_R_REPLYCODE	'y'
#define MILTER_R_OPTNEG		'O'

/* Actions a filter may take (OPTNEG's second word). */
#define MILTER_F_ADDHDRS	0x001u
#define MILTER_F_CHGBODY	0x002u
#define MILTER_F_ADDRCPT	0x004u
#define MILTER_F_DELRCPT	0x008u
#define MILTER_F_CHGHDRS	0x010u
#define MILTER_F_QUARANTINE	0x020u
#define MILTER_F_CHGFROM	0x040u
#define MILTER_F_ADDRCPT_PAR	0x080u
#define MILTER_F_SETSYMLIST	0x100u
#define MILTER_F_ALL		0x1ffu

/* Steps a filter does not want, or wants without replying (third word). */
#define MILTER_P_NOCONNECT	0x00000001u
#define MILTER_P_NOHELO		0x00000002u
#define MILTER_P_NOMAIL		0x00000004u
#define MILTER_P_NORCPT		0x00000008u
#define MILTER_P_NOBODY		0x00000010u
#define MILTER_P_NOHDRS		0x00000020u
#define MILTER_P_NOEOH		0x00000040u
#define MILTER_P_NR_HDR		0x00000080u
#define MILTER_P_NOUNKNOWN	0x00000100u
#define MILTER_P_NODATA		0x00000200u
#define MILTER_P_SKIP		0x00000400u
#define MILTER_P_RCPT_REJ	0x00000800u
#define MILTER_P_NR_CONN	0x00001000u
#define MILTER_P_NR_HELO	0x00002000u
#define MILTER_P_NR_MAIL	0x00004000u
#define MILTER_P_NR_RCPT	0x00008000u
#define MILTER_P_NR_DATA	0x00010000u
#define MILTER_P_NR_UNKN	0x00020000u
#define MILTER_P_NR_EOH		0x00040000u
#define MILTER_P_NR_BODY	0x00080000u
#define MILTER_P_HDR_LEADSPC	0x00100000u
/* What we offer: every step may be skipped or left unanswered, SKIP and
 * raw header values; not RCPT_REJ (we never send refused recipients)
 * nor the bigger data sizes (MDS_256K/1M). */
#define MILTER_P_OFFER		0x001ff7ffu

/* The stages a filter may name macros for (SETSYMLIST, OPTNEG reply). */
enum milter_stage {
	MILTER_M_CONNECT, MILTER_M_HELO, MILTER_M_MAIL, MILTER_M_RCPT,
	MILTER_M_DATA, MILTER_M_EOM, MILTER_M_EOH, MILTER_M_N
};

/*
 * Encoders: each appends one whole packet to b; -1 if it would be over
 * MILTER_PACKET_MAX or over b's maximum (b is then unchanged).
 */
int milter_proto_put(struct buf *b, char cmd, const void *data, size_t len);
int milter_proto_optneg(struct buf *b, uint32_t version, uint32_t actions,
    uint32_t protocol);
/* family: '4', '6', 'U' (Unix socket) or 'L' (unknown: no port or address). */
int milter_proto_connect(struct buf *b, const char *host, char family,
    uint16_t port, const char *addr);
/* cmd, then each string with its NUL: HELO, MAIL, RCPT, HEADER (name, value). */
int milter_proto_strings(struct buf *b, char cmd, const char *const *s,
    size_t n);
/* MACRO for the command stage: names[i] = values[i], pairs with a NULL
 * value left out. */
int milter_proto_macros(struct buf *b, char stage, const char *const *names,
    const char *const *values, size_t n);

/*
 * Framing: 1 and *plen (the packet's octets after its length) when in
 * holds a whole packet, 0 when more is needed, -1 when the length is 0
 * or over MILTER_PACKET_MAX.
 */
int milter_proto_frame(const void *in, size_t len, size_t *plen);

/* One decoded packet from a filter; strings point into it. */
struct milter_reply {
	char		 cmd;		/* MILTER_R_* */
	uint32_t	 index;		/* INSHEADER, CHGHEADER */
	const char	*s1, *s2;	/* header name and value; rcpt and args;
					 * sender and args; reason; reply text */
	const char	*data;		/* REPLBODY */
	size_t		 len;
	int		 code;		/* REPLYCODE: 400..599 */
	/* OPTNEG */
	uint32_t	 version, actions, protocol;
	const char	*symlist[MILTER_M_N];	/* NULL: not set */
};

/*
 * Decode pkt (command octet and data, len octets, as framed) into r.
 * Every string must end in a NUL inside the packet, nothing may trail;
 * a header name is printable without ':' or blanks, a value has line
 * breaks only before a blank (a continuation); a reply code is a
 * well-formed 4xx/5xx (RFC 5321 4.2, with its enhanced code's class
 * matching, RFC 3463). -1 with err set otherwise.
 */
int milter_proto_parse(const void *pkt, size_t len, struct milter_reply *r,
    char *err, size_t errlen);

/* Is this a header field name / value a filter may set? (As parse checks.) */
int milter_proto_header_name_ok(const char *s);
int milter_proto_header_value_ok(const char *s);
/* 4xx or 5xx, else -1: the code of a multi-line reply whose lines all
 * agree, with at most MILTER_REPLY_MAX octets. */
int milter_proto_reply_code(const char *s);

#endif
