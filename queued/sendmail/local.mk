# pombo-sendmail: the /usr/sbin/sendmail interface for local programs.
noinst_LIBRARIES += queued/sendmail/libsendmail.a
queued_sendmail_libsendmail_a_SOURCES = queued/sendmail/sendmail.c \
	queued/sendmail/sendmail.h queued/sendmail/options.c \
	queued/sendmail/options.h queued/sendmail/admin.c \
	queued/sendmail/admin.h

sbin_PROGRAMS += queued/pombo-sendmail
queued_pombo_sendmail_SOURCES = queued/sendmail/main.c
queued_pombo_sendmail_LDADD = queued/sendmail/libsendmail.a shared/libpombo.a
