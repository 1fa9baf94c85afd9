/*
 * cmdtab: lookup only; the protocols own their tables and dispatch.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "cmdtab.h"

const struct cmdtab *
cmdtab_find(const struct cmdtab *tab, char *line, char **arg)
{
	size_t vlen = strcspn(line, " ");

	*arg = line + vlen;
	if (**arg == ' ')
		(*arg)++;
	for (; tab->verb != NULL; tab++)
		if (strlen(tab->verb) == vlen &&
		    strncasecmp(tab->verb, line, vlen) == 0)
			break;
	return tab;
}
