# pombo-local: the local delivery agent (a job on stdin, Maildirs).
noinst_LIBRARIES += queued/local/liblocal.a
queued_local_liblocal_a_SOURCES = queued/local/local.c queued/local/local.h

pkglibexec_PROGRAMS += queued/pombo-local
queued_pombo_local_SOURCES = queued/local/main.c
queued_pombo_local_LDADD = queued/local/liblocal.a shared/libpombo.a
