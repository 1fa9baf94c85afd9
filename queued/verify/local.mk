# pombo-verify: the inbound checks (SPF, DKIM, DMARC) of a message from
# the Internet, run by queued at the end of DATA.
noinst_LIBRARIES += queued/verify/libverify.a
queued_verify_libverify_a_SOURCES = \
	queued/verify/dkimv.c queued/verify/dkimv.h \
	queued/verify/dmarc.c queued/verify/dmarc.h \
	queued/verify/result.h \
	queued/verify/spf.c queued/verify/spf.h
queued_verify_libverify_a_CFLAGS = $(AM_CFLAGS) $(CARES_CFLAGS) \
	$(OPENDKIM_CFLAGS)

pkglibexec_PROGRAMS += queued/pombo-verify
queued_pombo_verify_SOURCES = queued/verify/main.c
queued_pombo_verify_LDADD = queued/verify/libverify.a \
	queued/remote/libremote.a shared/libpombo.a \
	$(SPF2_LIBS) $(OPENDMARC_LIBS) $(CARES_LIBS) $(OPENDKIM_LIBS) \
	$(LIBCRYPTO_LIBS)
