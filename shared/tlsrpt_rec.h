/*
 * tlsrpt_rec: the _smtp._tls TXT record of SMTP TLS reporting (RFC 8460
 * 3): where a domain wants its reports. Used by pombo-remote. Pure; the
 * record comes from DNS and is trusted for nothing but its syntax.
 */
#ifndef POMBO_TLSRPT_REC_H
#define POMBO_TLSRPT_REC_H

#include <stddef.h>

/*
 * One TXT record: 0 if it is no TLSRPT record (it does not begin with
 * v=TLSRPTv1: discarded), -1 if it is one that does not parse, 1 if it
 * parses; then rua holds its mailto: addresses, comma-separated, without
 * "mailto:" (https: ones are left out: reports go by mail only), and may
 * be empty.
 */
int tlsrpt_rec_parse(const char *txt, char *rua, size_t rualen);

#endif
