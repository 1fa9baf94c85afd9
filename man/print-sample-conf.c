/*
 * print-sample-conf: writes pombo.conf.sample (every key, its default and
 * what it does) from the key table in shared/conf.c, at build time, so the
 * installed sample and the man page test can never drift from the code.
 * Not installed; trusts nothing but the table.
 */
#include "config.h"

#include <stdio.h>

#include "conf.h"

int
main(void)
{
	conf_print_sample(stdout);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("print-sample-conf");
		return 1;
	}
	return 0;
}
