# pombo-dkim: DKIM keys and the DNS records that go with them.
sbin_PROGRAMS += queued/pombo-dkim
queued_pombo_dkim_SOURCES = queued/dkim/main.c
queued_pombo_dkim_CFLAGS = $(AM_CFLAGS) $(CARES_CFLAGS) \
	-I$(top_srcdir)/queued/remote
queued_pombo_dkim_LDADD = queued/remote/libremote.a shared/libdkim.a \
	shared/libpombo.a $(CARES_LIBS) $(LIBCRYPTO_LIBS)
