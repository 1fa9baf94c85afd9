# libpombo: the code every program shares (parsers are pure, no I/O).
noinst_LIBRARIES += shared/libpombo.a
shared_libpombo_a_SOURCES = \
	shared/addr.c shared/addr.h \
	shared/authres.c shared/authres.h \
	shared/base64.c shared/base64.h \
	shared/aliases.c shared/aliases.h \
	shared/cidr.c shared/cidr.h \
	shared/cmdtab.c shared/cmdtab.h \
	shared/conf.c shared/conf.h \
	shared/crc32c.c shared/crc32c.h \
	shared/date.c shared/date.h \
	shared/dkimrec.c shared/dkimrec.h \
	shared/envelope.c shared/envelope.h \
	shared/esmtp.c shared/esmtp.h \
	shared/fileio.c shared/fileio.h \
	shared/handler.c shared/handler.h \
	shared/job.c shared/job.h \
	shared/lineio.c shared/lineio.h \
	shared/log.c shared/log.h \
	shared/maildir.c shared/maildir.h \
	shared/mime8.c shared/mime8.h \
	shared/mtasts_policy.c shared/mtasts_policy.h \
	shared/peer.c shared/peer.h \
	shared/policy_proto.c shared/policy_proto.h \
	shared/privdrop.c shared/privdrop.h \
	shared/qclient.c shared/qclient.h \
	shared/qid.c shared/qid.h \
	shared/qproto.c shared/qproto.h \
	shared/qtool.c shared/qtool.h \
	shared/rfc5322.c shared/rfc5322.h \
	shared/sockspec.c shared/sockspec.h \
	shared/status.c shared/status.h \
	shared/str.c shared/str.h \
	shared/tls.c shared/tls.h shared/tls_ciphers.h \
	shared/tlshandover.c shared/tlshandover.h \
	shared/tlsproxy.c shared/tlsproxy.h \
	shared/tlsrpt_rec.c shared/tlsrpt_rec.h \
	shared/users.c shared/users.h

# password checks need libcrypt: a library of their own, linked only by
# the programs that log users in
noinst_LIBRARIES += shared/libpassword.a
shared_libpassword_a_SOURCES = shared/login.c shared/login.h \
	shared/password.c shared/password.h

# DKIM keys and signing (OpenSSL): a library of their own,
# linked by queued (the key check alone), pombo-remote and pombo-dkim
noinst_LIBRARIES += shared/libdkim.a
shared_libdkim_a_SOURCES = shared/dkimkey.c shared/dkimkey.h \
	shared/dkimsign.c shared/dkimsign.h
shared_libdkim_a_CFLAGS = $(AM_CFLAGS)
