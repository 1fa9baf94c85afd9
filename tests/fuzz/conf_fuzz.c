/*
 * conf_fuzz: pombo.conf (shared/conf.c), which every program reads at
 * start; an admin's typo must be an error naming file:line, never a
 * crash or a half-set value. The input is the file; its first line is
 * also given to the size and duration parsers.
 * Invariants: an error names "fuzz.conf:"; an accepted file leaves every
 * value within the bounds its key allows; a size is read exactly, or
 * refused, never wrapped around.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"

static int
lower(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return 0;
	return 1;
}

/* A size as conf_parse_size must read it: digits, an optional k/M/G
 * (and a B after it), at most 2^50 octets (1 PiB) in all; computed in
 * 128 bits, so nothing wraps. */
static int
ref_size(const char *s, uint64_t *out)
{
	unsigned __int128 v = 0, mul = 1;

	if (*s < '0' || *s > '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > (UINT64_C(1) << 50))
			return 0;
	}
	if (*s == 'k' || *s == 'K')
		mul = 1000;
	else if (*s == 'm' || *s == 'M')
		mul = 1000 * 1000;
	else if (*s == 'g' || *s == 'G')
		mul = 1000 * 1000 * 1000;
	if (mul > 1 && (*++s == 'b' || *s == 'B'))
		s++;	/* "kB", "MB", "GB"; a B alone is no unit */
	if (*s != '\0' || v * mul > (UINT64_C(1) << 50))
		return 0;
	*out = (uint64_t)(v * mul);
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	struct conf_error err;
	char *text, *line;
	size_t i;
	unsigned d;
	uint64_t sz, want;
	int size_ok;

	text = malloc(size ? size : 1);
	memcpy(text, data, size);
	conf_defaults(&c);
	err.msg[0] = '\0';
	if (conf_parse(&c, text, size, "fuzz.conf", &err) == -1) {
		FUZZ_ASSERT(strncmp(err.msg, "fuzz.conf", 9) == 0);
		FUZZ_ASSERT(strlen(err.msg) < sizeof(err.msg));
	} else {
		FUZZ_ASSERT(c.hostname[0] == '\0' ||
		    addr_domain_valid(c.hostname, strlen(c.hostname), 0));
		FUZZ_ASSERT(lower(c.hostname));
		FUZZ_ASSERT(c.n_local_domains <= CONF_LIST_MAX &&
		    c.n_relay_networks <= CONF_LIST_MAX &&
		    c.n_dns_servers <= CONF_LIST_MAX);
		for (i = 0; i < c.n_local_domains; i++)
			FUZZ_ASSERT(addr_domain_valid(c.local_domains[i],
			    strlen(c.local_domains[i]), 0) &&
			    lower(c.local_domains[i]));
		for (i = 0; i < c.n_relay_networks; i++)
			FUZZ_ASSERT(c.relay_networks[i].prefix >= 0 &&
			    c.relay_networks[i].prefix <= 128);
		FUZZ_ASSERT(c.spool_dir[0] == '/' && c.mail_root[0] == '/' &&
		    c.users_file[0] == '/' && c.aliases_file[0] == '/' &&
		    c.queue_socket[0] == '/');
		FUZZ_ASSERT(c.max_recipients >= 100 &&
		    c.max_recipients <= 1000000);
		FUZZ_ASSERT(c.max_errors >= 1 && c.max_errors <= 1000);
		FUZZ_ASSERT(c.smtp_timeout >= 1 && c.pop3_timeout >= 1 &&
		    c.retry_interval >= 1 && c.queue_lifetime >= 1);
		FUZZ_ASSERT(c.smtp_timeout <= 0x7fffffff &&
		    c.queue_lifetime <= 0x7fffffff);
		FUZZ_ASSERT(c.remote_port >= 1 && c.remote_port <= 65535);
		FUZZ_ASSERT(c.max_message_size <= UINT64_C(1) << 50 &&
		    c.min_free_space <= UINT64_C(1) << 50);
		FUZZ_ASSERT(c.enable_vrfy == 0 || c.enable_vrfy == 1);
		FUZZ_ASSERT(strchr(c.recipient_delimiter, '@') == NULL);
		(void)conf_is_local_domain(&c, "example.test");
	}
	conf_free(&c);
	free(text);
	line = fuzz_cstrn(data, size);
	if (conf_parse_duration(line, &d) == 0)
		FUZZ_ASSERT(d <= 0x7fffffff);
	size_ok = ref_size(line, &want);
	FUZZ_ASSERT((conf_parse_size(line, &sz) == 0) == size_ok);
	if (size_ok)
		FUZZ_ASSERT(sz == want);
	free(line);
	return 0;
}
