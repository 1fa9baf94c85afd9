/*
 * tlsprof: where a handler's STARTTLS spends its CPU (issue 19), for
 * `make bench`. Each round forks a fresh process that does what
 * shared/tls.c does for a server session, in the same order, and notes
 * the CPU time (CLOCK_PROCESS_CPUTIME_ID, not wall time: the machine is
 * shared) of each step: dlopen of libssl.so.3 (with libcrypto), OpenSSL's
 * library initialisation (with or without the config file), SSL_CTX_new,
 * the context's settings, the certificate chain, the key, SSL_new, the
 * handshake with a client in another fresh process (OpenSSL's defaults:
 * TLS 1.3, X25519), and the whole process from fork to exit (OpenSSL's
 * atexit cleanup included). Prints "step ms" lines, means over the rounds.
 *
 * Bench-only, never installed. Trusts its arguments.
 * usage: tlsprof [-C] [-n rounds] cert.pem key.pem
 *   -C  OPENSSL_INIT_NO_LOAD_CONFIG (no openssl.cnf)
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#define FNS \
	F(TLS_server_method) F(TLS_client_method) F(SSL_CTX_new) \
	F(SSL_CTX_free) F(SSL_CTX_use_certificate_chain_file) \
	F(SSL_CTX_use_PrivateKey_file) F(SSL_CTX_check_private_key) \
	F(SSL_CTX_ctrl) F(SSL_CTX_set_options) F(SSL_CTX_set_cipher_list) \
	F(SSL_new) F(SSL_free) F(SSL_set_fd) F(SSL_accept) F(SSL_connect) \
	F(SSL_read) F(SSL_write) F(SSL_shutdown) F(OPENSSL_init_ssl)

#define F(name) static __typeof__(&name) p_##name;
FNS
#undef F

enum { S_DLOPEN, S_INIT, S_CTX, S_OPTS, S_CERT, S_KEY, S_SSL, S_HANDSHAKE,
	S_N };
static const char *steps[S_N] = { "dlopen", "init", "ctx_new", "ctx_settings",
	"cert", "key", "ssl_new", "handshake" };

static double
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
load(void)
{
	void *h;

	if ((h = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL)) == NULL)
		_exit(2);
#define F(name) \
	if ((p_##name = (__typeof__(&name))dlsym(h, #name)) == NULL) _exit(2);
	FNS
#undef F
}

/* the server process: times into t[0..S_N-1], over the pipe */
static void
server(int fd, int out, const char *cert, const char *key, int noconf)
{
	double t[S_N], t0;
	SSL_CTX *ctx;
	SSL *ssl;
	char c;

	signal(SIGPIPE, SIG_IGN);
	t0 = cpu_ms();
	load();
	t[S_DLOPEN] = cpu_ms();
	/* what SSL_CTX_new would do implicitly (tls.c lets it) */
	p_OPENSSL_init_ssl(noconf ? OPENSSL_INIT_NO_LOAD_CONFIG : 0, NULL);
	t[S_INIT] = cpu_ms();
	if ((ctx = p_SSL_CTX_new(p_TLS_server_method())) == NULL)
		_exit(3);
	t[S_CTX] = cpu_ms();
	p_SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION,
	    NULL);
	p_SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	p_SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:"
	    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384");
	p_SSL_CTX_ctrl(ctx, SSL_CTRL_SET_DH_AUTO, 1, NULL);
	t[S_OPTS] = cpu_ms();
	if (p_SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		_exit(4);
	t[S_CERT] = cpu_ms();
	if (p_SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    p_SSL_CTX_check_private_key(ctx) != 1)
		_exit(5);
	t[S_KEY] = cpu_ms();
	if ((ssl = p_SSL_new(ctx)) == NULL)
		_exit(6);
	p_SSL_set_fd(ssl, fd);
	t[S_SSL] = cpu_ms();
	if (p_SSL_accept(ssl) != 1)
		_exit(7);
	t[S_HANDSHAKE] = cpu_ms();
	for (int i = S_N - 1; i > 0; i--)
		t[i] -= t[i - 1];
	t[0] -= t0;
	if (write(out, t, sizeof(t)) != (ssize_t)sizeof(t))
		_exit(8);
	/* the client's one octet, then a session's ending, as smtpd's */
	p_SSL_read(ssl, &c, 1);
	p_SSL_shutdown(ssl);
	p_SSL_free(ssl);
	p_SSL_CTX_free(ctx);
	exit(0);	/* not _exit: OpenSSL's atexit cleanup counts */
}

static void
client(int fd)
{
	SSL_CTX *ctx;
	SSL *ssl;

	signal(SIGPIPE, SIG_IGN);
	load();
	if ((ctx = p_SSL_CTX_new(p_TLS_client_method())) == NULL ||
	    (ssl = p_SSL_new(ctx)) == NULL)
		_exit(2);
	p_SSL_set_fd(ssl, fd);
	if (p_SSL_connect(ssl) != 1 || p_SSL_write(ssl, "x", 1) != 1)
		_exit(3);
	p_SSL_shutdown(ssl);
	_exit(0);
}

int
main(int argc, char *argv[])
{
	double sum[S_N] = { 0 }, whole = 0;
	int ch, rounds = 50, noconf = 0, ok = 0;

	while ((ch = getopt(argc, argv, "Cn:")) != -1) {
		switch (ch) {
		case 'C': noconf = 1; break;
		case 'n': rounds = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (argc - optind != 2 || rounds < 1 || rounds > 100000) {
usage:
		fprintf(stderr, "usage: tlsprof [-C] [-n rounds] cert key\n");
		return 64;
	}
	for (int r = 0; r < rounds; r++) {
		int sv[2], pp[2], st, cst;
		double t[S_N];
		struct rusage ru;
		pid_t srv, cli;
		ssize_t got;

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
		    pipe(pp) == -1)
			return 111;
		if ((srv = fork()) == 0) {
			close(sv[1]);
			close(pp[0]);
			server(sv[0], pp[1], argv[optind], argv[optind + 1],
			    noconf);
		}
		if ((cli = fork()) == 0) {
			close(sv[0]);
			client(sv[1]);
		}
		close(sv[0]);
		close(sv[1]);
		close(pp[1]);
		got = read(pp[0], t, sizeof(t));
		close(pp[0]);
		if (wait4(srv, &st, 0, &ru) == -1 || waitpid(cli, &cst, 0) == -1)
			return 111;
		if (got != (ssize_t)sizeof(t) || st != 0 || cst != 0) {
			fprintf(stderr, "tlsprof: round %d failed (%x %x)\n", r,
			    st, cst);
			continue;
		}
		ok++;
		for (int i = 0; i < S_N; i++)
			sum[i] += t[i];
		whole += (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
		    1e3 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) /
		    1e3;
	}
	if (ok == 0)
		return 1;
	for (int i = 0; i < S_N; i++)
		printf("%s %.3f\n", steps[i], sum[i] / ok);
	printf("process %.3f\nrounds %d\n", whole / ok, ok);
	return 0;
}
