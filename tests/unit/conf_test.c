/* conf: every value type, defaults, and errors that name file:line. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "str.h"

static int
parse(struct conf *c, const char *text, struct conf_error *err)
{
	conf_defaults(c);
	return conf_parse(c, text, strlen(text), "test.conf", err);
}

Test(conf, defaults)
{
	struct conf c;

	conf_defaults(&c);
	cr_expect_eq(c.max_message_size, 35000000);
	cr_expect_eq(c.max_recipients, 1000);
	cr_expect_eq(c.smtp_timeout, 300);
	cr_expect_eq(c.retry_interval, 1800);
	cr_expect_eq(c.queue_lifetime, 4 * 86400);
	cr_expect_eq(c.n_relay_networks, 2);
	cr_expect_str_eq(c.recipient_delimiter, "+");
	/* pombo-tlsd.socket's path: enabling the unit is enough */
	cr_expect_str_eq(c.tls_proxy, POMBO_RUNSTATEDIR "/pombo/tlsd.sock");
	conf_free(&c);
}

/* tls_proxy set empty: each handler does its own TLS */
Test(conf, tls_proxy_off)
{
	struct conf c;
	struct conf_error err;

	cr_assert_eq(parse(&c, "tls_proxy =\n", &err), 0, "%s", err.msg);
	cr_expect_str_eq(c.tls_proxy, "");
	conf_free(&c);
}

/* MTA-STS: on by default; a domain named in tls_policy opts out */
Test(conf, mta_sts)
{
	struct conf c;
	struct conf_error err;

	conf_defaults(&c);
	cr_expect_eq(c.mta_sts, 1);
	cr_expect_eq(c.mta_sts_timeout, 20);
	cr_expect_eq(c.mta_sts_port, 443);
	cr_expect_eq(c.tls_reports, 1);
	conf_free(&c);
	cr_assert_eq(parse(&c, "mta_sts = no\nmta_sts_timeout = 5s\n"
	    "mta_sts_port = 8443\ntls_policy = a.test:may, *:encrypt\n",
	    &err), 0, "%s", err.msg);
	cr_expect_eq(c.mta_sts, 0);
	cr_expect_eq(c.mta_sts_timeout, 5);
	cr_expect_eq(c.mta_sts_port, 8443);
	cr_expect(conf_tls_policy_named(&c, "A.test"));
	cr_expect_not(conf_tls_policy_named(&c, "b.test"), "* is no name");
	cr_expect_not(conf_tls_policy_named(&c, "test"));
	conf_free(&c);
	cr_expect_eq(parse(&c, "mta_sts_timeout = 0\n", &err), -1);
	conf_free(&c);
}

Test(conf, values)
{
	struct conf c;
	struct conf_error err;

	cr_assert_eq(parse(&c,
	    "# a comment\n"
	    "hostname = MX.Example.Test\n"
	    "  local_domains = a.test, B.test  c.test # trailing comment\n"
	    "relay_networks = 10.0.0.0/8 ::1\n"
	    "spool_dir = /var/spool/x\n"
	    "max_message_size = 10M\n"
	    "max_recipients = 100\n"
	    "smtp_timeout = 2m\n"
	    "retry_interval = 2s\n"
	    "queue_lifetime = 1d\n"
	    "enable_vrfy = yes\n"
	    "relayhost = [smart.test]:2525\n"
	    "dns_servers = 127.0.0.1:5353, ::1\n"
	    "\n", &err), 0, "%s", err.msg);
	cr_expect_str_eq(c.hostname, "mx.example.test");
	cr_assert_eq(c.n_local_domains, 3);
	cr_expect_str_eq(c.local_domains[1], "b.test");
	cr_expect(conf_is_local_domain(&c, "C.TEST"));
	cr_expect(conf_is_local_domain(&c, "mx.example.test"));
	cr_expect_not(conf_is_local_domain(&c, "d.test"));
	cr_expect_eq(c.n_relay_networks, 2);
	cr_expect(cidr_match_any(c.relay_networks, 2, "10.1.2.3"));
	cr_expect_not(cidr_match_any(c.relay_networks, 2, "127.0.0.1"));
	cr_expect_eq(c.max_message_size, 10000000);
	cr_expect_eq(c.smtp_timeout, 120);
	cr_expect_eq(c.retry_interval, 2);
	cr_expect_eq(c.queue_lifetime, 86400);
	cr_expect_eq(c.enable_vrfy, 1);
	cr_expect_str_eq(c.relayhost, "[smart.test]:2525");
	cr_expect_eq(c.n_dns_servers, 2);
	conf_free(&c);
}

static const struct {
	const char *text, *msg;
} bad[] = {
	{ "\n\nfoo = bar\n", "test.conf:3: unknown key 'foo'" },
	{ "hostname\n", "test.conf:1: expected 'key = value'" },
	{ "max_recipients = 99\n",
	  "test.conf:1: max_recipients: '99' is not a number from 100 to 1000000" },
	{ "max_recipients = 12x\n",
	  "test.conf:1: max_recipients: '12x' is not a number from 100 to 1000000" },
	{ "smtp_timeout = 5x\n",
	  "test.conf:1: smtp_timeout: '5x' is not a duration (like 30s, 5m, 4h, 2d) above 0" },
	{ "smtp_timeout = 0\n",
	  "test.conf:1: smtp_timeout: '0' is not a duration (like 30s, 5m, 4h, 2d) above 0" },
	/* int milliseconds: 30d would overflow to a deadline long gone */
	{ "smtp_timeout = 30d\n",
	  "test.conf:1: smtp_timeout: '30d' is more than 86400s" },
	{ "enable_vrfy = no\npop3_timeout = 86401\n",
	  "test.conf:2: pop3_timeout: '86401' is more than 86400s" },
	{ "login_delay = 25d\n",
	  "test.conf:1: login_delay: '25d' is more than 86400s" },
	{ "remote_timeout = 2d\n",
	  "test.conf:1: remote_timeout: '2d' is more than 86400s" },
	{ "remote_connect_timeout = 100d\n",
	  "test.conf:1: remote_connect_timeout: '100d' is more than 86400s" },
	{ "max_message_size = big\n",
	  "test.conf:1: max_message_size: 'big' is not a size (like 35M, 512k, 1000)" },
	{ "spool_dir = relative\n",
	  "test.conf:1: spool_dir: 'relative' is not an absolute path" },
	{ "relay_networks = 10.0.0.0/33\n",
	  "test.conf:1: relay_networks: '10.0.0.0/33' is not an address or network" },
	{ "local_domains = a..b\n",
	  "test.conf:1: local_domains: 'a..b' is not a domain name" },
	{ "enable_vrfy = maybe\n",
	  "test.conf:1: enable_vrfy: 'maybe' is not yes or no" },
	{ "hostname = a.test\nhostname = b.test\n",
	  "test.conf:2: 'hostname' is set twice" },
	{ "relayhost = [a.test]:99999\n",
	  "test.conf:1: relayhost: '[a.test]:99999' is not [host]:port" },
	{ "dkim_keys = a.test:sel:key.pem\n",
	  "test.conf:1: dkim_keys: 'a.test:sel:key.pem' is not domain:selector:/absolute/key/file" },
	{ "dkim_keys = a.test:/k.pem\n",
	  "test.conf:1: dkim_keys: 'a.test:/k.pem' is not domain:selector:/absolute/key/file" },
	{ "dkim_keys = a..test:s:/k.pem\n",
	  "test.conf:1: dkim_keys: 'a..test:s:/k.pem' is not domain:selector:/absolute/key/file" },
	{ "dkim_keys = a.test:s_1:/k.pem\n",
	  "test.conf:1: dkim_keys: 'a.test:s_1:/k.pem' is not domain:selector:/absolute/key/file" },
	{ "milters = inet:[mx.test]:11332\n",
	  "test.conf:1: milters: 'inet:[mx.test]:11332' is not unix:/path, inet:host:port or inet6:host:port" },
	{ "milters = unix:relative\n",
	  "test.conf:1: milters: 'unix:relative' is not unix:/path, inet:host:port or inet6:host:port" },
	{ "milters = inet:127.0.0.1:0\n",
	  "test.conf:1: milters: 'inet:127.0.0.1:0' is not unix:/path, inet:host:port or inet6:host:port" },
	{ "milters = tcp:127.0.0.1:25\n",
	  "test.conf:1: milters: 'tcp:127.0.0.1:25' is not unix:/path, inet:host:port or inet6:host:port" },
	{ "milter_default_action = defer\n",
	  "test.conf:1: milter_default_action: 'defer' is not tempfail, accept or reject" },
};

Test(conf, errors_name_file_and_line)
{
	struct conf c;
	struct conf_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(parse(&c, bad[i].text, &err), -1, "%s", bad[i].text);
		cr_expect_str_eq(err.msg, bad[i].msg);
		conf_free(&c);
	}
}

/* queued checks the key files later and names this line */
Test(conf, dkim_keys)
{
	struct conf c;
	struct conf_error err;
	char dom[256], sel[64];

	cr_assert_eq(parse(&c, "hostname = a.test\n\n"
	    "dkim_keys = A.Test:Sel.2026:/etc/pombo/A.pem, "
	    "a.test:r:/k/rsa.pem\n", &err), 0, "%s", err.msg);
	cr_assert_eq(c.n_dkim_keys, 2);
	cr_expect_eq(c.dkim_keys_line, 3);
	cr_expect_str_eq(c.dkim_keys[0], "a.test:sel.2026:/etc/pombo/A.pem");
	cr_expect_str_eq(conf_dkim_key(c.dkim_keys[1], dom, sizeof(dom), sel,
	    sizeof(sel)), "/k/rsa.pem");
	cr_expect_str_eq(dom, "a.test");
	cr_expect_str_eq(sel, "r");
	conf_free(&c);
	conf_defaults(&c);
	cr_expect_eq(c.n_dkim_keys, 0);
	cr_expect_eq(c.dkim_keys_line, 0);
	conf_free(&c);
}

Test(conf, milters)
{
	struct conf c;
	struct conf_error err;

	cr_assert_eq(parse(&c, "milters = unix:/run/rspamd.sock, "
	    "inet:127.0.0.1:11332 inet6:[::1]:8891, inet6:::1:8892, "
	    "inet:localhost:1\nmilter_default_action = accept\n"
	    "milter_content_timeout = 1m\n", &err), 0, "%s", err.msg);
	cr_assert_eq(c.n_milters, 5);
	cr_expect_str_eq(c.milters[2], "inet6:[::1]:8891");
	cr_expect_str_eq(c.milter_default_action, "accept");
	cr_expect_eq(c.milter_content_timeout, 60);
	cr_expect_eq(c.milter_command_timeout, 30);
	conf_free(&c);
	conf_defaults(&c);
	cr_expect_eq(c.n_milters, 0);
	cr_expect_str_eq(c.milter_default_action, "tempfail");
	cr_expect_eq(c.milter_connect_timeout, 30);
	cr_expect_eq(c.milter_content_timeout, 300);
	conf_free(&c);
}

/* Postfix's notation; a name is looked up by queued at start */
Test(conf, policy_services)
{
	static const char *badspec[] = { "inet:[mx.example]:10023",
	    "inet:1.2.3.4", "inet:1.2.3.4:0", "inet:1.2.3.4:70000",
	    "unix:relative", "tcp:1.2.3.4:1", "inet:[::1]", "inet::25",
	    "inet:10.0.0.0/8:25", "inet:mx..example:25", "inet:1.2.3:25" };
	struct conf c;
	struct conf_error err;
	char text[128];
	size_t i;

	cr_assert_eq(parse(&c, "policy_services = inet:127.0.0.1:10023, "
	    "unix:/run/policyd-spf.sock inet:[::1]:25,inet:policy.example:1\n"
	    "policy_timeout = 3s\npolicy_end_of_data = yes\n", &err), 0, "%s",
	    err.msg);
	cr_assert_eq(c.n_policy_services, 4);
	cr_expect_str_eq(c.policy_services[1], "unix:/run/policyd-spf.sock");
	cr_expect_str_eq(c.policy_services[2], "inet:[::1]:25");
	cr_expect_eq(c.policy_timeout, 3);
	cr_expect_eq(c.policy_end_of_data, 1);
	conf_free(&c);
	conf_defaults(&c);
	cr_expect_eq(c.n_policy_services, 0);
	cr_expect_eq(c.policy_timeout, 10);
	cr_expect_eq(c.policy_end_of_data, 0);
	conf_free(&c);
	for (i = 0; i < sizeof(badspec) / sizeof(badspec[0]); i++) {
		cr_assert_neq(str_fmt(text, sizeof(text), "policy_services = "
		    "%s\n", badspec[i]), -1);
		cr_expect_eq(parse(&c, text, &err), -1, "%s", badspec[i]);
		conf_free(&c);
	}
}

Test(conf, durations_and_sizes)
{
	unsigned d;
	uint64_t s;

	cr_expect_eq(conf_parse_duration("30", &d), 0);
	cr_expect_eq(d, 30);
	cr_expect_eq(conf_parse_duration("4h", &d), 0);
	cr_expect_eq(d, 14400);
	cr_expect_eq(conf_parse_duration("2d", &d), 0);
	cr_expect_eq(d, 172800);
	cr_expect_eq(conf_parse_duration("", &d), -1);
	cr_expect_eq(conf_parse_duration("m", &d), -1);
	cr_expect_eq(conf_parse_duration("99999999999d", &d), -1);
	cr_expect_eq(conf_parse_size("35MB", &s), 0);
	cr_expect_eq(s, 35000000);
	cr_expect_eq(conf_parse_size("512k", &s), 0);
	cr_expect_eq(s, 512000);
	cr_expect_eq(conf_parse_size("1G", &s), 0);
	cr_expect_eq(conf_parse_size("1T", &s), -1);
}

Test(conf, load_missing_file)
{
	struct conf c;
	struct conf_error err;

	cr_expect_eq(conf_load(&c, "/nonexistent/pombo.conf", &err), -1);
	cr_expect_str_eq(err.msg, "/nonexistent/pombo.conf: No such file or "
	    "directory");
}

/* conf_peek finds a key below a line that stops conf_load */
Test(conf, peek_past_an_error)
{
	char path[] = "/tmp/pombo-conf-peek-XXXXXX", v[256];
	struct conf c;
	struct conf_error err;
	FILE *f;
	int fd;

	cr_assert_neq(fd = mkstemp(path), -1);
	cr_assert_not_null(f = fdopen(fd, "w"));
	fputs("local_domain = x\n# log_file = /not/this\nno equals sign\n"
	    "  log_file = /var/log/pombo.log # the log\n"
	    "log_file = /second\n", f);
	fclose(f);
	cr_expect_eq(conf_load(&c, path, &err), -1);
	cr_expect_eq(conf_peek(path, "log_file", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "/var/log/pombo.log");
	cr_expect_eq(conf_peek(path, "spool_dir", v, sizeof(v)), -1);
	cr_expect_eq(conf_peek(path, "log_file", v, 8), -1);	/* too long */
	cr_expect_eq(conf_peek("/nonexistent/pombo.conf", "log_file", v,
	    sizeof(v)), -1);
	unlink(path);
	conf_free(&c);
}

Test(conf, timeouts_up_to_a_day)
{
	struct conf c;
	struct conf_error err;

	cr_assert_eq(parse(&c, "smtp_timeout = 1d\npop3_timeout = 86400\n"
	    "remote_timeout = 24h\nqueue_lifetime = 30d\n", &err), 0, "%s",
	    err.msg);
	cr_expect_eq(c.smtp_timeout, 86400);
	cr_expect_eq(c.pop3_timeout, 86400);
	cr_expect_eq(c.remote_timeout, 86400);
	cr_expect_eq(c.queue_lifetime, 30 * 86400, "lifetimes stay unbounded");
	conf_free(&c);
}

/* queued resolves handler_user at start and names the line it came from */
Test(conf, handler_user_and_its_line)
{
	struct conf_error err;
	struct conf c;

	conf_defaults(&c);
	cr_expect_str_eq(c.handler_user, "pombo-smtpd");
	cr_expect_eq(c.handler_user_line, 0, "the default has no line");
	cr_expect_eq(c.max_uid_connections, 32);
	conf_free(&c);
	cr_assert_eq(parse(&c, "# x\nhostname = a.test\nhandler_user = "
	    "mail-in\nmax_uid_connections = 5\n", &err), 0, "%s", err.msg);
	cr_expect_str_eq(c.handler_user, "mail-in");
	cr_expect_eq(c.handler_user_line, 3);
	cr_expect_eq(c.max_uid_connections, 5);
	conf_free(&c);
	cr_expect_eq(parse(&c, "max_uid_connections = 0\n", &err), -1,
	    "at least one connection");
	conf_free(&c);
}

/*
 * DANE (issue 20): on by default; the trust anchor is the one named, or
 * the system's root key when dns_servers is not set (tests serve
 * unsigned made-up zones through dns_servers), or none; a domain named
 * in tls_policy is not subject to DANE, "*" does not count.
 */
Test(conf, dane_and_trust_anchor)
{
	struct conf c;
	struct conf_error err;

	conf_defaults(&c);
	cr_expect_eq(c.dane, 1);
	conf_free(&c);
	cr_assert_eq(parse(&c, "dane = no\n", &err), 0, "%s", err.msg);
	cr_expect_eq(c.dane, 0);
	if (access(DNS_ROOT_KEY, R_OK) == 0)
		cr_expect_str_eq(conf_dns_trust_anchor(&c), DNS_ROOT_KEY);
	conf_free(&c);
	cr_assert_eq(parse(&c, "dns_servers = 127.0.0.1:5353\n", &err), 0,
	    "%s", err.msg);
	cr_expect_null(conf_dns_trust_anchor(&c));
	conf_free(&c);
	cr_assert_eq(parse(&c, "dns_servers = 127.0.0.1:5353\n"
	    "dns_trust_anchor = /etc/pombo/test.ds\n", &err), 0, "%s",
	    err.msg);
	cr_expect_str_eq(conf_dns_trust_anchor(&c), "/etc/pombo/test.ds");
	conf_free(&c);
	cr_expect_eq(parse(&c, "dns_trust_anchor = relative.ds\n", &err), -1);
	conf_free(&c);
	cr_assert_eq(parse(&c, "tls_policy = a.test:may, *:encrypt\n", &err),
	    0, "%s", err.msg);
	cr_expect(conf_tls_policy_named(&c, "A.test"));
	cr_expect_not(conf_tls_policy_named(&c, "b.test"));
	conf_free(&c);
}

/*
 * Paths are heap strings (conf.h): their limits stay those of the old
 * arrays (queue_socket: sun_path's 107 octets), an optional one
 * is "" unless set, and the struct fits in a page, so that a handler
 * zeroing it faults one page and not eleven (issue 19).
 */
Test(conf, paths)
{
	static char text[2 * PATH_MAX];
	struct conf c;
	struct conf_error err;
	char path[PATH_MAX];

	cr_expect_leq(sizeof(struct conf), 4096);
	conf_defaults(&c);
	cr_expect_str_eq(c.log_file, "");
	cr_expect_str_eq(c.tls_cert, "");
	cr_expect_eq(c.spool_dir[0], '/');
	conf_free(&c);

	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[4000] = '\0';	/* a config line holds 4095 octets */
	snprintf(text, sizeof(text), "mail_root = %s\nlog_file = /l\n", path);
	cr_assert_eq(parse(&c, text, &err), 0, "%s", err.msg);
	cr_expect_eq(strlen(c.mail_root), 4000);
	cr_expect_str_eq(c.log_file, "/l");
	conf_free(&c);
	cr_expect_null(c.mail_root);

	path[108] = '\0';
	snprintf(text, sizeof(text), "queue_socket = %s\n", path);
	cr_expect_eq(parse(&c, text, &err), -1);
	cr_expect_str_eq(err.msg, "test.conf:1: queue_socket: longer than 107 "
	    "bytes");
	conf_free(&c);
	path[107] = '\0';
	snprintf(text, sizeof(text), "queue_socket = %s\n", path);
	cr_assert_eq(parse(&c, text, &err), 0, "%s", err.msg);
	cr_expect_eq(strlen(c.queue_socket), 107);
	conf_free(&c);
}
