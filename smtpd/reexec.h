/*
 * reexec: what smtpd does when it is linked statically with musl
 * (configure's default when musl-gcc is there): such a program starts in
 * a third of the time, but cannot dlopen libssl or libcrypt. So it hands
 * the two jobs that need them to smtpd-full, the same program linked
 * with glibc, installed beside it: in-process TLS by exec'ing it for the
 * rest of the session, a password check by running it once per AUTH.
 * Built without musl, smtpd does both itself and nothing here re-execs.
 */
#ifndef POMBO_REEXEC_H
#define POMBO_REEXEC_H

#include <stddef.h>

#include "conf.h"
#include "login.h"
#include "smtpd.h"

/* beside the running binary: never found by PATH or the environment */
#define REEXEC_FULL		"smtpd-full"
#define REEXEC_REQ_MAX		(3 * (LOGIN_SASL_MAX + 1))

/* smtpd-full's --resume modes */
enum reexec_resume {
	REEXEC_IMPLICIT,	/* implicit TLS: shake hands, then greet */
	REEXEC_STARTTLS,	/* STARTTLS received: answer it, no greeting */
};

/* 1 in the static musl build */
int reexec_static(void);
/*
 * Remember how smtpd was started (argv, -c) and its session; in the
 * static build, set shared/tls.c's hook that execs smtpd-full where TLS
 * would have to run in this process.
 */
void reexec_init(struct smtp_session *s, int argc, char **argv,
    const char *confpath);
/*
 * login_check_as for AUTH (no Maildir path): in the static build it runs
 * in a smtpd-full --check-login child; LOGIN_TEMP if that fails.
 */
enum login_result reexec_login_check(const struct conf *conf,
    const char *authzid, const char *name, const char *password, char *addr,
    size_t addrlen);
/*
 * smtpd-full --check-login: read "authzid NUL name NUL password NUL"
 * (REEXEC_REQ_MAX at most) on fd 0, write "R ADDR\n" (R a login_result)
 * on fd 1. The exit status of the program.
 */
int reexec_check_login_main(const char *confpath);
/*
 * smtpd-full --resume=ARG [--resume-helo=NAME]: the session state the
 * static smtpd handed over. TLS runs in this process (pombo-tlsd was
 * asked already). For REEXEC_STARTTLS the STARTTLS command is answered
 * here; the caller then reads commands without a greeting. -1 if ARG is
 * malformed.
 */
int reexec_resume(struct smtp_session *s, struct conf *conf, const char *arg,
    const char *helo);

#endif
