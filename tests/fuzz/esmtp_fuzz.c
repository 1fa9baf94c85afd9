/*
 * esmtp_fuzz: the arguments of MAIL and RCPT with their ESMTP parameters
 * (shared/esmtp.c). The first octet picks MAIL or RCPT, EHLO or HELO,
 * SMTPUTF8; the rest is what follows the verb.
 * Invariants: a refusal is a 5xx with an enhanced code; an accepted
 * argument formats into the queue protocol's form, and queued (which
 * parses that again with esmtp on) gets the very same values.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "esmtp.h"
#include "fuzz.h"
#include "qproto.h"
#include "str.h"

static void
check_err(const struct esmtp_err *err)
{
	FUZZ_ASSERT(err->code == 501 || err->code == 553 || err->code == 555);
	FUZZ_ASSERT(err->msg != NULL && strncmp(err->msg, "5.", 2) == 0);
}

static int
addr_eq(const struct addr *a, const struct addr *b)
{
	return strcmp(a->local, b->local) == 0 &&
	    strcmp(a->domain, b->domain) == 0 && a->null == b->null &&
	    a->utf8 == b->utf8;
}

static void
fuzz_mail(const char *arg, int esmtp)
{
	struct mail_args m, m2;
	struct esmtp_err err;
	char buf[QPROTO_LINE_MAX], line[QPROTO_LINE_MAX + 8];

	if (esmtp_parse_mail(arg, esmtp, &m, &err) == -1) {
		check_err(&err);
		return;
	}
	FUZZ_ASSERT(esmtp || (m.size == 0 && m.body == BODY_NONE &&
	    m.ret == RET_NONE && !m.smtputf8 && m.envid[0] == '\0'));
	FUZZ_ASSERT(!m.from.utf8 || m.smtputf8);
	FUZZ_ASSERT(strlen(m.envid) <= ESMTP_ENVID_MAX);
	FUZZ_ASSERT(esmtp_format_mail(&m, buf, sizeof(buf)) == 0);
	FUZZ_ASSERT(str_fmt(line, sizeof(line), "FROM:%s", buf) != -1);
	if (esmtp_parse_mail(line, 1, &m2, &err) == -1)
		fuzz_fail(__FILE__, __LINE__, "formatted MAIL does not parse");
	FUZZ_ASSERT(addr_eq(&m.from, &m2.from));
	FUZZ_ASSERT(m.size == m2.size && m.body == m2.body &&
	    m.ret == m2.ret && m.smtputf8 == m2.smtputf8);
	FUZZ_ASSERT(strcmp(m.envid, m2.envid) == 0);
}

static void
fuzz_rcpt(const char *arg, int esmtp, int smtputf8)
{
	struct rcpt_args r, r2;
	struct esmtp_err err;
	char buf[QPROTO_LINE_MAX], line[QPROTO_LINE_MAX + 8];

	if (esmtp_parse_rcpt(arg, esmtp, smtputf8, &r, &err) == -1) {
		check_err(&err);
		return;
	}
	FUZZ_ASSERT(esmtp || (r.notify == 0 && r.orcpt[0] == '\0'));
	FUZZ_ASSERT(!r.to.utf8 || smtputf8);
	FUZZ_ASSERT(!r.to.null);
	FUZZ_ASSERT(strlen(r.orcpt) <= ESMTP_ORCPT_MAX);
	FUZZ_ASSERT(esmtp_format_rcpt(&r, buf, sizeof(buf)) == 0);
	FUZZ_ASSERT(str_fmt(line, sizeof(line), "TO:%s", buf) != -1);
	/* queued parses with SMTPUTF8 on: the MAIL said so, or it is ASCII */
	if (esmtp_parse_rcpt(line, 1, 1, &r2, &err) == -1)
		fuzz_fail(__FILE__, __LINE__, "formatted RCPT does not parse");
	FUZZ_ASSERT(addr_eq(&r.to, &r2.to));
	FUZZ_ASSERT(r.notify == r2.notify);
	FUZZ_ASSERT(strcmp(r.orcpt, r2.orcpt) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *arg;

	if (size < 1)
		return 0;
	arg = fuzz_cstr(data + 1, size - 1);
	if (data[0] & 1)
		fuzz_rcpt(arg, (data[0] & 2) != 0, (data[0] & 4) != 0);
	else
		fuzz_mail(arg, (data[0] & 2) != 0);
	free(arg);
	return 0;
}
