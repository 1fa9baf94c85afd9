# queued: the daemon that owns the spool; logic in libqueued for tests.
noinst_LIBRARIES += queued/libqueued.a
queued_libqueued_a_SOURCES = \
	queued/commit.c queued/commit.h \
	queued/conn.c queued/conn.h \
	queued/envelope.c queued/envelope.h \
	queued/policy.c queued/policy.h \
	queued/queue.c queued/queue.h \
	queued/spool.c queued/spool.h
queued_libqueued_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)

pkglibexec_PROGRAMS += queued/queued
queued_queued_SOURCES = queued/main.c
queued_queued_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
queued_queued_LDADD = queued/libqueued.a shared/libpombo.a $(SYSTEMD_LIBS) -lpthread
EXTRA_DIST += queued/SPOOL.md
