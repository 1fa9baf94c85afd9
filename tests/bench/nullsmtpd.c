/*
 * nullsmtpd: the benchmark's ceiling for one message a session. An SMTP
 * handler on fd 0/1 that answers every command and stores nothing; it
 * is spawned per connection exactly as smtpd is, and linked as smtpd is
 * (libc only), so its rate is what exec per connection leaves on this
 * machine before any real work. Bench only: never installed.
 *
 * Runs as: whoever the bench runs. May touch: the count file named by
 * its one argument (one octet appended per message). Trusts: nothing;
 * lines are read into a fixed buffer and overlong ones cut.
 */
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static char	 in[16384];
static size_t	 inlen;

/* The next line (through LF) into line, cut to size-1 octets; 0 at EOF. */
static int
read_line(char *line, size_t size)
{
	char *nl;
	size_t n, take;
	ssize_t r;

	while ((nl = memchr(in, '\n', inlen)) == NULL) {
		if (inlen == sizeof(in))
			inlen = 0;	/* overlong: drop what we have */
		if ((r = read(0, in + inlen, sizeof(in) - inlen)) <= 0)
			return 0;
		inlen += (size_t)r;
	}
	n = (size_t)(nl - in) + 1;
	take = n < size ? n : size - 1;
	memcpy(line, in, take);
	line[take] = '\0';
	memmove(in, in + n, inlen - n);
	inlen -= n;
	return 1;
}

static void
say(const char *reply)
{
	(void)write(1, reply, strlen(reply));
}

int
main(int argc, char *argv[])
{
	char line[1024];
	int count = -1;

	if (argc > 1)
		count = open(argv[1], O_WRONLY | O_APPEND | O_CLOEXEC);
	say("220 null ESMTP\r\n");
	while (read_line(line, sizeof(line))) {
		if (strncasecmp(line, "QUIT", 4) == 0) {
			say("221 bye\r\n");
			break;
		}
		if (strncasecmp(line, "DATA", 4) != 0) {
			say("250 ok\r\n");
			continue;
		}
		say("354 go on\r\n");
		do {
			if (!read_line(line, sizeof(line)))
				return 0;
		} while (strcmp(line, ".\r\n") != 0);
		if (count != -1)
			(void)write(count, ".", 1);
		say("250 ok\r\n");
	}
	return 0;
}
