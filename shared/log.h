/*
 * log: syslog(3) logging and the two fatal helpers for every program.
 * Used by all of Pombo; handlers never write to stderr (under inetd it is
 * the client's socket), only queued and the tools may mirror to stderr;
 * without syslog, lines go to log_file if there is one.
 */
#ifndef POMBO_LOG_H
#define POMBO_LOG_H

#include <stdarg.h>

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* to_stderr: also copy every line to stderr (queued, command-line tools),
 * unless stderr is the journal, which syslog reaches anyway. */
void log_init(const char *ident, int to_stderr);
void log_set_debug(int on);
int log_debug_on(void);
/* In an agent queued started: debugging on if it was given -d (by
 * queued -d, log_debug_on). */
void log_agent_args(int argc, char *argv[]);
/*
 * path (the log_file key; "" for none): where lines go when no syslog
 * daemon takes them (no socket at _PATH_LOG, or nobody listening), in
 * the syslog file format, so an inetd or test setup without one still
 * has them. Opened at the first such line, as the user then.
 */
void log_set_file(const char *path);
/* The same, but only a file that is there, not through a symlink
 * (root writing where a configuration that did not load says). */
void log_set_file_existing(const char *path);
/* Does a syslog daemon listen at _PATH_LOG (looked at once a second)? */
int log_syslog_there(void);

/*
 * Free text in a log line that may echo an address (a server's reply,
 * "550 5.1.1 <a@b>: unknown"): '<' and '>' written as addr_encode does
 * ("%3C", "%3E"; '%' as "%25"), so no field "to=<...>" comes from it.
 * Addresses themselves go through addr_encode. Returns out (truncated
 * to len - 1 octets).
 */
const char *log_text(const char *in, char *out, size_t len);

void log_warn(const char *fmt, ...) PRINTF_LIKE(1, 2);	/* adds strerror(errno) */
void log_warnx(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_info(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_debug(const char *fmt, ...) PRINTF_LIKE(1, 2);
void fatal(const char *fmt, ...) PRINTF_LIKE(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) PRINTF_LIKE(1, 2) __attribute__((noreturn));

#endif
