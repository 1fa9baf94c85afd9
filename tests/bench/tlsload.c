/*
 * tlsload: a STARTTLS load generator for `make bench` (issue 19). N
 * workers (threads) each run sessions one after another until the total
 * is reached: connect, EHLO, STARTTLS, handshake, EHLO, MAIL, RCPT, DATA
 * with a message of -s octets, QUIT. With -r each worker keeps the
 * session (TLS 1.3 ticket or TLS 1.2 id) its last session got and offers
 * it on the next one, as an MTA's client cache would. With -p the same
 * session without STARTTLS: what TLS adds is the difference.
 *
 * Bench-only, never installed; trusts nothing the server says (every
 * reply is checked, every read and write has a timeout), verifies no
 * certificate (the bench's is self-signed). Prints one line:
 * sessions=N ok=N failed=N resumed=N secs=S rate=R
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define LINE_MAX_ 1024

static struct sockaddr_in addr;
static SSL_CTX *ctx;
static int total = 100, resume, plain, timeout_s = 30, verbose;
static size_t size = 4096;
static const char *rcpt = "load@bench.test", *from = "sender@client.test";
static char *body;
static size_t bodylen;
static atomic_int started, ok, failed, resumed;

struct conn {
	int	 fd;
	SSL	*ssl;
	char	 buf[4096];
	size_t	 len, off;
};

static int
conn_write(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = c->ssl ? SSL_write(c->ssl, p, (int)n) :
		    write(c->fd, p, n);
		if (w <= 0) {
			if (!c->ssl && w == -1 && errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* one reply line into line; -1 on EOF, error, timeout or a long line */
static int
conn_line(struct conn *c, char *line, size_t max)
{
	size_t n = 0;

	for (;;) {
		if (c->off == c->len) {
			ssize_t r = c->ssl ? SSL_read(c->ssl, c->buf,
			    sizeof(c->buf)) : read(c->fd, c->buf, sizeof(c->buf));
			if (r <= 0) {
				if (!c->ssl && r == -1 && errno == EINTR)
					continue;
				return -1;
			}
			c->off = 0;
			c->len = (size_t)r;
		}
		char ch = c->buf[c->off++];
		if (ch == '\n') {
			if (n > 0 && line[n - 1] == '\r')
				n--;
			line[n] = '\0';
			return 0;
		}
		if (n + 1 >= max)
			return -1;
		line[n++] = ch;
	}
}

/* a whole (multiline) reply: its code, or -1 */
static int
reply(struct conn *c)
{
	char line[LINE_MAX_];

	for (;;) {
		if (conn_line(c, line, sizeof(line)) == -1 || strlen(line) < 3)
			return -1;
		if (line[3] != '-') {
			if (verbose > 1)
				fprintf(stderr, "< %s\n", line);
			return atoi(line);
		}
	}
}

static int
cmd(struct conn *c, const char *s, int want)
{
	char line[LINE_MAX_];
	int code;

	snprintf(line, sizeof(line), "%s\r\n", s);
	if (conn_write(c, line, strlen(line)) == -1)
		return -1;
	if ((code = reply(c)) != want) {
		if (verbose)
			fprintf(stderr, "tlsload: %s -> %d\n", s, code);
		return -1;
	}
	return 0;
}

static int
session(SSL_SESSION **sess)
{
	struct conn c = { .fd = -1 };
	struct timeval tv = { timeout_s, 0 };
	char line[LINE_MAX_];
	int rc = -1, one = 1;

	if ((c.fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c.fd, (struct sockaddr *)&addr, sizeof(addr)) == -1)
		goto out;
	if (reply(&c) != 220 || cmd(&c, "EHLO client.test", 250) == -1)
		goto out;
	if (plain)
		goto transaction;
	if (cmd(&c, "STARTTLS", 220) == -1)
		goto out;
	if ((c.ssl = SSL_new(ctx)) == NULL)
		goto out;
	SSL_set_fd(c.ssl, c.fd);
	SSL_set_tlsext_host_name(c.ssl, "mx.bench.test");
	if (resume && *sess)
		SSL_set_session(c.ssl, *sess);
	c.len = c.off = 0;	/* nothing may be read past STARTTLS's 220 */
	if (SSL_connect(c.ssl) != 1) {
		if (verbose)
			ERR_print_errors_fp(stderr);
		goto out;
	}
	if (SSL_session_reused(c.ssl))
		atomic_fetch_add(&resumed, 1);
	if (cmd(&c, "EHLO client.test", 250) == -1)
		goto out;
transaction:
	snprintf(line, sizeof(line), "MAIL FROM:<%s>", from);
	if (cmd(&c, line, 250) == -1)
		goto out;
	snprintf(line, sizeof(line), "RCPT TO:<%s>", rcpt);
	if (cmd(&c, line, 250) == -1 || cmd(&c, "DATA", 354) == -1)
		goto out;
	if (conn_write(&c, body, bodylen) == -1 || cmd(&c, ".", 250) == -1)
		goto out;
	if (cmd(&c, "QUIT", 221) == -1)
		goto out;
	rc = 0;
	/*
	 * By now a TLS 1.3 server's tickets (sent after its Finished) have
	 * been read with the replies: the session to offer next time.
	 */
	if (resume && c.ssl) {
		SSL_SESSION *s = SSL_get1_session(c.ssl);
		if (s && SSL_SESSION_is_resumable(s)) {
			SSL_SESSION_free(*sess);
			*sess = s;
		} else
			SSL_SESSION_free(s);
	}
out:
	if (c.ssl) {
		if (rc == 0)
			SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	close(c.fd);
	return rc;
}

static void *
worker(void *arg)
{
	SSL_SESSION *sess = NULL;

	(void)arg;
	while (atomic_fetch_add(&started, 1) < total) {
		if (session(&sess) == 0)
			atomic_fetch_add(&ok, 1);
		else
			atomic_fetch_add(&failed, 1);
	}
	SSL_SESSION_free(sess);
	return NULL;
}

static void
make_body(void)
{
	static const char hdr[] = "From: <sender@client.test>\r\n"
	    "To: <load@bench.test>\r\nSubject: tlsload\r\n\r\n";
	size_t n = 0;

	if ((body = malloc(size + sizeof(hdr) + 128)) == NULL)
		exit(111);
	memcpy(body, hdr, sizeof(hdr) - 1);
	n = sizeof(hdr) - 1;
	while (n + 80 <= size) {
		memset(body + n, 'x', 78);
		memcpy(body + n + 78, "\r\n", 2);
		n += 80;
	}
	bodylen = n;
}

static void
usage(void)
{
	fprintf(stderr, "usage: tlsload [-p | -r] [-v] [-c workers] [-n sessions] "
	    "[-s size] [-t timeout] [-f from] [-R rcpt] ip port\n");
	exit(64);
}

int
main(int argc, char *argv[])
{
	int ch, conc = 1;
	struct timespec t0, t1;
	pthread_t *th;

	while ((ch = getopt(argc, argv, "c:n:s:t:f:R:prv")) != -1) {
		switch (ch) {
		case 'c': conc = atoi(optarg); break;
		case 'n': total = atoi(optarg); break;
		case 's': size = (size_t)atol(optarg); break;
		case 't': timeout_s = atoi(optarg); break;
		case 'f': from = optarg; break;
		case 'R': rcpt = optarg; break;
		case 'p': plain = 1; break;
		case 'r': resume = 1; break;
		case 'v': verbose++; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || conc < 1 || conc > 1000 || total < 1 ||
	    size > 100 << 20)
		usage();
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)atoi(argv[1]));
	if (inet_pton(AF_INET, argv[0], &addr.sin_addr) != 1)
		usage();
	make_body();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		exit(111);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* the sessions live in each worker, not in a shared cache */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	if ((th = calloc((size_t)conc, sizeof(*th))) == NULL)
		exit(111);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < conc; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0)
			exit(111);
	for (int i = 0; i < conc; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("sessions=%d ok=%d failed=%d resumed=%d secs=%.3f rate=%.1f\n",
	    total, ok, failed, resumed, secs, ok / secs);
	return failed ? 1 : 0;
}
