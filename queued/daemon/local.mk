# queued: the daemon that owns the spool; its logic in a library the tests link.
noinst_LIBRARIES += queued/daemon/libqueued.a
queued_daemon_libqueued_a_SOURCES = \
	queued/daemon/agent.c queued/daemon/agent.h \
	queued/daemon/bounce.c queued/daemon/bounce.h \
	queued/daemon/commit.c queued/daemon/commit.h \
	queued/daemon/conn.c queued/daemon/conn.h \
	queued/daemon/connpoll.c queued/daemon/connpoll.h \
	queued/daemon/delegate.c queued/daemon/delegate.h \
	queued/daemon/inject.c queued/daemon/inject.h \
	queued/daemon/intact.c queued/daemon/intact.h \
	queued/daemon/journal.c queued/daemon/journal.h \
	queued/daemon/listener.c queued/daemon/listener.h \
	queued/daemon/milter.c queued/daemon/milter.h \
	queued/daemon/milter_edit.c queued/daemon/milter_edit.h \
	queued/daemon/milter_proto.c queued/daemon/milter_proto.h \
	queued/daemon/policy.c queued/daemon/policy.h \
	queued/daemon/prefetch.c queued/daemon/prefetch.h \
	queued/daemon/queue.c queued/daemon/queue.h \
	queued/daemon/recipients.c queued/daemon/recipients.h \
	queued/daemon/retry.c queued/daemon/retry.h \
	queued/daemon/sched.c queued/daemon/sched.h \
	queued/daemon/spool.c queued/daemon/spool.h \
	queued/daemon/stats.c queued/daemon/stats.h \
	queued/daemon/tlsrpt.c queued/daemon/tlsrpt.h \
	queued/daemon/verify.c queued/daemon/verify.h \
	queued/daemon/filter.c queued/daemon/filter.h
queued_daemon_libqueued_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(ZLIB_CFLAGS)

pkglibexec_PROGRAMS += queued/queued
queued_queued_SOURCES = queued/daemon/main.c
queued_queued_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
queued_queued_LDADD = queued/daemon/libqueued.a shared/libdkim.a \
	shared/libpombo.a $(SYSTEMD_LIBS) $(LIBCRYPTO_LIBS) $(ZLIB_LIBS) -lpthread
EXTRA_DIST += queued/SPOOL.md
