/*
 * log: one place that formats log lines, for syslog and optionally stderr.
 * LOG_MAIL facility, as admins grep mail.log / journalctl -t for it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_stderr;
static int log_debugging;
static const char *log_ident = "pombo";

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
 * instead, per thread (queued logs from more than one). The price: for
 * up to a second after a syslog daemon (re)creates the socket, lines go
 * only where stderr goes.
 */
static int
syslog_there(void)
{
	static _Thread_local time_t checked;
	static _Thread_local int there;
	time_t now = time(NULL);

	if (now != checked) {
		checked = now;
		there = access(_PATH_LOG, F_OK) == 0;
	}
	return there;
}

void
log_init(const char *ident, int to_stderr)
{
	log_ident = ident;
	log_stderr = to_stderr && !stderr_is_journal();
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_debug(int on)
{
	log_debugging = on;
}

static void
log_emit(int pri, const char *fmt, va_list ap, int with_errno)
{
	char msg[2048];
	int saved = errno;
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (with_errno && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s",
		    strerror(saved));
	if (syslog_there())
		syslog(pri, "%s", msg);
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
