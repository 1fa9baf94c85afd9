# smtpd: the SMTP handler; its logic is a library the tests link.
noinst_LIBRARIES += smtpd/libsmtpd.a
smtpd_libsmtpd_a_SOURCES = \
	smtpd/auth.c smtpd/commands.c smtpd/data.c smtpd/data.h \
	smtpd/session.c smtpd/smtpd.h smtpd/starttls.c smtpd/submit.c

pkglibexec_PROGRAMS += smtpd/smtpd
smtpd_smtpd_SOURCES = smtpd/main.c
smtpd_smtpd_LDADD = smtpd/libsmtpd.a shared/libpassword.a shared/libpombo.a
