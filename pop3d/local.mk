# pop3d: the POP3 handler (RFC 1939); logic in a library the tests link.
noinst_LIBRARIES += pop3d/libpop3d.a
pop3d_libpop3d_a_SOURCES = \
	pop3d/auth.c pop3d/commands.c pop3d/dirscan.c pop3d/dirscan.h \
	pop3d/mailbox.c pop3d/mailbox.h \
	pop3d/pop3d.h pop3d/session.c pop3d/stls.c pop3d/transfer.c \
	pop3d/transfer.h

pkglibexec_PROGRAMS += pop3d/pop3d
pop3d_pop3d_SOURCES = pop3d/main.c
pop3d_pop3d_LDADD = pop3d/libpop3d.a shared/libpassword.a \
	shared/libpombo.a

dist_man_MANS += pop3d/pop3d.8
