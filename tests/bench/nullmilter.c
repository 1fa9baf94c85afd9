/*
 * nullmilter: the benchmark's trivial mail filter. A libmilter filter
 * that asks for every step (connect, HELO, MAIL, RCPT, header, end of
 * headers, body, end of message), continues at each and accepts at the
 * end, changing nothing: what is measured with it is the cost of the
 * milter conversation itself, for Pombo's queued and for Postfix's
 * smtpd alike. Bench only: never installed.
 *
 * Runs as: whoever the bench runs. May touch: nothing (it listens on
 * the inet:PORT@127.0.0.1 socket given as its one argument). Trusts:
 * libmilter to decode the protocol; it reads none of the data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>

static sfsistat
go_on(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)host;
	(void)addr;
	return go_on(ctx);
}

static sfsistat
on_args(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return go_on(ctx);
}

static sfsistat
on_helo(SMFICTX *ctx, char *name)
{
	(void)name;
	return go_on(ctx);
}

static sfsistat
on_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return go_on(ctx);
}

static sfsistat
on_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)chunk;
	(void)len;
	return go_on(ctx);
}

static sfsistat
on_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_ACCEPT;
}

/*
 * No SMFIP_NO* flags and no xxfi_negotiate: the MTA keeps sending every
 * step, as a real filter that looks at the whole message would have it.
 */
static struct smfiDesc desc = {
	.xxfi_name = "nullmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = 0,
	.xxfi_connect = on_connect,
	.xxfi_helo = on_helo,
	.xxfi_envfrom = on_args,
	.xxfi_envrcpt = on_args,
	.xxfi_header = on_header,
	.xxfi_eoh = go_on,
	.xxfi_body = on_body,
	.xxfi_eom = on_eom,
	.xxfi_abort = go_on,
	.xxfi_close = go_on,
	.xxfi_data = go_on,
};

int
main(int argc, char *argv[])
{
	if (argc != 2 || strncmp(argv[1], "inet:", 5) != 0) {
		fprintf(stderr, "usage: nullmilter inet:PORT@127.0.0.1\n");
		return 2;
	}
	if (smfi_setconn(argv[1]) == MI_FAILURE ||
	    smfi_register(desc) == MI_FAILURE) {
		fprintf(stderr, "nullmilter: cannot set up %s\n", argv[1]);
		return 1;
	}
	/* a listen backlog that the bench's 10 sessions never fill */
	(void)smfi_setbacklog(128);
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
