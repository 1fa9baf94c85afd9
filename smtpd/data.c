/*
 * data: the states are named by the bytes they have seen. Errors do not
 * stop the machine: the end of data must still be found (CRLF "." CRLF and
 * nothing else on a socket), so a rejected message is never split into a
 * second one. Once an error is seen nothing more is emitted.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "data.h"

static void data_error(struct data_machine *dm, unsigned err);

void
data_init(struct data_machine *dm, int lf_ends_lines, uint64_t max_size)
{
	memset(dm, 0, sizeof(*dm));
	dm->state = DS_BOL;
	dm->lf_ends_lines = lf_ends_lines;
	dm->max_size = max_size;
	dm->in_header = 1;
}

static void
emit(struct data_machine *dm, char c, char *out, size_t *o)
{
	if (dm->in_header && dm->linelen < sizeof(dm->head))
		dm->head[dm->linelen] = c;
	dm->linelen++;
	if (dm->errors)
		return;
	/* LF is CRLF as transmitted (RFC 1870 3) */
	dm->wire_size += c == '\n' ? 2 : 1;
	if (dm->wire_size > dm->max_size) {
		data_error(dm, DATA_ERR_TOO_BIG);
		return;
	}
	dm->size++;
	out[(*o)++] = c;
}

/*
 * The octets of a line up to its CR or LF, in one go: a message is
 * mostly these, and emit() one octet at a time was most of smtpd's own
 * CPU for a large one. Same effect as emit() for each: the header line
 * kept, the line and the size counted, nothing out after an error.
 */
static size_t
emit_run(struct data_machine *dm, const char *in, size_t len, char *out,
    size_t *o)
{
	size_t n = 0, k;

	while (n < len && in[n] != '\r' && in[n] != '\n')
		n++;
	if (dm->in_header && dm->linelen < sizeof(dm->head)) {
		k = sizeof(dm->head) - dm->linelen;
		memcpy(dm->head + dm->linelen, in, n < k ? n : k);
	}
	dm->linelen += n;
	if (dm->errors)
		return n;
	/* no line end in a run: one octet here is one on the wire */
	if (dm->wire_size + n > dm->max_size) {
		k = dm->max_size > dm->wire_size ?
		    dm->max_size - dm->wire_size : 0;
		memmove(out + *o, in, k);
		*o += k;
		dm->size += k;
		dm->wire_size = dm->max_size + 1;
		data_error(dm, DATA_ERR_TOO_BIG);
		return n;
	}
	memmove(out + *o, in, n);
	*o += n;
	dm->size += n;
	dm->wire_size += n;
	return n;
}

/* A line ended: emit LF and look at the header line just finished. */
static void
end_line(struct data_machine *dm, char *out, size_t *o)
{
	if (dm->in_header) {
		if (dm->linelen == 0)
			dm->in_header = 0;	/* the empty line ends it */
		else if (dm->linelen >= 9 &&
		    strncasecmp(dm->head, "received:", 9) == 0 &&
		    ++dm->hops >= DATA_MAX_HOPS)
			data_error(dm, DATA_ERR_HOPS);
	}
	emit(dm, '\n', out, o);
	dm->linelen = 0;
	dm->state = DS_BOL;
}

static void
data_error(struct data_machine *dm, unsigned err)
{
	if (dm->errors == 0)
		dm->first_error = err;
	dm->errors |= err;
}

static void
bare(struct data_machine *dm, unsigned err)
{
	data_error(dm, err);
	dm->state = DS_TEXT;	/* never a line start: cannot end the data */
}

size_t
data_feed(struct data_machine *dm, const char *in, size_t len, char *out,
    size_t *outlen)
{
	size_t i, o = 0;

	for (i = 0; i < len && dm->state != DS_END; i++) {
		char c = in[i];

		switch (dm->state) {
		case DS_BOL:
			if (c == '.') {
				dm->state = DS_DOT;
				break;
			}
			/* FALLTHROUGH */
		case DS_TEXT:
			if (c == '\r')
				dm->state = DS_CR;
			else if (c == '\n') {
				if (dm->lf_ends_lines)
					end_line(dm, out, &o);
				else
					bare(dm, DATA_ERR_BARE_LF);
			} else {
				/* c is in the run (n >= 1): i++ takes its last */
				i += emit_run(dm, in + i, len - i, out, &o) - 1;
				dm->state = DS_TEXT;
			}
			break;
		case DS_DOT:
			if (c == '\r')
				dm->state = DS_DOTCR;
			else if (c == '\n') {
				if (dm->lf_ends_lines)
					dm->state = DS_END;
				else
					bare(dm, DATA_ERR_BARE_LF);
			} else {
				/* a stuffed dot: drop it, keep c (4.5.2) */
				emit(dm, c, out, &o);
				dm->state = DS_TEXT;
			}
			break;
		case DS_DOTCR:
			if (c == '\n')
				dm->state = DS_END;
			else {
				bare(dm, DATA_ERR_BARE_CR);
				i--;	/* c starts over inside the line */
			}
			break;
		case DS_CR:
			if (c == '\n')
				end_line(dm, out, &o);
			else {
				bare(dm, DATA_ERR_BARE_CR);
				i--;
			}
			break;
		case DS_END:
			break;
		}
	}
	*outlen = o;
	return i;
}
