/*
 * tlshandover: the handler's side of pombo-tlsd's protocol
 * (shared/tlsproxy.h). Every wait is a poll with the caller's deadline;
 * replies are read an octet at a time, since after tlsd's last line
 * the same socket carries the client's plaintext, which is lineio's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lineio.h"
#include "str.h"
#include "tlshandover.h"

int
tlshandover_fit(int rfd, int wfd)
{
	struct stat r, w;

	if (fstat(rfd, &r) == -1 || fstat(wfd, &w) == -1)
		return 0;
	return S_ISSOCK(r.st_mode) && r.st_dev == w.st_dev &&
	    r.st_ino == w.st_ino;
}

/* One reply line into line (its "\n" removed): its length, or -1. */
static int
read_line(int fd, char *line, size_t max, int64_t deadline, char *err,
    size_t errlen)
{
	size_t n = 0;
	ssize_t r;
	char c;

	for (;;) {
		r = read(fd, &c, 1);
		if (r == 1) {
			if (c == '\n')
				break;
			if (n + 1 >= max) {
				str_copy_trunc(err, "pombo-tlsd: reply too long",
				    errlen);
				return -1;
			}
			line[n++] = c;
			continue;
		}
		if (r == 0) {
			str_copy_trunc(err, "pombo-tlsd closed the connection",
			    errlen);
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			str_fmt_trunc(err, errlen, "pombo-tlsd: %s",
			    strerror(errno));
			return -1;
		}
		if (lineio_wait(fd, POLLIN, deadline) <= 0) {
			str_copy_trunc(err, "pombo-tlsd did not answer in time",
			    errlen);
			return -1;
		}
	}
	line[n] = '\0';
	return (int)n;
}

static int
write_all(int fd, const char *p, size_t n, int64_t deadline)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w == -1 && errno == EINTR)
			continue;
		else if (w == -1 && errno == EAGAIN) {
			if (lineio_wait(fd, POLLOUT, deadline) <= 0)
				return -1;
		} else
			return -1;
	}
	return 0;
}

enum tlshandover_result
tlshandover_ask(const char *path, const struct tlsproxy_req *r,
    int64_t deadline, int *fdp, char *err, size_t errlen)
{
	char req[TLSPROXY_LINE_MAX], line[TLSPROXY_REPLY_MAX];
	char text[TLSPROXY_REPLY_MAX];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	enum tlsproxy_reply kind;
	int fd, n, len;

	if ((len = tlsproxy_req_format(r, req, sizeof(req))) == -1) {
		str_copy_trunc(err, "tls_cert or tls_key cannot be named to "
		    "pombo-tlsd (not absolute, or a space in it)", errlen);
		return TLSHANDOVER_FALLBACK;
	}
	if (str_copy(sun.sun_path, path, sizeof(sun.sun_path)) == -1) {
		str_copy_trunc(err, "tls_proxy: path too long", errlen);
		return TLSHANDOVER_FALLBACK;
	}
	/* non-blocking: a full backlog is EAGAIN, not a wait */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1 || connect(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1) {
		int absent = fd != -1 && errno == ENOENT;

		str_fmt_trunc(err, errlen, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return absent ? TLSHANDOVER_ABSENT : TLSHANDOVER_FALLBACK;
	}
	if (write_all(fd, req, (size_t)len, deadline) == -1) {
		str_fmt_trunc(err, errlen, "%s: cannot send the request", path);
		goto fallback;
	}
	if ((n = read_line(fd, line, sizeof(line), deadline, err,
	    errlen)) == -1)
		goto fallback;
	if (tlsproxy_reply_parse(line, (size_t)n, &kind, text,
	    sizeof(text)) == -1) {
		str_copy_trunc(err, "pombo-tlsd: an answer not understood",
		    errlen);
		goto fallback;
	}
	switch (kind) {
	case TLSPROXY_OK:
		*fdp = fd;
		return TLSHANDOVER_OK;
	case TLSPROXY_NOCERT:
		close(fd);
		str_copy_trunc(err, text, errlen);
		return TLSHANDOVER_NOCERT;
	case TLSPROXY_ERR:
		str_fmt_trunc(err, errlen, "pombo-tlsd: %s", text);
		break;
	}
fallback:
	close(fd);
	return TLSHANDOVER_FALLBACK;
}

int
tlshandover_pass(int pfd, int clientfd, int64_t deadline, char *desc,
    size_t desclen, char *err, size_t errlen)
{
	char cbuf[CMSG_SPACE(sizeof(int))], line[TLSPROXY_REPLY_MAX];
	char text[TLSPROXY_REPLY_MAX];
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *cm;
	enum tlsproxy_reply kind;
	char one = 'F';
	ssize_t w;
	int n;

	memset(&msg, 0, sizeof(msg));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = &one;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &clientfd, sizeof(int));
	for (;;) {
		if ((w = sendmsg(pfd, &msg, MSG_NOSIGNAL)) == 1)
			break;
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN && lineio_wait(pfd, POLLOUT,
		    deadline) > 0)
			continue;
		str_fmt_trunc(err, errlen, "cannot pass the socket to "
		    "pombo-tlsd: %s", w == -1 ? strerror(errno) : "short");
		return -1;
	}
	if ((n = read_line(pfd, line, sizeof(line), deadline, err,
	    errlen)) == -1)
		return -1;
	if (tlsproxy_reply_parse(line, (size_t)n, &kind, text,
	    sizeof(text)) == -1 || kind == TLSPROXY_NOCERT) {
		str_copy_trunc(err, "pombo-tlsd: an answer not understood",
		    errlen);
		return -1;
	}
	if (kind == TLSPROXY_ERR) {
		str_copy_trunc(err, text, errlen);
		return -1;
	}
	str_copy_trunc(desc, text, desclen);
	return 0;
}

int
tlshandover_adopt(int pfd, int rfd, int wfd)
{
	struct stat c, e;
	int null;

	if (fstat(rfd, &c) == -1)
		return -1;
	/* fd 2 under inetd is the client's socket too */
	if (rfd != 2 && wfd != 2 && fstat(2, &e) == 0 &&
	    e.st_dev == c.st_dev && e.st_ino == c.st_ino) {
		if ((null = open("/dev/null", O_RDWR)) == -1)
			return -1;
		if (null != 2) {
			if (dup2(null, 2) == -1)
				return -1;
			close(null);
		}
	}
	if (dup2(pfd, rfd) == -1 || (wfd != rfd && dup2(pfd, wfd) == -1))
		return -1;
	close(pfd);
	return 0;
}
