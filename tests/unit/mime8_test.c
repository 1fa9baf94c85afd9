/* mime8: 8-bit to quoted-printable for servers without 8BITMIME. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mime8.h"

static int
collect(void *arg, const char *p, size_t n, int eol)
{
	struct buf *b = arg;

	if (buf_add(b, p, n) == -1)
		return -1;
	return eol ? buf_addc(b, '\n') : 0;
}

/* Run text (LF lines) through mime8, line by line. */
static const char *
run(const char *text, int convert)
{
	static struct buf out;
	struct mime8 m;
	const char *p = text, *nl;

	buf_init(&out, 1 << 20);
	mime8_init(&m, convert, collect, &out);
	while (*p) {
		nl = strchr(p, '\n');
		cr_assert_not_null(nl);
		cr_assert_eq(mime8_line(&m, p, (size_t)(nl - p), 1), 0);
		p = nl + 1;
	}
	cr_assert_eq(mime8_finish(&m), 0);
	return buf_cstr(&out);
}

Test(mime8, passthrough)
{
	cr_expect_str_eq(run("Subject: x\n\ncaf\xc3\xa9\n", 0),
	    "Subject: x\n\ncaf\xc3\xa9\n");
}

Test(mime8, single_part)
{
	cr_expect_str_eq(run(
	    "Subject: x\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "caf\xc3\xa9 = x\n"
	    ".dot\n"
	    "trailing \n", 1),
	    "Subject: x\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "MIME-Version: 1.0\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "caf=C3=A9 =3D x\n"
	    "=2Edot\n"
	    "trailing=20\n");
}

Test(mime8, soft_breaks)
{
	char in[300], want[400];
	const char *out;

	memset(in, 'a', 200);
	strcpy(in + 200, "\n");
	out = run((snprintf(want, sizeof(want), "Subject: y\n\n%s", in), want), 1);
	cr_expect_not_null(strstr(out, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaa=\naaaa"), "%s", out);
	/* no output line is longer than 76 */
	{
		const char *p = out, *nl;
		while ((nl = strchr(p, '\n')) != NULL) {
			cr_expect_leq(nl - p, 76);
			p = nl + 1;
		}
	}
}

Test(mime8, multipart)
{
	cr_expect_str_eq(run(
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed;\n"
	    "\tboundary=\"XX\"\n"
	    "\n"
	    "preamble\n"
	    "--XX\n"
	    "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "\xe2\x82\xac\n"
	    "--XX\n"
	    "Content-Type: application/octet-stream\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n"
	    "AAEC\n"
	    "--XX--\n"
	    "epilogue\n", 1),
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed;\n"
	    "\tboundary=\"XX\"\n"
	    "\n"
	    "preamble\n"
	    "--XX\n"
	    "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "=E2=82=AC\n"
	    "--XX\n"
	    "Content-Type: application/octet-stream\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n"
	    "AAEC\n"
	    "--XX--\n"
	    "epilogue\n");
}

Test(mime8, has_8bit)
{
	cr_expect(mime8_has_8bit("a\xc3", 2));
	cr_expect(mime8_has_8bit("a\0b", 3));
	cr_expect_not(mime8_has_8bit("plain ascii", 11));
}

/*
 * RFC 2046 5.2.1: message/rfc822 admits no encoding but 7bit, 8bit or
 * binary, so the message inside is converted entity by entity; before,
 * it passed unchanged and 8-bit octets went to a server without 8BITMIME.
 */
Test(mime8, message_rfc822)
{
	const char *out = run(
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "Subject: inner\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "na\xc3\xafve\n"
	    "--b1--\n", 1);

	cr_expect_str_eq(out,
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "Subject: inner\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "MIME-Version: 1.0\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "na=C3=AFve\n"
	    "--b1--\n");
	cr_expect_not(mime8_has_8bit(out, strlen(out)));
}

/* A whole message forwarded as the message itself, with a multipart in it. */
Test(mime8, message_rfc822_top)
{
	const char *out = run(
	    "Content-Type: Message/RFC822\n"
	    "\n"
	    "Content-Type: multipart/alternative; boundary=\"in\"\n"
	    "\n"
	    "--in\n"
	    "\n"
	    "\xc3\xa9t\xc3\xa9\n"
	    "--in--\n", 1);

	cr_expect_str_eq(out,
	    "Content-Type: Message/RFC822\n"
	    "\n"
	    "Content-Type: multipart/alternative; boundary=\"in\"\n"
	    "\n"
	    "--in\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "=C3=A9t=C3=A9\n"
	    "--in--\n");
}

/* A part cut short by a boundary before its blank line: the boundary
 * still counts, and the next part's header is its own. */
Test(mime8, boundary_in_header)
{
	const char *out = run(
	    "Content-Type: multipart/mixed; boundary=b\n"
	    "\n"
	    "--b\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "--b\n"
	    "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "\xc3\xa9\n"
	    "--b--\n", 1);

	cr_expect_str_eq(out,
	    "Content-Type: multipart/mixed; boundary=b\n"
	    "\n"
	    "--b\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "--b\n"
	    "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "=C3=A9\n"
	    "--b--\n");
}

/*
 * A message/rfc822 part sent base64-encoded anyway (RFC 2046 forbids it;
 * it happens) is passed as it is, not read as a header: 70 KB of it used
 * to fill the header buffer and stop every later conversion.
 */
Test(mime8, message_rfc822_encoded)
{
	static char in[100 * 1024];
	const char *out;
	size_t n = 0;
	int i;

	n += (size_t)snprintf(in + n, sizeof(in) - n,
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=b1\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: message/rfc822\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n");
	for (i = 0; i < 1000; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "%.76s\n",
		    "U3ViamVjdDogaW5uZXIKCmhlbGxvCg==U3ViamVjdDogaW5uZXIKCmhlbGxv"
		    "Cg==U3ViamVjdDogaW5uZXIK");
	snprintf(in + n, sizeof(in) - n,
	    "--b1\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "\n"
	    "na\xc3\xafve\n"
	    "--b1--\n");
	out = run(in, 1);
	cr_expect_not_null(strstr(out, "Content-Transfer-Encoding: base64\n\n"
	    "U3ViamVjdDogaW5uZXIK"), "the encoded part passes as it is");
	cr_expect_not_null(strstr(out, "na=C3=AFve"),
	    "the 8-bit part after it is still converted");
	cr_expect_null(strstr(out, "na\xc3\xafve"), "no 8-bit octet left");
}
