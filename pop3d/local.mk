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

# Tests: unit tests of the library, scripted sessions over prepared
# Maildirs (tests/sessions/run-session), real POP3 clients over TCP.
# Session files are named pop3-*: a test's .log and .trs drop the
# extension, so basic.pop3 and basic.smtp would share one log.
pop3_unit_tests = \
	tests/unit/pop3_dirscan_test tests/unit/pop3_mailbox_test \
	tests/unit/pop3_session_test tests/unit/pop3_transfer_test
check_PROGRAMS += $(pop3_unit_tests)
TESTS += $(pop3_unit_tests)
POP3_UNIT_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/pop3d
POP3_UNIT_LIBS = pop3d/libpop3d.a $(UNIT_LIBS) shared/libpassword.a
tests_unit_pop3_dirscan_test_CFLAGS = $(POP3_UNIT_CFLAGS)
tests_unit_pop3_dirscan_test_LDADD = $(POP3_UNIT_LIBS)
tests_unit_pop3_mailbox_test_CFLAGS = $(POP3_UNIT_CFLAGS)
tests_unit_pop3_mailbox_test_LDADD = $(POP3_UNIT_LIBS)
tests_unit_pop3_session_test_CFLAGS = $(POP3_UNIT_CFLAGS)
tests_unit_pop3_session_test_LDADD = $(POP3_UNIT_LIBS)
tests_unit_pop3_transfer_test_CFLAGS = $(POP3_UNIT_CFLAGS)
tests_unit_pop3_transfer_test_LDADD = $(POP3_UNIT_LIBS)

pop3_session_tests = \
	tests/sessions/pop3-auth-authzid.pop3 \
	tests/sessions/pop3-auth-domains.pop3 \
	tests/sessions/pop3-auth-failures.pop3 \
	tests/sessions/pop3-auth-long.pop3 \
	tests/sessions/pop3-auth.pop3 \
	tests/sessions/pop3-bad-users.pop3 \
	tests/sessions/pop3-basic.pop3 \
	tests/sessions/pop3-config-error.pop3 \
	tests/sessions/pop3-drop.pop3 \
	tests/sessions/pop3-empty.pop3 \
	tests/sessions/pop3-foreign.pop3 \
	tests/sessions/pop3-inuse.pop3 \
	tests/sessions/pop3-longline.pop3 \
	tests/sessions/pop3-numbers.pop3 \
	tests/sessions/pop3-plaintext-allowed.pop3 \
	tests/sessions/pop3-plaintext.pop3 \
	tests/sessions/pop3-stls-nocert.pop3 \
	tests/sessions/pop3-retr.pop3 \
	tests/sessions/pop3-states.pop3 \
	tests/sessions/pop3-timeout.pop3 \
	tests/sessions/pop3-unreadable.pop3 \
	tests/sessions/pop3-sasl.pop3 \
	tests/sessions/pop3-update.pop3 \
	tests/sessions/pop3-usage.pop3
TESTS += $(pop3_session_tests)

pop3_integration_tests = tests/integration/pop3_clients_test.py \
	tests/integration/pop3_delivery_test.py \
	tests/integration/pop3_dovecot_test.py \
	tests/integration/pop3_privileges_test.py \
	tests/integration/pop3_renamed_test.py \
	tests/integration/pop3_tls_test.py
TESTS += $(pop3_integration_tests)

EXTRA_DIST += $(pop3_session_tests) $(pop3_integration_tests)
