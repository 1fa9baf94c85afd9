/*
 * policy: the single authority on who may send what where. Local
 * injection and relay networks and authenticated users may relay; the
 * rest of the world may only reach local domains (554 5.7.1 otherwise).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "log.h"
#include "policy.h"
#include "str.h"

int
policy_may_relay(const struct conf *c, const struct qhelo *h)
{
	return strcmp(h->client, "local") == 0 || h->auth[0] != '\0' ||
	    cidr_match_any(c->relay_networks, c->n_relay_networks, h->client);
}

int
policy_may_relay_client(const struct conf *c, const char *client)
{
	struct qhelo h;

	/* the same parser as at HELO: a spool file is re-validated */
	if (client == NULL || qproto_parse_helo(client, &h) == -1)
		return 0;
	return policy_may_relay(c, &h);
}

int
policy_dkim_sign(const struct conf *c, const char *client)
{
	return c->n_dkim_keys > 0 && policy_may_relay_client(c, client);
}

int
policy_mail(const struct conf *c, struct spool *sp, const struct qhelo *h,
    const struct mail_args *m, char *reply, size_t len)
{
	uint64_t avail;

	if (m->size > c->max_message_size) {
		str_fmt_trunc(reply, len, "552 5.3.4 Message size exceeds fixed "
		    "limit of %llu octets",
		    (unsigned long long)c->max_message_size);
		return 552;
	}
	if (spool_free_space(sp, &avail) == -1) {
		log_warn("statvfs of the spool");
		str_copy_trunc(reply, "451 4.3.0 Temporary queue error", len);
		return 451;
	}
	if (avail < c->min_free_space || avail - c->min_free_space < m->size) {
		log_warnx("spool space low: %llu bytes free",
		    (unsigned long long)avail);
		str_copy_trunc(reply, "452 4.3.1 Insufficient system storage", len);
		return 452;
	}
	str_copy_trunc(reply, "250 2.1.0 Ok", len);
	return 250;
}

int
policy_rcpt(const struct conf *c, const struct qhelo *h,
    const struct rcpt_args *r, struct resolve_out *out, char *reply,
    size_t len)
{
	char addr[ADDR_MAX + 1], enc[ADDR_ENC_MAX + 1];

	out->v = NULL;
	out->n = 0;
	addr_format(&r->to, addr, sizeof(addr));
	if (r->to.domain[0] == '\0' || conf_is_local_domain(c, r->to.domain)) {
		recipients_refresh();
		switch (resolve(c, recipients_users(), recipients_aliases(),
		    addr, out)) {
		case RESOLVE_OK:
			str_copy_trunc(reply, "250 2.1.5 Ok", len);
			return 250;
		case RESOLVE_UNKNOWN:
			str_fmt_trunc(reply, len, "550 5.1.1 <%s>: Recipient address "
			    "rejected: User unknown", addr);
			return 550;
		case RESOLVE_LOOP:
			addr_encode(addr, enc, sizeof(enc));	/* no fake fields */
			log_warnx("alias loop or too many targets for <%s>",
			    enc);
			str_fmt_trunc(reply, len, "554 5.4.6 <%s>: Alias loop", addr);
			return 554;
		}
	}
	if (!policy_may_relay(c, h)) {
		str_fmt_trunc(reply, len, "554 5.7.1 <%s>: Relay access denied", addr);
		return 554;
	}
	if ((out->v = calloc(1, sizeof(*out->v))) == NULL) {
		str_copy_trunc(reply, "451 4.3.0 Out of memory", len);
		return 451;
	}
	str_copy_trunc(out->v[0].addr, addr, sizeof(out->v[0].addr));
	out->n = 1;
	str_copy_trunc(reply, "250 2.1.5 Ok", len);
	return 250;
}
