/* tlsproxy: the lines between a handler and pombo-tlsd. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "tlsproxy.h"

static struct tlsproxy_req r;

Test(tlsproxy, requests)
{
	static const struct {
		const char *line;
		int rc, mx, timeout;
		const char *client, *cert, *key, *err;
	} t[] = {
		{ "TLSPROXY 1 1 300000 192.0.2.1 /etc/c.pem /etc/k.pem", 0, 1,
		  300000, "192.0.2.1", "/etc/c.pem", "/etc/k.pem", NULL },
		{ "TLSPROXY 1 0 1 local /c /k", 0, 0, 1, "local", "/c", "/k",
		  NULL },
		{ "TLSPROXY 1 0 3600000 ::1 /c /k", 0, 0, 3600000, "::1", "/c",
		  "/k", NULL },
		{ "TLSPROXY 2 0 1 x /c /k", -1, 0, 0, NULL, NULL, NULL,
		  "not a TLSPROXY 1 request" },
		{ "tlsproxy 1 0 1 x /c /k", -1, 0, 0, NULL, NULL, NULL,
		  "not a TLSPROXY 1 request" },
		{ "TLSPROXY 1 2 1 x /c /k", -1, 0, 0, NULL, NULL, NULL,
		  "bad mx flag" },
		{ "TLSPROXY 1 01 1 x /c /k", -1, 0, 0, NULL, NULL, NULL,
		  "bad mx flag" },
		{ "TLSPROXY 1 1 0 x /c /k", -1, 0, 0, NULL, NULL, NULL,
		  "bad timeout" },
		{ "TLSPROXY 1 1 3600001 x /c /k", -1, 0, 0, NULL, NULL, NULL,
		  "bad timeout" },
		{ "TLSPROXY 1 1 -5 x /c /k", -1, 0, 0, NULL, NULL, NULL,
		  "bad timeout" },
		{ "TLSPROXY 1 1 99999999999 x /c /k", -1, 0, 0, NULL, NULL,
		  NULL, "bad timeout" },
		{ "TLSPROXY 1 1 10  x /c /k", -1, 0, 0, NULL, NULL, NULL,
		  "bad client" },
		{ "TLSPROXY 1 1 10 x c.pem /k", -1, 0, 0, NULL, NULL, NULL,
		  "bad certificate path" },
		{ "TLSPROXY 1 1 10 x /c k.pem", -1, 0, 0, NULL, NULL, NULL,
		  "bad key path" },
		{ "TLSPROXY 1 1 10 x /c /k more", -1, 0, 0, NULL, NULL, NULL,
		  "bad key path" },
		{ "TLSPROXY 1 1 10 x /c /k ", -1, 0, 0, NULL, NULL, NULL,
		  "bad key path" },
		{ "TLSPROXY 1 1 10 x /c", -1, 0, 0, NULL, NULL, NULL,
		  "bad certificate path" },
		{ "TLSPROXY 1 1 10 x /c\t/k", -1, 0, 0, NULL, NULL, NULL,
		  "bad certificate path" },
		{ "TLSPROXY 1 1 10 x\x01 /c /k", -1, 0, 0, NULL, NULL, NULL,
		  "bad client" },
	};
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err[0] = '\0';
		cr_expect_eq(tlsproxy_req_parse(t[i].line, strlen(t[i].line),
		    &r, err, sizeof(err)), t[i].rc, "%s", t[i].line);
		if (t[i].rc == 0) {
			cr_expect_eq(r.mx, t[i].mx, "%s", t[i].line);
			cr_expect_eq(r.timeout_ms, t[i].timeout, "%s", t[i].line);
			cr_expect_str_eq(r.client, t[i].client);
			cr_expect_str_eq(r.cert, t[i].cert);
			cr_expect_str_eq(r.key, t[i].key);
		} else
			cr_expect_str_eq(err, t[i].err, "%s", t[i].line);
	}
}

Test(tlsproxy, a_line_longer_than_its_buffer_is_refused)
{
	static char line[TLSPROXY_LINE_MAX + PATH_MAX];
	char err[128];
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "TLSPROXY 1 1 10 x /");
	memset(line + n, 'a', PATH_MAX);
	n += PATH_MAX;
	memcpy(line + n, " /k", 3);
	n += 3;
	cr_expect_eq(tlsproxy_req_parse(line, n, &r, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "bad certificate path");
}

Test(tlsproxy, format)
{
	static char buf[TLSPROXY_LINE_MAX];
	char small[32];

	memset(&r, 0, sizeof(r));
	r.mx = 1;
	r.timeout_ms = 300000;
	strcpy(r.client, "198.51.100.7");
	strcpy(r.cert, "/etc/pombo/cert.pem");
	strcpy(r.key, "/etc/pombo/key.pem");
	cr_expect_eq(tlsproxy_req_format(&r, buf, sizeof(buf)), 72);
	cr_expect_str_eq(buf, "TLSPROXY 1 1 300000 198.51.100.7 "
	    "/etc/pombo/cert.pem /etc/pombo/key.pem\n");
	/* the client is for log lines: made fit */
	strcpy(r.client, "a b\x01");
	cr_expect_gt(tlsproxy_req_format(&r, buf, sizeof(buf)), 0);
	cr_expect(strstr(buf, " a?b? ") != NULL, "%s", buf);
	r.client[0] = '\0';
	cr_expect_gt(tlsproxy_req_format(&r, buf, sizeof(buf)), 0);
	cr_expect(strstr(buf, " - /etc") != NULL, "%s", buf);
	/* paths tlsd could not be told: the handler does TLS itself */
	strcpy(r.cert, "cert.pem");
	cr_expect_eq(tlsproxy_req_format(&r, buf, sizeof(buf)), -1);
	strcpy(r.cert, "/etc/my cert.pem");
	cr_expect_eq(tlsproxy_req_format(&r, buf, sizeof(buf)), -1);
	strcpy(r.cert, "/c");
	r.timeout_ms = 0;
	cr_expect_eq(tlsproxy_req_format(&r, buf, sizeof(buf)), -1);
	r.timeout_ms = 10;
	cr_expect_eq(tlsproxy_req_format(&r, small, sizeof(small)), -1);
}

Test(tlsproxy, replies)
{
	static const struct {
		const char *line;
		int rc;
		enum tlsproxy_reply kind;
		const char *text;
	} t[] = {
		{ "OK", 0, TLSPROXY_OK, "" },
		{ "OK TLSv1.3/TLS_AES_256_GCM_SHA384/256", 0, TLSPROXY_OK,
		  "TLSv1.3/TLS_AES_256_GCM_SHA384/256" },
		{ "NOCERT /x: No such file", 0, TLSPROXY_NOCERT,
		  "/x: No such file" },
		{ "ERR busy", 0, TLSPROXY_ERR, "busy" },
		{ "ERR a\tb", 0, TLSPROXY_ERR, "a b" },
		{ "OKAY", -1, 0, NULL },
		{ "ok", -1, 0, NULL },
		{ "", -1, 0, NULL },
		{ "ERRbusy", -1, 0, NULL },
	};
	enum tlsproxy_reply kind;
	char text[64];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_eq(tlsproxy_reply_parse(t[i].line, strlen(t[i].line),
		    &kind, text, sizeof(text)), t[i].rc, "%s", t[i].line);
		if (t[i].rc == 0) {
			cr_expect_eq(kind, t[i].kind, "%s", t[i].line);
			cr_expect_str_eq(text, t[i].text);
		}
	}
	/* a long text is cut to the buffer */
	cr_expect_eq(tlsproxy_reply_parse("ERR 0123456789", 14, &kind, text,
	    5), 0);
	cr_expect_str_eq(text, "0123");
}
