/* tlsrpt: RFC 8460's TXT record, a day's counts, the JSON and the mail. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base64.h"
#include "tlsrpt.h"
#include "tlsrpt_rec.h"

Test(tlsrpt, record_table)
{
	static const struct {
		const char *txt;
		int rc;
		const char *rua;
	} t[] = {
		{ "v=TLSRPTv1; rua=mailto:reports@example.com", 1,
		  "reports@example.com" },
		{ "v=TLSRPTv1;rua=mailto:a@a.test, https://r.test/x,"
		  "mailto:b@b.test;", 1, "a@a.test,b@b.test" },
		{ "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt", 1,
		  "" },
		{ "v=TLSRPTv1; ext=1; rua=MAILTO:a@a.test", 1, "a@a.test" },
		/* left out: to be decoded, a query, no domain */
		{ "v=TLSRPTv1; rua=mailto:a%40x@a.test,mailto:b@b.test?s=x,"
		  "mailto:c@", 1, "" },
		{ "v=TLSRPTv1", -1, "" },
		{ "v=TLSRPTv1; rua=", -1, "" },
		{ "v=TLSRPTv1; rua=mailto:a@a.test; rua=mailto:b@b.test", -1,
		  "" },
		{ "v=TLSRPTv1; rua=mailto:a@a.test mailto:b@b.test", -1, "" },
		{ "v=TLSRPTv1 rua=mailto:a@a.test", -1, "" },
		{ "v=spf1 -all", 0, "" },
		{ "v=TLSRPTv10; rua=mailto:a@a.test", 0, "" },
	};
	char rua[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_eq(tlsrpt_rec_parse(t[i].txt, rua, sizeof(rua)),
		    t[i].rc, "%s", t[i].txt);
		if (t[i].rc == 1)
			cr_expect_str_eq(rua, t[i].rua, "%s", t[i].txt);
	}
	/* an address that does not fit is left out, never cut */
	cr_expect_eq(tlsrpt_rec_parse("v=TLSRPTv1; rua=mailto:a@a.test,"
	    "mailto:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb@b.test", rua, 24), 1);
	cr_expect_str_eq(rua, "a@a.test");
}

static const char day_text[] =
    "tls a.test sts success mx.a.test 192.0.2.1 r@x.test\n"
    "tls a.test sts success mx.a.test 192.0.2.1 r@x.test\n"
    "tls a.test sts certificate-expired mx.a.test 192.0.2.1 r@x.test\n"
    "tls a.test sts certificate-expired mx.a.test 192.0.2.1 r@x.test\n"
    "tls a.test sts sts-policy-fetch-error - - r@x.test\n"
    "tls b.test no-policy-found success mx.b.test 192.0.2.2 r@y.test\n"
    "garbage line\n"
    "tls b.test no-policy-found starttls-not-supported mx.b.test 192.0.2.2 "
    "r@y.test\n"
    "tls b.test sts success mx.b.te";	/* cut by a crash */

Test(tlsrpt, day_counts)
{
	struct tlsrpt_day d;

	cr_assert_eq(tlsrpt_day_parse(day_text, strlen(day_text), &d), 0);
	cr_assert_eq(d.ndom, 2);
	cr_expect_str_eq(d.doms[0].domain, "a.test");
	cr_expect_eq(d.doms[0].pol[JOB_TLS_STS].ok, 2);
	cr_expect_eq(d.doms[0].pol[JOB_TLS_STS].failed, 3);
	cr_assert_eq(d.doms[0].pol[JOB_TLS_STS].nfail, 2);
	cr_expect_eq(d.doms[0].pol[JOB_TLS_STS].fails[0].n, 2);
	cr_expect_eq(d.doms[0].pol[JOB_TLS_NO_POLICY].used, 0);
	cr_expect_str_eq(d.doms[1].rua, "r@y.test");
	cr_expect_eq(d.doms[1].pol[JOB_TLS_NO_POLICY].ok, 1);
	cr_expect_eq(d.doms[1].pol[JOB_TLS_NO_POLICY].failed, 1);
	cr_expect_eq(d.doms[1].pol[JOB_TLS_STS].used, 0, "the cut line is "
	    "not counted");
	tlsrpt_day_free(&d);
}


/* The report's part, base64 then gzip undone, is the JSON itself. */
static void
attached_is(const char *msg, const struct buf *json)
{
	const char *p = strstr(msg, ".json.gz\"\n\n"), *end;
	char *b64;
	unsigned char *gz, *out;
	size_t i, n = 0, gzlen;
	z_stream z;

	cr_assert(p != NULL, "no attachment");
	p += strlen(".json.gz\"\n\n");
	cr_assert((end = strstr(p, "\n--")) != NULL);
	cr_assert((b64 = malloc((size_t)(end - p) + 1)) != NULL);
	for (i = 0; p + i < end; i++)
		if (p[i] != '\n')
			b64[n++] = p[i];
	b64[n] = '\0';
	cr_assert((gz = malloc(n)) != NULL);
	cr_assert_eq(base64_decode(b64, gz, n, &gzlen), 0);
	cr_expect(gzlen > 10 && gz[0] == 0x1f && gz[1] == 0x8b,
	    "a gzip member (RFC 1952)");
	cr_assert((out = malloc(json->len + 1)) != NULL);
	memset(&z, 0, sizeof(z));
	cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = gz;
	z.avail_in = (uInt)gzlen;
	z.next_out = out;
	z.avail_out = (uInt)json->len + 1;
	cr_expect_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
	cr_expect_eq(z.total_out, json->len);
	cr_expect(memcmp(out, json->data, json->len) == 0);
	inflateEnd(&z);
	free(out);
	free(gz);
	free(b64);
}

Test(tlsrpt, json_and_mail)
{
	static const char policy[] = "version: STSv1\r\nmode: enforce\r\n"
	    "mx: mx.a.test\r\nmx: *.a.test\r\nmax_age: 86400\r\n";
	static const char want[] =
	    "{\"organization-name\":\"mx.test\",\"date-range\":"
	    "{\"start-datetime\":\"2026-12-01T00:00:00Z\",\"end-datetime\":"
	    "\"2026-12-02T00:00:00Z\"},\"contact-info\":\"postmaster@mx.test\","
	    "\"report-id\":\"2026-12-01.a.test.1796169600@mx.test\","
	    "\"policies\":[{\"policy\":{\"policy-type\":\"sts\","
	    "\"policy-string\":[\"version: STSv1\",\"mode: enforce\","
	    "\"mx: mx.a.test\",\"mx: *.a.test\",\"max_age: 86400\"],"
	    "\"policy-domain\":\"a.test\",\"mx-host\":[\"mx.a.test\","
	    "\"*.a.test\"]},\"summary\":{\"total-successful-session-count\":2,"
	    "\"total-failure-session-count\":3},\"failure-details\":["
	    "{\"result-type\":\"certificate-expired\",\"receiving-mx-hostname\":"
	    "\"mx.a.test\",\"receiving-ip\":\"192.0.2.1\","
	    "\"failed-session-count\":2},{\"result-type\":"
	    "\"sts-policy-fetch-error\",\"failed-session-count\":1}]}]}\n";
	struct tlsrpt_day d;
	struct buf json, msg;
	int64_t start = 1796083200;	/* 2026-12-01 */

	cr_assert_eq(tlsrpt_day_parse(day_text, strlen(day_text), &d), 0);
	buf_init(&json, 1 << 20);
	cr_assert_eq(tlsrpt_json(&d.doms[0], "mx.test", start, start + 86400,
	    policy, strlen(policy), start + 86400, &json), 0);
	cr_expect_str_eq(buf_cstr(&json), want);
	/* no policy known, no-policy-found */
	buf_reset(&json);
	cr_assert_eq(tlsrpt_json(&d.doms[1], "mx.test", start, start + 86400,
	    NULL, 0, start + 86400, &json), 0);
	cr_expect(strstr(buf_cstr(&json), "{\"policy\":{\"policy-type\":"
	    "\"no-policy-found\",\"policy-domain\":\"b.test\"},\"summary\":{"
	    "\"total-successful-session-count\":1,"
	    "\"total-failure-session-count\":1}") != NULL, "%s",
	    buf_cstr(&json));
	buf_init(&msg, 1 << 20);
	cr_assert_eq(tlsrpt_message(&d.doms[1], "mx.test", start,
	    start + 86400, start + 86400, "r@y.test", &json, &msg), 0);
	cr_expect(strstr(buf_cstr(&msg), "Subject: Report Domain: b.test "
	    "Submitter: mx.test Report-ID: <") != NULL);
	cr_expect(strstr(buf_cstr(&msg), "\nTLS-Report-Domain: b.test\n"
	    "TLS-Report-Submitter: mx.test\n") != NULL);
	cr_expect(strstr(buf_cstr(&msg), "multipart/report; "
	    "report-type=\"tlsrpt\"") != NULL);
	cr_expect(strstr(buf_cstr(&msg), "Content-Type: application/"
	    "tlsrpt+gzip\n") != NULL);
	cr_expect(strstr(buf_cstr(&msg), "filename=\"mx.test!b.test!"
	    "1796083200!1796169600.json.gz\"") != NULL);
	attached_is(buf_cstr(&msg), &json);
	buf_free(&msg);
	buf_free(&json);
	tlsrpt_day_free(&d);
}
