/*
 * conf: pombo.conf, flat "key = value" lines with # comments. Used by every
 * program; the parser is pure (conf_parse) and names file:line in every
 * error. The key table in conf.c is the one list of keys and defaults.
 */
#ifndef POMBO_CONF_H
#define POMBO_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cidr.h"

#define CONF_LIST_MAX	1024
#define CONF_FILE_MAX	(1024 * 1024)

/*
 * Paths (CONF_PATH, CONF_OPTPATH keys) are strings of their own on the
 * heap, never NULL ("" when unset) from conf_defaults to conf_free: as
 * PATH_MAX arrays they made the struct 42 KB (now 1 KB), eleven pages
 * to fault in for every handler that zeroed it (issue 19).
 */
struct conf {
	char		 hostname[ADDR_DOMAIN_MAX + 1];
	char		**local_domains;	/* lowercased */
	size_t		 n_local_domains;
	struct cidr	*relay_networks;
	size_t		 n_relay_networks;
	char		*spool_dir;
	char		*mail_root;
	char		*users_file;
	char		*aliases_file;
	char		*queue_socket;	/* < sizeof(sun_path) */
	char		*log_file;	/* when there is no syslog */
	char		*libexec_dir;	/* the agents, smtpd for sendmail -bs */
	uint64_t	 max_message_size;
	uint64_t	 min_free_space;
	unsigned	 max_recipients;
	unsigned	 max_errors;
	unsigned	 smtp_timeout;		/* seconds */
	unsigned	 pop3_timeout;
	unsigned	 login_delay;		/* seconds after a failed login */
	unsigned	 max_login_failures;
	int		 enable_vrfy;
	int		 enable_expn;
	char		 recipient_delimiter[8];
	unsigned	 retry_interval;
	unsigned	 queue_lifetime;
	unsigned	 delay_warning;
	int		 hold_deliveries;
	unsigned	 max_deliveries;
	unsigned	 max_domain_deliveries;
	char		**dns_servers;
	size_t		 n_dns_servers;
	unsigned	 remote_port;
	unsigned	 remote_timeout;
	unsigned	 remote_connect_timeout;
	char		 relayhost[ADDR_DOMAIN_MAX + 16];
	char		*tls_cert;	/* "" if none: no TLS offered */
	char		*tls_key;
	char		*tls_proxy;	/* pombo-tlsd's socket (< sizeof(sun_path)), or "" */
	char		*tls_ca_file;	/* for tls_policy verify */
	char		**tls_policy;		/* "domain:policy" */
	size_t		 n_tls_policy;
	int		 dane;			/* RFC 7672 */
	char		*dns_trust_anchor;	/* "": see conf.c */
	int		 allow_plaintext_auth;
	int		 mta_sts;		/* RFC 8461 policies, outbound */
	unsigned	 mta_sts_timeout;	/* seconds, a policy fetch */
	unsigned	 mta_sts_port;		/* 443; tests: their server's */
	int		 tls_reports;		/* RFC 8460 reports, daily */
	char		**dkim_keys;		/* "domain:selector:keyfile" */
	size_t		 n_dkim_keys;
	size_t		 dkim_keys_line;	/* where it was set; 0: default */
	char		 user[64];		/* handlers drop to it */
	char		 handler_user[64];	/* smtpd's: speaks for clients */
	unsigned	 handler_user_line;	/* where it was set; 0: default */
	unsigned	 max_uid_connections;	/* per local user on the socket */
	int		 inbound_auth;		/* SPF, DKIM, DMARC on arrival */
	int		 dmarc_reject;
	unsigned	 inbound_auth_timeout;	/* seconds */
	char		**milters;		/* "unix:/path", "inet:host:port" */
	size_t		 n_milters;
	char		 milter_default_action[16];	/* tempfail|accept|reject */
	unsigned	 milter_connect_timeout;	/* seconds */
	unsigned	 milter_command_timeout;
	unsigned	 milter_content_timeout;
	char		**policy_services;	/* "unix:/p", "inet:a:port" */
	size_t		 n_policy_services;
	int		 policy_end_of_data;	/* ask at END-OF-MESSAGE too */
	unsigned	 policy_timeout;	/* seconds */
};

struct conf_error {
	char	msg[512];
};

/* Defaults for every key. */
void conf_defaults(struct conf *c);
/* Parse text (not NUL-terminated) named fname into c, on top of c. */
int conf_parse(struct conf *c, const char *text, size_t len,
    const char *fname, struct conf_error *err);
/* Defaults, then the file, then the host name if unset. */
int conf_load(struct conf *c, const char *path, struct conf_error *err);
/*
 * The value of one key in the file at path, found even where the file
 * does not load (an error above it): 0, or -1 if it is not there.
 */
int conf_peek(const char *path, const char *name, char *out, size_t len);
void conf_free(struct conf *c);
/* -c FILE, else $POMBO_CONF, else the compiled-in default. */
const char *conf_path(const char *opt);
int conf_is_local_domain(const struct conf *c, const char *domain);

/* Debian's dns-root-data: the root zone's DNSSEC trust anchor */
#define DNS_ROOT_KEY	"/usr/share/dns/root.key"

enum tls_policy { TLS_POLICY_NONE, TLS_POLICY_MAY, TLS_POLICY_ENCRYPT,
    TLS_POLICY_VERIFY };
/* The remote agent's TLS policy for a destination (default: may). */
enum tls_policy conf_tls_policy(const struct conf *c, const char *domain);
const char *conf_tls_policy_name(enum tls_policy p);
/* Does tls_policy name domain itself (not just "*")? */
int conf_tls_policy_named(const struct conf *c, const char *domain);
/*
 * The DNSSEC trust anchor file in force: dns_trust_anchor; else, when
 * dns_servers is not set, the system's root key DNS_ROOT_KEY if it is
 * there; else NULL (no validation, no DANE).
 */
const char *conf_dns_trust_anchor(const struct conf *c);

/*
 * The three parts of a dkim_keys entry (as checked by the parser): the
 * domain and selector into the buffers, the key file's path returned.
 */
const char *conf_dkim_key(const char *entry, char *domain, size_t dlen,
    char *selector, size_t slen);

/* Value parsers, exported for tests and for the tools. */
int conf_parse_duration(const char *s, unsigned *out);
int conf_parse_size(const char *s, uint64_t *out);

/* Print every key with its default as a sample pombo.conf. */
void conf_print_sample(void *fp);

#endif
