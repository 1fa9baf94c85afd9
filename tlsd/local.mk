# pombo-tlsd: the handlers' TLS proxy, long-lived (issue 19): it links
# OpenSSL, which a handler only dlopens; its parts are a library the
# tests link.
noinst_LIBRARIES += tlsd/libtlsd.a
tlsd_libtlsd_a_SOURCES = tlsd/ctxcache.c tlsd/loop.c tlsd/session.c \
	tlsd/ticket.c tlsd/tlsd.h

pkglibexec_PROGRAMS += tlsd/pombo-tlsd
tlsd_pombo_tlsd_SOURCES = tlsd/main.c
tlsd_pombo_tlsd_LDADD = tlsd/libtlsd.a shared/libpombo.a $(OPENSSL_LIBS)

dist_man_MANS += tlsd/pombo-tlsd.8
