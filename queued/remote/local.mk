# pombo-remote: the remote delivery agent (MX lookup, SMTP client).
noinst_LIBRARIES += queued/remote/libremote.a
queued_remote_libremote_a_SOURCES = \
	queued/remote/dns.c queued/remote/dns.h \
	queued/remote/dane.c queued/remote/dane.h \
	queued/remote/dnswire.c queued/remote/dnswire.h \
	queued/remote/mtasts.c queued/remote/mtasts.h \
	queued/remote/remote.c queued/remote/remote.h \
	queued/remote/resolve.c queued/remote/resolve.h \
	queued/remote/smtpc.c queued/remote/smtpc.h
queued_remote_libremote_a_CFLAGS = $(AM_CFLAGS) $(CARES_CFLAGS) \
	$(UNBOUND_CFLAGS) $(CURL_CFLAGS)

pkglibexec_PROGRAMS += queued/pombo-remote
queued_pombo_remote_SOURCES = queued/remote/main.c
queued_pombo_remote_LDADD = queued/remote/libremote.a shared/libdkim.a \
	shared/libpombo.a $(UNBOUND_LIBS) \
	$(LIBCRYPTO_LIBS)
