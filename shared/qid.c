/*
 * qid: encode/decode of ids. The alphabet is in ASCII order, so string
 * order is time order.
 */
#include "config.h"

#include <string.h>
#include <sys/time.h>

#include "qid.h"

static const char qid_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
static uint64_t qid_last;

static int
qid_digit(char c)
{
	const char *p = strchr(qid_alphabet, c);

	return (c && p) ? (int)(p - qid_alphabet) : -1;
}

static uint64_t
qid_decode(const char *s)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < QID_LEN; i++)
		v = (v << 5) | (uint64_t)qid_digit(s[i]);
	return v;
}

void
qid_new(char out[QID_LEN + 1])
{
	struct timeval tv;
	uint64_t us;
	int i;

	gettimeofday(&tv, NULL);
	us = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
	if (us <= qid_last)
		us = qid_last + 1;	/* the clock stood still or went back */
	qid_last = us;
	for (i = QID_LEN - 1; i >= 0; i--) {
		out[i] = qid_alphabet[us & 31];
		us >>= 5;
	}
	out[QID_LEN] = '\0';
}

void
qid_seed(const char *last)
{
	uint64_t v;

	if (!qid_valid(last))
		return;
	v = qid_decode(last);
	if (v > qid_last)
		qid_last = v;
}

int
qid_valid(const char *s)
{
	int i;

	for (i = 0; i < QID_LEN; i++)
		if (qid_digit(s[i]) == -1)
			return 0;
	return s[QID_LEN] == '\0';
}

int64_t
qid_time(const char *s)
{
	return (int64_t)(qid_decode(s) / 1000000);
}
