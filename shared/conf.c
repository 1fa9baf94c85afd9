/*
 * conf: one table of keys (name, type, where, default, text) drives the
 * parser, the defaults and the sample file, so they cannot drift apart.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "sockspec.h"
#include "fileio.h"
#include "str.h"

#ifndef POMBO_SYSCONFDIR
#define POMBO_SYSCONFDIR "/etc"
#endif
#ifndef POMBO_LOCALSTATEDIR
#define POMBO_LOCALSTATEDIR "/var"
#endif
#ifndef POMBO_RUNSTATEDIR
#define POMBO_RUNSTATEDIR "/run"
#endif

enum conf_type {
	CONF_DOMAIN,	/* a host name */
	CONF_DOMAINS,	/* list of domains */
	CONF_CIDRS,	/* list of networks */
	CONF_PATH,	/* absolute path */
	CONF_SIZE,	/* bytes, with k/M/G suffix */
	CONF_COUNT,	/* unsigned within [min, max] */
	CONF_DURATION,	/* seconds, with s/m/h/d suffix, at most max if set */
	CONF_BOOL,
	CONF_CHARS,	/* a short set of characters */
	CONF_HOSTPORTS,	/* list of host[:port] */
	CONF_HOSTPORT,	/* one [host]:port or host[:port], or empty */
	CONF_OPTPATH,	/* absolute path, or empty */
	CONF_WORD,	/* a user name or similar token, or empty */
	CONF_POLICIES,	/* list of domain:policy */
	CONF_DKIMKEYS,	/* list of domain:selector:/key/file */
	CONF_MILTERS,	/* list of unix:/path, inet:host:port */
	CONF_MILTERACT,	/* tempfail, accept or reject */
	CONF_SERVICES,	/* list of unix:/path or inet:address:port */
};

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 off;
	size_t		 size;		/* of the field, for strings */
	size_t		 count_off;	/* lists: of the count beside them */
	unsigned	 min, max;	/* counts; durations (max 0: none);
					   paths: max length (0: PATH_MAX - 1) */
	const char	*def;
	const char	*doc;
};

/*
 * Timeouts become int milliseconds (poll, lineio deadlines): past 24.8
 * days they would overflow to a deadline already gone (or, for poll, to
 * none at all). A day is more than any of them needs.
 */
#define CONF_DURATION_MAX	86400

#define F(field)	offsetof(struct conf, field), \
			sizeof(((struct conf *)0)->field), 0
/* a list: the array, and its count named n_<array> */
#define L(field)	offsetof(struct conf, field), \
			sizeof(((struct conf *)0)->field), \
			offsetof(struct conf, n_##field)

static const struct conf_key conf_keys[] = {
	{ "hostname", CONF_DOMAIN, F(hostname), 0, 0, "",
	  "this host's name in greetings and Received: (default: gethostname)" },
	{ "local_domains", CONF_DOMAINS, L(local_domains), 0, 0, "",
	  "domains delivered here (list; the host name is always local)" },
	{ "relay_networks", CONF_CIDRS, L(relay_networks), 0, 0,
	  "127.0.0.0/8, ::1/128", "clients allowed to relay (CIDR list)" },
	{ "spool_dir", CONF_PATH, F(spool_dir), 0, 0,
	  POMBO_LOCALSTATEDIR "/spool/pombo", "queued's spool" },
	{ "mail_root", CONF_PATH, F(mail_root), 0, 0,
	  POMBO_LOCALSTATEDIR "/lib/pombo/mail",
	  "Maildirs live in mail_root/domain/user/" },
	{ "users_file", CONF_PATH, F(users_file), 0, 0,
	  POMBO_SYSCONFDIR "/pombo/users", "virtual users: address:hash" },
	{ "aliases_file", CONF_PATH, F(aliases_file), 0, 0,
	  POMBO_SYSCONFDIR "/pombo/aliases", "aliases in /etc/aliases format" },
	{ "queue_socket", CONF_PATH, F(queue_socket), 0, 107,	/* sun_path */
	  POMBO_RUNSTATEDIR "/pombo/queue.sock", "queued's Unix socket" },
	{ "log_file", CONF_OPTPATH, F(log_file), 0, 0, "",
	  "where log lines go when no syslog daemon listens at /dev/log "
	  "(empty: nowhere)" },
	{ "libexec_dir", CONF_PATH, F(libexec_dir), 0, 0, POMBO_LIBEXECDIR,
	  "where queued finds pombo-local and pombo-remote, and "
	  "pombo-sendmail -bs finds smtpd" },
	{ "max_message_size", CONF_SIZE, F(max_message_size), 0, 0, "35M",
	  "largest message accepted (SIZE)" },
	{ "min_free_space", CONF_SIZE, F(min_free_space), 0, 0, "100M",
	  "MAIL gets 452 4.3.1 below this much free spool space" },
	{ "max_recipients", CONF_COUNT, F(max_recipients), 100, 1000000, "1000",
	  "recipients per message (RFC 5321 requires at least 100)" },
	{ "max_errors", CONF_COUNT, F(max_errors), 1, 1000, "10",
	  "bad commands before the session is closed with 421" },
	{ "smtp_timeout", CONF_DURATION, F(smtp_timeout), 1,
	  CONF_DURATION_MAX, "5m",
	  "idle time allowed for a client command or data block" },
	{ "pop3_timeout", CONF_DURATION, F(pop3_timeout), 1,
	  CONF_DURATION_MAX, "10m",
	  "idle time allowed for a POP3 client (RFC 1939: at least 10m)" },
	{ "login_delay", CONF_DURATION, F(login_delay), 0,
	  CONF_DURATION_MAX, "2s",
	  "a failed login or AUTH is answered this long after it began" },
	{ "max_login_failures", CONF_COUNT, F(max_login_failures), 1, 100, "3",
	  "failed logins before the session is closed" },
	{ "enable_vrfy", CONF_BOOL, F(enable_vrfy), 0, 0, "no",
	  "VRFY checks recipients (otherwise 252)" },
	{ "enable_expn", CONF_BOOL, F(enable_expn), 0, 0, "no",
	  "EXPN expands aliases (otherwise 502)" },
	{ "recipient_delimiter", CONF_CHARS, F(recipient_delimiter), 0, 0, "+",
	  "user+tag@domain delivers to user (empty to turn off)" },
	{ "retry_interval", CONF_DURATION, F(retry_interval), 1, 0, "30m",
	  "time between delivery attempts" },
	{ "queue_lifetime", CONF_DURATION, F(queue_lifetime), 1, 0, "4d",
	  "a message undelivered this long bounces" },
	{ "delay_warning", CONF_DURATION, F(delay_warning), 0, 0, "4h",
	  "send one delay notice after this long (0: never)" },
	{ "hold_deliveries", CONF_BOOL, F(hold_deliveries), 0, 0, "no",
	  "accept and queue mail but deliver none (maintenance)" },
	{ "max_deliveries", CONF_COUNT, F(max_deliveries), 1, 10000, "100",
	  "concurrent delivery agents in all" },
	{ "max_domain_deliveries", CONF_COUNT, F(max_domain_deliveries), 1,
	  10000, "10", "concurrent remote deliveries per destination domain" },
	{ "dns_servers", CONF_HOSTPORTS, L(dns_servers), 0, 0, "",
	  "DNS servers (ip[:port] list; default: /etc/resolv.conf)" },
	{ "remote_port", CONF_COUNT, F(remote_port), 1, 65535, "25",
	  "TCP port of remote SMTP servers" },
	{ "remote_timeout", CONF_DURATION, F(remote_timeout), 1,
	  CONF_DURATION_MAX, "5m",
	  "wait for a remote server's reply (twice that after the data)" },
	{ "remote_connect_timeout", CONF_DURATION, F(remote_connect_timeout), 1,
	  CONF_DURATION_MAX, "30s",
	  "wait for a remote server to accept the connection" },
	{ "relayhost", CONF_HOSTPORT, F(relayhost), 0, 0, "",
	  "send all remote mail through this smarthost ([host]:port)" },
	{ "tls_cert", CONF_OPTPATH, F(tls_cert), 0, 0, "",
	  "PEM certificate chain for STARTTLS/STLS and implicit TLS" },
	{ "tls_key", CONF_OPTPATH, F(tls_key), 0, 0, "",
	  "PEM private key of tls_cert" },
	{ "tls_proxy", CONF_OPTPATH, F(tls_proxy), 0, 107,	/* sun_path */
	  POMBO_RUNSTATEDIR "/pombo/tlsd.sock",
	  "pombo-tlsd's socket: the handlers' TLS done there (where nothing "
	  "listens, or empty: in each handler)" },
	{ "tls_ca_file", CONF_OPTPATH, F(tls_ca_file), 0, 0, "",
	  "CA certificates for tls_policy verify (default: the system's)" },
	{ "tls_policy", CONF_POLICIES, L(tls_policy), 0, 0, "",
	  "per destination: domain:none|may|encrypt|verify (default may); "
	  "a domain named here is not subject to DANE or MTA-STS" },
	{ "dane", CONF_BOOL, F(dane), 0, 0, "yes",
	  "DANE (RFC 7672): MX hosts with DNSSEC-signed TLSA records get the "
	  "mail only over TLS with a matching certificate" },
	{ "dns_trust_anchor", CONF_OPTPATH, F(dns_trust_anchor), 0, 0, "",
	  "DNSSEC trust anchor for DANE (default: " DNS_ROOT_KEY
	  " unless dns_servers is set)" },
	{ "mta_sts", CONF_BOOL, F(mta_sts), 0, 0, "yes",
	  "outbound: follow the MTA-STS policies (RFC 8461) of the "
	  "destinations; a domain named in tls_policy follows that instead" },
	{ "mta_sts_timeout", CONF_DURATION, F(mta_sts_timeout), 1, 600, "20s",
	  "the time to fetch an MTA-STS policy over HTTPS, connection "
	  "included" },
	{ "mta_sts_port", CONF_COUNT, F(mta_sts_port), 1, 65535, "443",
	  "the HTTPS port MTA-STS policies are fetched from: 443 (RFC 8461); "
	  "another is for tests, whose policy server cannot have 443" },
	{ "tls_reports", CONF_BOOL, F(tls_reports), 0, 0, "yes",
	  "count the outcome of outbound TLS per destination domain and mail "
	  "the domains that ask for it (_smtp._tls, RFC 8460) a report a day" },
	{ "allow_plaintext_auth", CONF_BOOL, F(allow_plaintext_auth), 0, 0, "no",
	  "offer AUTH and POP3 logins without TLS to non-local clients" },
	{ "user", CONF_WORD, F(user), 0, 0, "",
	  "smtpd and pop3d started as root become this user" },
	{ "handler_user", CONF_WORD, F(handler_user), 0, 0, "pombo-smtpd",
	  "smtpd's user: queued takes its word for a client's address, AUTH "
	  "and TLS" },
	{ "max_uid_connections", CONF_COUNT, F(max_uid_connections), 1,
	  1000000, "32", "connections to queued's socket per local user "
	  "(root, queued's and handler_user are not counted)" },
	{ "dkim_keys", CONF_DKIMKEYS, L(dkim_keys), 0, 0, "",
	  "DKIM signing keys: domain:selector:/path/to/key.pem, ... "
	  "(Ed25519 or RSA >= 2048; see pombo-dkim keygen)" },
	{ "inbound_auth", CONF_BOOL, F(inbound_auth), 0, 0, "yes",
	  "check SPF, DKIM and DMARC of mail from the Internet and say so in "
	  "Authentication-Results: (pombo-verify)" },
	{ "dmarc_reject", CONF_BOOL, F(dmarc_reject), 0, 0, "yes",
	  "refuse mail failing DMARC of a p=reject domain (550 5.7.1); no: "
	  "treat it as p=quarantine" },
	{ "inbound_auth_timeout", CONF_DURATION, F(inbound_auth_timeout), 1,
	  600, "20s", "the time the checks of one message may take (DNS "
	  "included); what is not answered by then is temperror" },
	{ "milters", CONF_MILTERS, L(milters), 0, 0, "",
	  "mail filters asked in order at each step of a session: "
	  "unix:/path, inet:host:port, inet6:host:port (a host name is "
	  "looked up when queued starts)" },
	{ "milter_default_action", CONF_MILTERACT, F(milter_default_action),
	  0, 0, "tempfail", "what a session gets when a milter is down, "
	  "breaks the protocol or does not answer in time: tempfail, accept "
	  "(as if it were not there) or reject" },
	{ "milter_connect_timeout", CONF_DURATION, F(milter_connect_timeout),
	  1, 3600, "30s", "the time to connect to a milter (its negotiation then "
	  "has milter_command_timeout)" },
	{ "milter_command_timeout", CONF_DURATION, F(milter_command_timeout),
	  1, 3600, "30s", "a milter's time to answer a step before DATA's "
	  "content" },
	{ "milter_content_timeout", CONF_DURATION, F(milter_content_timeout),
	  1, 3600, "300s", "a milter's time to answer a header, a body chunk "
	  "or the end of a message" },
	{ "policy_services", CONF_SERVICES, L(policy_services), 0, 0, "",
	  "Postfix policy servers asked at each RCPT, in order: "
	  "unix:/path, inet:host:port, inet:[::1]:port (a host name is "
	  "looked up when queued starts)" },
	{ "policy_end_of_data", CONF_BOOL, F(policy_end_of_data), 0, 0, "no",
	  "also ask the policy servers at the end of each message "
	  "(protocol_state END-OF-MESSAGE)" },
	{ "policy_timeout", CONF_DURATION, F(policy_timeout), 1, 3600, "10s",
	  "a policy server's time to connect and answer; then 451 4.3.5" },
};

#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

const char *
conf_path(const char *opt)
{
	const char *env;

	if (opt != NULL)
		return opt;
	if ((env = getenv("POMBO_CONF")) != NULL && *env != '\0')
		return env;
	return POMBO_SYSCONFDIR "/pombo/pombo.conf";
}

int
conf_parse_duration(const char *s, unsigned *out)
{
	unsigned long long v = 0, mul = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (unsigned)(*p++ - '0');
		if (v > 0xffffffffULL)
			return -1;
	}
	switch (*p) {
	case '\0':		break;
	case 's': mul = 1;	p++; break;
	case 'm': mul = 60;	p++; break;
	case 'h': mul = 3600;	p++; break;
	case 'd': mul = 86400;	p++; break;
	default:		return -1;
	}
	if (*p != '\0' || v * mul > 0x7fffffffULL)
		return -1;
	*out = (unsigned)(v * mul);
	return 0;
}

int
conf_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v = 0, mul = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (unsigned)(*p++ - '0');
		if (v > (1ULL << 50))
			return -1;
	}
	switch (*p) {
	case '\0':			break;
	case 'k': case 'K': mul = 1000;	p++; break;
	case 'm': case 'M': mul = 1000 * 1000; p++; break;
	case 'g': case 'G': mul = 1000 * 1000 * 1000; p++; break;
	default:			return -1;
	}
	if (*p == 'B' || *p == 'b')
		p++;
	/* at most 2^50 octets in all: 8666666666666G used to wrap around */
	if (*p != '\0' || v > (1ULL << 50) / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int
parse_bool(const char *s, int *out)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") ||
	    !strcasecmp(s, "on") || !strcmp(s, "1"))
		*out = 1;
	else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") ||
	    !strcasecmp(s, "off") || !strcmp(s, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* host, host:port, [host]:port, ipv6 in brackets; port 1..65535. */
static int
hostport_valid(const char *s)
{
	char host[ADDR_DOMAIN_MAX + 3];
	const char *colon, *h = s;
	size_t hlen;
	char *end;
	long port;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL)
			return 0;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] != '\0' && colon == NULL)
			return 0;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon) {
			/* a bare IPv6 address; with a port it needs brackets */
			struct cidr c;
			return cidr_parse(s, &c) == 0 && strchr(s, '/') == NULL;
		}
		hlen = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return 0;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (!addr_domain_valid(host, hlen, 0)) {
		struct cidr c;
		if (cidr_parse(host, &c) == -1 || strchr(host, '/'))
			return 0;
	}
	if (colon) {
		if (!isdigit((unsigned char)colon[1]))
			return 0;
		port = strtol(colon + 1, &end, 10);
		if (*end != '\0' || port < 1 || port > 65535)
			return 0;
	}
	return 1;
}

/* "key: what is wrong", into err->msg; -1 for the caller to return. */
static int __attribute__((format(printf, 3, 4)))
bad(struct conf_error *err, const struct conf_key *k, const char *fmt, ...)
{
	char what[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	str_fmt_trunc(err->msg, sizeof(err->msg), "%s: %s", k->name, what);
	return -1;
}

#define FIELD(c, k)	((char *)(c) + (k)->off)
#define COUNT(c, k)	((size_t *)(void *)((char *)(c) + (k)->count_off))

static int
copy_field(char *field, const struct conf_key *k, const char *v,
    struct conf_error *err)
{
	if (str_copy(field, v, k->size) == -1)
		return bad(err, k, "longer than %zu bytes", k->size - 1);
	return 0;
}

static void
list_free(char ***list, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*n = 0;
}

/* The next entry of a list split on commas and blanks, or NULL. */
static char *
list_next(char **p)
{
	char *start;

	while (**p == ',' || **p == ' ' || **p == '\t')
		(*p)++;
	if (**p == '\0')
		return NULL;
	start = *p;
	while (**p && **p != ',' && **p != ' ' && **p != '\t')
		(*p)++;
	if (**p)
		*(*p)++ = '\0';
	return start;
}

static int
strlist_push(char ***list, size_t *n, const char *s)
{
	char **nl, *dup;

	if (*n >= CONF_LIST_MAX)
		return -1;
	if ((dup = strdup(s)) == NULL)
		return -1;
	if ((nl = realloc(*list, (*n + 1) * sizeof(*nl))) == NULL) {
		free(dup);
		return -1;
	}
	nl[(*n)++] = dup;
	*list = nl;
	return 0;
}

/* List entries: 0 if s (which they may rewrite) is one. */
static int
item_domain(char *s)
{
	if (!addr_domain_valid(s, strlen(s), 0))
		return -1;
	str_lower(s);
	return 0;
}

static int
item_hostport(char *s)
{
	return hostport_valid(s) ? 0 : -1;
}

static const char *policy_names[] = { "none", "may", "encrypt", "verify" };

static int
item_policy(char *s)
{
	const char *colon = strrchr(s, ':');
	size_t i;

	if (colon == NULL || ((colon - s != 1 || s[0] != '*') &&
	    !addr_domain_valid(s, (size_t)(colon - s), 0)))
		return -1;
	for (i = 0; i < 4; i++)
		if (strcmp(colon + 1, policy_names[i]) == 0)
			return 0;
	return -1;
}

/*
 * domain:selector:/key/file. The selector is RFC 6376 3.1's
 * sub-domain *("." sub-domain); the path absolute and without blanks
 * (the list splits on them). Whether the file holds a usable key is
 * queued's check at start (the handlers must not read the key).
 */
static int
item_dkimkey(char *s)
{
	char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

	if (c1 == NULL || c2 == NULL ||
	    !addr_domain_valid(s, (size_t)(c1 - s), 0) ||
	    !addr_domain_valid(c1 + 1, (size_t)(c2 - c1 - 1), 0) ||
	    c2[1] != '/' || strlen(c2 + 1) >= PATH_MAX)
		return -1;
	/* domain and selector are case-insensitive: store them lowercased */
	for (; s < c2; s++)
		*s = (char)tolower((unsigned char)*s);
	return 0;
}

const char *
conf_dkim_key(const char *entry, char *domain, size_t dlen, char *selector,
    size_t slen)
{
	const char *c1 = strchr(entry, ':'), *c2 = strchr(c1 + 1, ':');

	/* item_dkimkey took ADDR_DOMAIN_MAX octets at most of each */
	str_fmt_trunc(domain, dlen, "%.*s", (int)(c1 - entry), entry);
	str_fmt_trunc(selector, slen, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
	return c2 + 1;
}

/* A policy server or a mail filter: sockspec's forms (names not looked up). */
static int
item_socket(char *s)
{
	struct sockaddr_storage ss;
	socklen_t len;

	return sockspec_parse(s, 0, &ss, &len) == -1 ? -1 : 0;
}

/* A list of strings, each checked by item(); replaces the old list. */
static int
set_strings(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err, int (*item)(char *), const char *what)
{
	char ***list = (char ***)(void *)FIELD(c, k), *s;
	size_t *n = COUNT(c, k);

	list_free(list, n);
	while ((s = list_next(&v)) != NULL) {
		if (item(s) == -1)
			return bad(err, k, "'%.64s' is not %s", s, what);
		if (strlist_push(list, n, s) == -1)
			return bad(err, k, "too many entries");
	}
	return 0;
}

static int
set_domains(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	return set_strings(c, k, v, err, item_domain, "a domain name");
}

static int
set_hostports(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	return set_strings(c, k, v, err, item_hostport, "host[:port]");
}

static int
set_policies(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	return set_strings(c, k, v, err, item_policy,
	    "domain:none|may|encrypt|verify");
}

static int
set_dkimkeys(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	return set_strings(c, k, v, err, item_dkimkey,
	    "domain:selector:/absolute/key/file");
}

static int
set_milters(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	return set_strings(c, k, v, err, item_socket,
	    "unix:/path, inet:host:port or inet6:host:port");
}

static int
set_milteract(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	if (strcmp(v, "tempfail") && strcmp(v, "accept") && strcmp(v, "reject"))
		return bad(err, k, "'%.64s' is not tempfail, accept or reject",
		    v);
	return copy_field(FIELD(c, k), k, v, err);
}

static int
set_services(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	return set_strings(c, k, v, err, item_socket,
	    "unix:/path, inet:host:port or inet6:host:port");
}

static int
set_cidrs(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	struct cidr **list = (struct cidr **)(void *)FIELD(c, k), *nl;
	size_t *n = COUNT(c, k);
	char *s;

	free(*list);
	*list = NULL;
	*n = 0;
	while ((s = list_next(&v)) != NULL) {
		if (*n >= CONF_LIST_MAX)
			return bad(err, k, "too many entries");
		if ((nl = realloc(*list, (*n + 1) * sizeof(*nl))) == NULL)
			return bad(err, k, "out of memory");
		*list = nl;
		if (cidr_parse(s, &nl[*n]) == -1)
			return bad(err, k, "'%.64s' is not an address or network",
			    s);
		(*n)++;
	}
	return 0;
}

static int
set_domain(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	if (*v != '\0' && !addr_domain_valid(v, strlen(v), 0))
		return bad(err, k, "'%.64s' is not a domain name", v);
	str_lower(v);
	return copy_field(FIELD(c, k), k, v, err);
}

/* A path field is a char * of its own (conf.h); k->max bounds its length. */
#define PATHP(c, k)	((char **)(void *)FIELD(c, k))

static int
path_store(struct conf *c, const struct conf_key *k, const char *v,
    struct conf_error *err)
{
	size_t max = k->max ? k->max : PATH_MAX - 1;
	char *copy;

	if (strlen(v) > max)
		return bad(err, k, "longer than %zu bytes", max);
	if ((copy = strdup(v)) == NULL)
		return bad(err, k, "out of memory");
	free(*PATHP(c, k));
	*PATHP(c, k) = copy;
	return 0;
}

static int
set_path(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	if (v[0] != '/')
		return bad(err, k, "'%.64s' is not an absolute path", v);
	return path_store(c, k, v, err);
}

static int
set_optpath(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	if (*v == '\0')
		return path_store(c, k, v, err);
	return set_path(c, k, v, err);
}

static int
is_path(const struct conf_key *k)
{
	return k->type == CONF_PATH || k->type == CONF_OPTPATH;
}

static int
set_size(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	uint64_t sz;

	if (conf_parse_size(v, &sz) == -1)
		return bad(err, k, "'%.64s' is not a size (like 35M, 512k, 1000)",
		    v);
	memcpy(FIELD(c, k), &sz, sizeof(sz));
	return 0;
}

static int
set_count(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	unsigned long ul;
	unsigned u;
	char *end;

	errno = 0;
	ul = strtoul(v, &end, 10);
	if (!isdigit((unsigned char)*v) || *end != '\0' || errno ||
	    ul < k->min || ul > k->max)
		return bad(err, k, "'%.64s' is not a number from %u to %u", v,
		    k->min, k->max);
	u = (unsigned)ul;
	memcpy(FIELD(c, k), &u, sizeof(u));
	return 0;
}

static int
set_duration(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	unsigned u;

	if (conf_parse_duration(v, &u) == -1 || u < k->min)
		return bad(err, k, "'%.64s' is not a duration (like 30s, 5m, "
		    "4h, 2d)%s", v, k->min ? " above 0" : "");
	if (k->max && u > k->max)
		return bad(err, k, "'%.64s' is more than %us", v, k->max);
	memcpy(FIELD(c, k), &u, sizeof(u));
	return 0;
}

static int
set_bool(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	if (parse_bool(v, (int *)(void *)FIELD(c, k)) == -1)
		return bad(err, k, "'%.64s' is not yes or no", v);
	return 0;
}

static int
set_chars(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	const char *p;

	for (p = v; *p; p++)
		if (!ispunct((unsigned char)*p) || *p == '@' || *p == '"' ||
		    *p == '\\')
			return bad(err, k, "'%.64s' must be punctuation other "
			    "than @", v);
	return copy_field(FIELD(c, k), k, v, err);
}

static int
set_word(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	const char *p;

	for (p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.')
			return bad(err, k, "'%.64s' is not a user name", v);
	return copy_field(FIELD(c, k), k, v, err);
}

static int
set_hostport(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	if (*v != '\0' && !hostport_valid(v))
		return bad(err, k, "'%.64s' is not [host]:port", v);
	return copy_field(FIELD(c, k), k, v, err);
}

enum tls_policy
conf_tls_policy(const struct conf *c, const char *domain)
{
	enum tls_policy def = TLS_POLICY_MAY;
	size_t i, n = strlen(domain), k;

	for (i = 0; i < c->n_tls_policy; i++) {
		const char *e = c->tls_policy[i], *colon = strrchr(e, ':');
		for (k = 0; k < 4; k++)
			if (strcmp(colon + 1, policy_names[k]) == 0)
				break;
		if ((size_t)(colon - e) == n && strncasecmp(e, domain, n) == 0)
			return (enum tls_policy)k;
		if (colon - e == 1 && e[0] == '*')
			def = (enum tls_policy)k;
	}
	return def;
}

int
conf_tls_policy_named(const struct conf *c, const char *domain)
{
	size_t i, n = strlen(domain);

	for (i = 0; i < c->n_tls_policy; i++) {
		const char *e = c->tls_policy[i], *colon = strrchr(e, ':');
		if ((size_t)(colon - e) == n && strncasecmp(e, domain, n) == 0)
			return 1;
	}
	return 0;
}

const char *
conf_dns_trust_anchor(const struct conf *c)
{
	if (c->dns_trust_anchor[0])
		return c->dns_trust_anchor;
	/*
	 * dns_servers is what tests set, to serve made-up unsigned zones
	 * (example.test) that the root's anchor would call bogus; a site
	 * that sets it for a validating resolver names the anchor too.
	 */
	if (c->n_dns_servers == 0 && access(DNS_ROOT_KEY, R_OK) == 0)
		return DNS_ROOT_KEY;
	return NULL;
}

const char *
conf_tls_policy_name(enum tls_policy p)
{
	return policy_names[p];
}

/* One parser per value type: it checks the text and sets the field. */
static int (*const conf_setters[])(struct conf *, const struct conf_key *,
    char *, struct conf_error *) = {
	[CONF_DOMAIN] = set_domain,
	[CONF_DOMAINS] = set_domains,
	[CONF_CIDRS] = set_cidrs,
	[CONF_PATH] = set_path,
	[CONF_SIZE] = set_size,
	[CONF_COUNT] = set_count,
	[CONF_DURATION] = set_duration,
	[CONF_BOOL] = set_bool,
	[CONF_CHARS] = set_chars,
	[CONF_HOSTPORTS] = set_hostports,
	[CONF_HOSTPORT] = set_hostport,
	[CONF_OPTPATH] = set_optpath,
	[CONF_WORD] = set_word,
	[CONF_POLICIES] = set_policies,
	[CONF_DKIMKEYS] = set_dkimkeys,
	[CONF_MILTERS] = set_milters,
	[CONF_MILTERACT] = set_milteract,
	[CONF_SERVICES] = set_services,
};

/* Set one key from its value text; err->msg says what is wrong. */
static int
conf_set(struct conf *c, const struct conf_key *k, char *v,
    struct conf_error *err)
{
	return conf_setters[k->type](c, k, v, err);
}

void
conf_defaults(struct conf *c)
{
	struct conf_error err;
	char v[256];
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NKEYS; i++) {
		/* a path key's field must be a char * (conf.h), not an array */
		if (is_path(&conf_keys[i]) && conf_keys[i].size != sizeof(char *))
			fatalx("built-in key %s: its field is not a char *",
			    conf_keys[i].name);
		if (str_copy(v, conf_keys[i].def, sizeof(v)) == -1)
			fatalx("built-in default of %s: too long",
			    conf_keys[i].name);
		if (conf_set(c, &conf_keys[i], v, &err) == -1)
			fatalx("built-in default of %s: %s", conf_keys[i].name,
			    err.msg);
	}
}

static const struct conf_key *
conf_key_find(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

/*
 * The next line of text from *pos, into line: its key and value,
 * trimmed, its comment cut; *key "" for a blank line. -1 with why set
 * for a line too long, a NUL byte in it, or no '='.
 */
static int
next_line(const char *text, size_t len, size_t *pos, char *line,
    size_t size, char **key, char **val, char *why, size_t whylen)
{
	const char *nl = memchr(text + *pos, '\n', len - *pos);
	size_t n = nl ? (size_t)(nl - (text + *pos)) : len - *pos;
	char *eq, *hash;

	*pos += n + 1;
	*key = *val = NULL;
	if (n >= size) {
		str_fmt_trunc(why, whylen, "line longer than %zu bytes",
		    size - 1);
		return -1;
	}
	memcpy(line, text + *pos - n - 1, n);
	line[n] = '\0';
	if (memchr(line, '\0', n) != NULL) {
		str_copy_trunc(why, "NUL byte in line", whylen);
		return -1;
	}
	/* a comment starts a line or follows a blank */
	for (hash = line; (hash = strchr(hash, '#')) != NULL; hash++)
		if (hash == line || hash[-1] == ' ' || hash[-1] == '\t') {
			*hash = '\0';
			break;
		}
	*key = str_trim(line);
	if (**key == '\0')
		return 0;
	if ((eq = strchr(*key, '=')) == NULL) {
		str_copy_trunc(why, "expected 'key = value'", whylen);
		return -1;
	}
	*eq = '\0';
	*key = str_trim(*key);
	*val = str_trim(eq + 1);
	return 0;
}

int
conf_parse(struct conf *c, const char *text, size_t len, const char *fname,
    struct conf_error *err)
{
	unsigned char seen[NKEYS];
	char line[4096], why[128], *key, *val;
	const struct conf_key *k;
	size_t pos = 0, lineno = 0;

	memset(seen, 0, sizeof(seen));
	while (pos < len) {
		lineno++;
		if (next_line(text, len, &pos, line, sizeof(line), &key, &val,
		    why, sizeof(why)) == -1) {
			str_fmt_trunc(err->msg, sizeof(err->msg), "%s:%zu: %s",
			    fname, lineno, why);
			return -1;
		}
		if (*key == '\0')
			continue;
		if ((k = conf_key_find(key)) == NULL) {
			str_fmt_trunc(err->msg, sizeof(err->msg),
			    "%s:%zu: unknown key '%.64s'", fname, lineno, key);
			return -1;
		}
		if (seen[k - conf_keys]++) {
			str_fmt_trunc(err->msg, sizeof(err->msg),
			    "%s:%zu: '%s' is set twice", fname, lineno, key);
			return -1;
		}
		if (conf_set(c, k, val, err) == -1) {
			char what[sizeof(err->msg)];
			str_copy_trunc(what, err->msg, sizeof(what));
			str_fmt_trunc(err->msg, sizeof(err->msg), "%s:%zu: %s",
			    fname, lineno, what);
			return -1;
		}
		/* queued resolves it at start: an error names this line */
		if (k->off == offsetof(struct conf, handler_user))
			c->handler_user_line = (unsigned)lineno;
		/* queued reads the key files later, naming this line */
		if (k->type == CONF_DKIMKEYS)
			c->dkim_keys_line = lineno;
	}
	return 0;
}

int
conf_peek(const char *path, const char *name, char *out, size_t len)
{
	struct buf text;
	char err[256], line[4096], why[128], *key, *val;
	size_t pos = 0;
	int rc = -1;

	buf_init(&text, CONF_FILE_MAX);
	if (fileio_read(path, 0, &text, err, sizeof(err)) == 0)
		while (pos < text.len)
			if (next_line(text.data, text.len, &pos, line,
			    sizeof(line), &key, &val, why, sizeof(why)) == 0 &&
			    strcmp(key, name) == 0) {
				rc = str_copy(out, val, len) == -1 ? -1 : 0;
				break;
			}
	buf_free(&text);
	return rc;
}

int
conf_load(struct conf *c, const char *path, struct conf_error *err)
{
	struct buf text;
	int rc;

	conf_defaults(c);
	buf_init(&text, CONF_FILE_MAX);
	rc = fileio_read(path, 0, &text, err->msg, sizeof(err->msg));
	if (rc == 0)
		rc = conf_parse(c, text.data ? text.data : "", text.len, path,
		    err);
	buf_free(&text);
	if (rc == 0 && c->hostname[0] == '\0') {
		char h[ADDR_DOMAIN_MAX + 1];
		if (gethostname(h, sizeof(h)) == 0 &&
		    addr_domain_valid(h, strnlen(h, sizeof(h)), 0)) {
			str_copy_trunc(c->hostname, h, sizeof(c->hostname));
			str_lower(c->hostname);
		} else
			str_copy_trunc(c->hostname, "localhost", sizeof(c->hostname));
	}
	return rc;
}

void
conf_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (is_path(&conf_keys[i])) {
			free(*PATHP(c, &conf_keys[i]));
			*PATHP(c, &conf_keys[i]) = NULL;
		}
	list_free(&c->local_domains, &c->n_local_domains);
	list_free(&c->dns_servers, &c->n_dns_servers);
	list_free(&c->tls_policy, &c->n_tls_policy);
	list_free(&c->dkim_keys, &c->n_dkim_keys);
	list_free(&c->milters, &c->n_milters);
	list_free(&c->policy_services, &c->n_policy_services);
	free(c->relay_networks);
	c->relay_networks = NULL;
	c->n_relay_networks = 0;
}

int
conf_is_local_domain(const struct conf *c, const char *domain)
{
	size_t i;

	if (strcasecmp(domain, c->hostname) == 0)
		return 1;
	for (i = 0; i < c->n_local_domains; i++)
		if (strcasecmp(domain, c->local_domains[i]) == 0)
			return 1;
	return 0;
}

void
conf_print_sample(void *vfp)
{
	FILE *fp = vfp;
	size_t i;

	fprintf(fp, "# pombo.conf: every key with its default value.\n"
	    "# Durations take s, m, h, d; sizes take k, M, G.\n\n");
	for (i = 0; i < NKEYS; i++)
		fprintf(fp, "# %s\n#%s = %s\n\n", conf_keys[i].doc,
		    conf_keys[i].name, conf_keys[i].def);
}
