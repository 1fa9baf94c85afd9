/*
 * privdrop: supplementary groups first, then the gid, then the uid; the
 * order matters, since after setuid() nothing else can change.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "privdrop.h"
#include "str.h"

int
privdrop(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	if (geteuid() != 0 || user == NULL || *user == '\0')
		return 0;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		str_fmt_trunc(err, errlen, "user %s: %s", user, errno ?
		    strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		str_fmt_trunc(err, errlen, "user %s is root: refusing", user);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		str_fmt_trunc(err, errlen, "cannot become %s: %s", user,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || geteuid() == 0) {
		str_fmt_trunc(err, errlen, "could regain root after dropping to %s",
		    user);
		return -1;
	}
	return 0;
}
