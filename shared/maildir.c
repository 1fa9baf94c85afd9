/*
 * maildir: the FNV-1a hash makes the per-recipient part of a name (and
 * UIDLs too long for RFC 1939); it need not be secret, only stable.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "maildir.h"
#include "qid.h"
#include "str.h"

uint64_t
maildir_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)tolower((unsigned char)*s);
		h *= 0x100000001b3ULL;
	}
	return h;
}

int
maildir_unique(char *buf, size_t len, int64_t time, const char *qid,
    const char *rcpt, const char *host)
{
	return str_fmt(buf, len, "%lld.%s_%016" PRIx64 ".%s", (long long)time,
	    qid, maildir_hash(rcpt), host) == -1 ? -1 : 0;
}

int
maildir_name(char *buf, size_t len, const char *unique, uint64_t size,
    uint64_t wsize)
{
	if (len > MAILDIR_NAME_MAX + 1)
		len = MAILDIR_NAME_MAX + 1;
	return str_fmt(buf, len, "%s,S=%" PRIu64 ",W=%" PRIu64, unique, size,
	    wsize) == -1 ? -1 : 0;
}

static int
parse_num(const char *p, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = p;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p - s > 20)
		return -1;
	*end = p;
	*out = v;
	return 0;
}

/* "<time>.<qid>_<16 hex>.<host>", as maildir_unique makes it, in n octets */
static int
unique_is_ours(const char *s, size_t n)
{
	char qid[QID_LEN + 1];
	size_t i = 0, j;

	while (i < n && isdigit((unsigned char)s[i]))
		i++;
	if (i == 0 || i > 20 || n - i < 1 + QID_LEN + 1 + 16 + 2 ||
	    s[i] != '.')
		return 0;
	memcpy(qid, s + i + 1, QID_LEN);
	qid[QID_LEN] = '\0';
	i += 1 + QID_LEN;
	if (!qid_valid(qid) || s[i++] != '_')
		return 0;
	for (j = 0; j < 16; j++, i++)
		if (!isdigit((unsigned char)s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return 0;
	return s[i] == '.';	/* and a host name, at least one octet */
}

int
maildir_parse_name(const char *name, struct maildir_info *out)
{
	const char *p, *colon;
	size_t n = strlen(name);

	memset(out, 0, sizeof(*out));
	if (n == 0 || n > MAILDIR_NAME_MAX || name[0] == '.' ||
	    strchr(name, '/') != NULL)
		return -1;
	out->baselen = strcspn(name, ",:");
	if (out->baselen == 0)
		return -1;
	colon = strchr(name, ':');
	/* ,key=value fields between the unique part and the info */
	for (p = name + out->baselen; *p == ',';) {
		const char *end;
		uint64_t v;
		if ((p[1] == 'S' || p[1] == 'W') && p[2] == '=' &&
		    parse_num(p + 3, &end, &v) == 0 && (*end == ',' ||
		    *end == ':' || *end == '\0')) {
			if (p[1] == 'S') {
				out->size = v;
				out->has_size = 1;
			} else {
				out->wsize = v;
				out->has_wsize = 1;
			}
			p = end;
			continue;
		}
		p += 1 + strcspn(p + 1, ",:");	/* a field we do not know */
	}
	out->ours = out->has_size && out->has_wsize &&
	    unique_is_ours(name, out->baselen);
	if (colon != NULL) {
		if (strncmp(colon, ":2,", 3) != 0)
			return colon[1] == '1' ? 0 : -1;	/* experimental */
		/*
		 * Only the first flags are kept: a message with more (other
		 * readers' keyword letters, or pop3d's own S added to them)
		 * is still a message, not a name to skip.
		 */
		str_copy_trunc(out->flags, colon + 3, sizeof(out->flags));
	}
	return 0;
}

void
maildir_uidl(const char *name, char out[MAILDIR_UIDL_MAX + 1])
{
	size_t n = strcspn(name, ",:"), i;
	char base[MAILDIR_NAME_MAX + 1];
	int ok = n > 0 && n <= MAILDIR_UIDL_MAX;

	for (i = 0; ok && i < n; i++)
		if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e)
			ok = 0;
	if (ok) {
		memcpy(out, name, n);
		out[n] = '\0';
		return;
	}
	if (n > MAILDIR_NAME_MAX)
		n = MAILDIR_NAME_MAX;
	memcpy(base, name, n);
	base[n] = '\0';
	snprintf(out, MAILDIR_UIDL_MAX + 1, "h%016" PRIx64, maildir_hash(base));
}

int
maildir_path(char *buf, size_t len, const char *mail_root, const char *domain,
    const char *local)
{
	return str_fmt(buf, len, "%s/%s/%s", mail_root, domain, local) == -1 ?
	    -1 : 0;
}

static int
mkdir_p(char *path, mode_t mode)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) == -1 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return mkdir(path, mode) == -1 && errno != EEXIST ? -1 : 0;
}

int
maildir_create(const char *dir)
{
	static const char *subs[] = { "cur", "new", "tmp" };
	char path[4096];
	struct stat st;
	size_t i;

	for (i = 0; i < 3; i++) {
		if (str_fmt(path, sizeof(path), "%s/%s", dir, subs[i]) == -1)
			return -1;
		if (mkdir_p(path, 0700) == -1)
			return -1;
		/*
		 * A symbolic link here (to another user's Maildir, out of
		 * mail_root) would take the mail there: a Maildir's own
		 * folders are folders, or it is no Maildir to write.
		 */
		if (lstat(path, &st) == -1)
			return -1;
		if (!S_ISDIR(st.st_mode)) {
			errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
			return -1;
		}
	}
	return 0;
}
