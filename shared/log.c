/*
 * log: one place that formats log lines, for syslog and optionally stderr.
 * LOG_MAIL facility, as admins grep mail.log / journalctl -t for it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "str.h"

static int log_stderr;
static int log_debugging;
static int log_file_flags = O_CREAT;	/* for log_path */
static const char *log_ident = "pombo";
static char *log_path;		/* NULL: none (a PATH_MAX array here cost
				   every handler a page fault) */
static int log_fd = -1;

/*
 * Is stderr the journal (systemd's JOURNAL_STREAM names its device and
 * inode)? Then syslog already reaches it: a second copy of every line
 * would only double the journal.
 */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/*
 * With no syslog socket (a container, a test box), glibc's syslog tries
 * to connect for every line: socket, connect, close, a third of a
 * handler's system calls a message. Look for the socket once a second
 * instead, per thread (queued logs from more than one). A socket file
 * that nobody listens on (a syslog daemon stopped) is none either: the
 * lines would vanish as surely. The price: for up to a second after a
 * syslog daemon (re)creates the socket, lines go only where stderr and
 * log_file go.
 */
int
log_syslog_there(void)
{
	static _Thread_local time_t checked;
	static _Thread_local int there;
	struct sockaddr_un sun;
	time_t now = time(NULL);
	int fd;

	if (now == checked)
		return there;
	checked = now;
	there = 0;
	if (access(_PATH_LOG, F_OK) == -1)
		return there;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	str_copy_trunc(sun.sun_path, _PATH_LOG, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return there = 1;	/* cannot tell: let syslog try */
	/* a stream socket (some daemons') is there too: EPROTOTYPE */
	there = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ||
	    (errno != ECONNREFUSED && errno != ENOENT);
	close(fd);
	return there;
}

void
log_set_file(const char *path)
{
	if (log_path != NULL && strcmp(path, log_path) == 0)
		return;
	if (log_fd != -1) {
		close(log_fd);
		log_fd = -1;
	}
	free(log_path);
	/* out of memory: no file, as for an empty path */
	log_path = path[0] != '\0' ? strdup(path) : NULL;
	log_file_flags = O_CREAT;
}

void
log_set_file_existing(const char *path)
{
	log_set_file(path);
	/* not a link put there, nor a FIFO that would hold the write */
	log_file_flags = O_NOFOLLOW | O_NONBLOCK;
}

/*
 * Apart (noinline): inlined, its line buffer made every log call's frame
 * 2 KB deeper, a stack page fault of every handler whatever the log
 * went to (issue 19).
 *
 * A line as a syslog daemon writes it to a file ("Dec  2 06:13:02 host
 * pombo/smtpd[123]: text"), so grep, logwatch and fail2ban read it as
 * they read mail.log. One write(2) per line on an O_APPEND descriptor:
 * the handlers of concurrent connections do not mix their lines.
 */
static void __attribute__((noinline))
log_to_file(const char *msg)
{
	static char host[256];
	char line[2300], stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	if (log_fd == -1) {
		log_fd = open(log_path, O_WRONLY | O_APPEND | log_file_flags |
		    O_CLOEXEC | O_NOCTTY, 0660);
		if (log_fd == -1)
			return;		/* nowhere to say so, either */
	}
	if (host[0] == '\0') {
		if (gethostname(host, sizeof(host)) == -1)
			str_copy_trunc(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, ".")] = '\0'; /* as syslog daemons write it */
	}
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s %s %s[%ld]: %s", stamp, host,
	    log_ident, (long)getpid(), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)write(log_fd, line, (size_t)n);
}

#ifdef POMBO_STATIC_SMTPD
/*
 * musl's syslog(3) stamps its lines in UTC (gmtime): a syslog daemon
 * that keeps the sender's time (syslog-ng's default, forwarding) put
 * smtpd's lines hours away from queued's. So the static smtpd sends
 * the line glibc's would send, in local time, itself.
 */
static int syslog_fd = -1;

static void __attribute__((noinline))
log_to_syslog(int pri, const char *msg)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char line[2304], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int n, i;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "<%d>%s %s[%d]: %s",
	    LOG_MAIL | LOG_PRI(pri), stamp, log_ident, (int)getpid(), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	str_copy_trunc(sun.sun_path, _PATH_LOG, sizeof(sun.sun_path));
	/* a second try on a new socket: the daemon may have restarted */
	for (i = 0; i < 2; i++) {
		if (syslog_fd == -1 && ((syslog_fd = socket(AF_UNIX,
		    SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
		    connect(syslog_fd, (struct sockaddr *)&sun,
		    sizeof(sun)) == -1)) {
			if (syslog_fd != -1)
				close(syslog_fd);
			syslog_fd = -1;
			return;
		}
		if (send(syslog_fd, line, (size_t)n, 0) != -1)
			return;
		close(syslog_fd);
		syslog_fd = -1;
	}
}
#else
#define log_to_syslog(pri, msg)	syslog((pri), "%s", (msg))
#endif

void
log_init(const char *ident, int to_stderr)
{
	log_ident = ident;
	log_stderr = to_stderr && !stderr_is_journal();
	/*
	 * Not LOG_NDELAY: syslog(3) connects at the first line, which
	 * log_emit sends only once the socket is known to be there; a
	 * connect at start cost a handler socket, connect and close
	 * where there is none (issue 19).
	 */
	openlog(ident, LOG_PID, LOG_MAIL);
}

void
log_set_debug(int on)
{
	log_debugging = on;
}

int
log_debug_on(void)
{
	return log_debugging;
}

void
log_agent_args(int argc, char *argv[])
{
	log_debugging = argc > 1 && strcmp(argv[1], "-d") == 0;
}

static void
log_emit(int pri, const char *fmt, va_list ap, int with_errno)
{
	char msg[2048], *p;
	int saved = errno;
	int syslog_there = log_syslog_there();
	int n;

	/* nowhere to go (no syslog socket, no log_file): no formatting */
	if (!syslog_there && log_path == NULL && !log_stderr) {
		errno = saved;
		return;
	}
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0) {
		errno = saved;
		return;
	}
	if (with_errno && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s",
		    strerror(saved));
	/*
	 * One entry, one line, and nothing for a terminal to run: what a
	 * peer said (a web server's content type, a certificate's text)
	 * may carry CR, LF or escape sequences to any sink, file or not.
	 */
	for (p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
		/* and the C1 controls in UTF-8 (U+0080-U+009F: a CSI is
		 * U+009B), which an SMTPUTF8 address may carry */
		else if ((unsigned char)p[0] == 0xc2 &&
		    (unsigned char)p[1] >= 0x80 && (unsigned char)p[1] <= 0x9f) {
			p[0] = p[1] = '?';
			p++;
		}
	if (syslog_there)
		log_to_syslog(pri, msg);
	else if (log_path != NULL)
		log_to_file(msg);
	if (log_stderr)
		fprintf(stderr, "%s: %s\n", log_ident, msg);
	errno = saved;
}

#define LOG_BODY(pri, with_errno) do {			\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_emit(pri, fmt, ap, with_errno);		\
	va_end(ap);					\
} while (0)

void log_warn(const char *fmt, ...) { LOG_BODY(LOG_WARNING, 1); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_WARNING, 0); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_INFO, 0); }

void
log_debug(const char *fmt, ...)
{
	if (log_debugging)
		LOG_BODY(LOG_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 0);
	exit(1);
}

const char *
log_text(const char *in, char *out, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return "";
	for (; *in; in++) {
		const char *esc = *in == '<' ? "%3C" : *in == '>' ? "%3E" :
		    *in == '%' ? "%25" : NULL;
		size_t n = esc ? 3 : 1;
		if (o + n >= len)
			break;
		if (esc)
			memcpy(out + o, esc, 3);
		else if ((unsigned char)*in < 0x20 || *in == 0x7f)
			out[o] = '?';	/* one line: a filter's text is anything */
		else
			out[o] = *in;
		o += n;
	}
	out[o] = '\0';
	return out;
}
