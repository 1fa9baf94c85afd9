# queued: the daemon that owns the spool; logic in libqueued for tests.
noinst_LIBRARIES += queued/libqueued.a
queued_libqueued_a_SOURCES = \
	queued/agent.c queued/agent.h \
	queued/bounce.c queued/bounce.h \
	queued/commit.c queued/commit.h \
	queued/conn.c queued/conn.h \
	queued/dns.c queued/dns.h \
	queued/envelope.c queued/envelope.h \
	queued/inject.c queued/inject.h \
	queued/job.c queued/job.h \
	queued/listener.c queued/listener.h \
	queued/local.c queued/local.h \
	queued/mime8.c queued/mime8.h \
	queued/policy.c queued/policy.h \
	queued/prefetch.c queued/prefetch.h \
	queued/qtool.c queued/qtool.h \
	queued/queue.c queued/queue.h \
	queued/recipients.c queued/recipients.h \
	queued/remote.c queued/remote.h \
	queued/retry.c queued/retry.h \
	queued/sched.c queued/sched.h \
	queued/sendmail.c queued/sendmail.h \
	queued/smtpc.c queued/smtpc.h \
	queued/spool.c queued/spool.h
queued_libqueued_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(CARES_CFLAGS)

pkglibexec_PROGRAMS += queued/queued
queued_queued_SOURCES = queued/main.c
queued_queued_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
queued_queued_LDADD = queued/libqueued.a shared/libpombo.a $(SYSTEMD_LIBS) -lpthread
EXTRA_DIST += queued/SPOOL.md

pkglibexec_PROGRAMS += queued/pombo-local
queued_pombo_local_SOURCES = queued/local_main.c
queued_pombo_local_LDADD = queued/libqueued.a shared/libpombo.a

sbin_PROGRAMS += queued/pombo-queue
queued_pombo_queue_SOURCES = queued/pombo_queue.c
queued_pombo_queue_LDADD = queued/libqueued.a shared/libpombo.a

sbin_PROGRAMS += queued/pombo-sendmail
queued_pombo_sendmail_SOURCES = queued/sendmail_main.c
queued_pombo_sendmail_LDADD = queued/libqueued.a shared/libpombo.a

pkglibexec_PROGRAMS += queued/pombo-remote
queued_pombo_remote_SOURCES = queued/remote_main.c
queued_pombo_remote_LDADD = queued/libqueued.a shared/libpombo.a $(CARES_LIBS)
