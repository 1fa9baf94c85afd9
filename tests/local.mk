# Tests: Criterion unit tests, scripted sessions, integration tests; all
# speak TAP through automake's tap-driver, one result line per check.
TEST_EXTENSIONS = .smtp .pop3 .py
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
LOG_COMPILER = $(top_srcdir)/tests/unit/tap-run
SMTP_LOG_DRIVER = $(LOG_DRIVER)
SMTP_LOG_COMPILER = $(PYTHON3) $(top_srcdir)/tests/sessions/run-session
POP3_LOG_DRIVER = $(LOG_DRIVER)
POP3_LOG_COMPILER = $(PYTHON3) $(top_srcdir)/tests/sessions/run-session
PY_LOG_DRIVER = $(LOG_DRIVER)
PY_LOG_COMPILER = $(PYTHON3)
AM_TESTS_ENVIRONMENT = top_builddir='$(abs_top_builddir)'; \
	top_srcdir='$(abs_top_srcdir)'; export top_builddir top_srcdir;

UNIT_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(CARES_CFLAGS) -I$(top_srcdir)/smtpd \
	-I$(top_srcdir)/queued/daemon -I$(top_srcdir)/queued/local \
	-I$(top_srcdir)/queued/remote -I$(top_srcdir)/queued/sendmail $(SYSTEMD_CFLAGS)
UNIT_LIBS = smtpd/libsmtpd.a queued/daemon/libqueued.a queued/local/liblocal.a \
	queued/remote/libremote.a queued/sendmail/libsendmail.a shared/libpassword.a \
	shared/libpombo.a $(CARES_LIBS) $(CRITERION_LIBS) \
	$(SYSTEMD_LIBS) \
	-lpthread

unit_tests = \
	tests/unit/addr_test tests/unit/aliases_test tests/unit/bounce_test \
	tests/unit/cidr_test tests/unit/conf_test tests/unit/data_test \
	tests/unit/dkim_test \
	tests/unit/envelope_test tests/unit/esmtp_test tests/unit/job_test \
	tests/unit/lineio_test tests/unit/maildir_test tests/unit/mime8_test \
	tests/unit/qproto_test \
	tests/unit/recipients_test tests/unit/retry_test tests/unit/rfc5322_test \
	tests/unit/sendmail_test tests/unit/smtpc_test \
	tests/unit/spool_test \
	tests/unit/str_test tests/unit/users_test
check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)

tests_unit_addr_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_addr_test_LDADD = $(UNIT_LIBS)
tests_unit_aliases_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_aliases_test_LDADD = $(UNIT_LIBS)
tests_unit_bounce_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_bounce_test_LDADD = $(UNIT_LIBS)
tests_unit_cidr_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_cidr_test_LDADD = $(UNIT_LIBS)
tests_unit_conf_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_conf_test_LDADD = $(UNIT_LIBS)
tests_unit_data_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_data_test_LDADD = $(UNIT_LIBS)
tests_unit_dkim_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_dkim_test_LDADD = shared/libdkim.a $(UNIT_LIBS) $(OPENDKIM_LIBS) \
	$(LIBCRYPTO_LIBS)
tests_unit_envelope_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_envelope_test_LDADD = $(UNIT_LIBS)
tests_unit_esmtp_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_esmtp_test_LDADD = $(UNIT_LIBS)
tests_unit_job_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_job_test_LDADD = $(UNIT_LIBS)
tests_unit_lineio_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_lineio_test_LDADD = $(UNIT_LIBS)
tests_unit_maildir_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_maildir_test_LDADD = $(UNIT_LIBS)
tests_unit_mime8_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_mime8_test_LDADD = $(UNIT_LIBS)
tests_unit_qproto_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_qproto_test_LDADD = $(UNIT_LIBS)
tests_unit_recipients_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_recipients_test_LDADD = $(UNIT_LIBS)
tests_unit_retry_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_retry_test_LDADD = $(UNIT_LIBS)
tests_unit_rfc5322_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_rfc5322_test_LDADD = $(UNIT_LIBS)
tests_unit_sendmail_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_sendmail_test_LDADD = $(UNIT_LIBS)
tests_unit_smtpc_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_smtpc_test_LDADD = $(UNIT_LIBS)
tests_unit_spool_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_spool_test_LDADD = $(UNIT_LIBS)
tests_unit_str_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_str_test_LDADD = $(UNIT_LIBS)
tests_unit_users_test_CFLAGS = $(UNIT_CFLAGS)
tests_unit_users_test_LDADD = $(UNIT_LIBS)

session_tests = \
	tests/sessions/auth-authzid-bare.smtp \
	tests/sessions/auth-authzid.smtp \
	tests/sessions/auth-failures.smtp \
	tests/sessions/auth-long.smtp \
	tests/sessions/auth.smtp tests/sessions/auth-after-mail.smtp \
	tests/sessions/basic.smtp \
	tests/sessions/commands.smtp \
	tests/sessions/data-timeout.smtp \
	tests/sessions/errors.smtp \
	tests/sessions/helo.smtp \
	tests/sessions/hops.smtp \
	tests/sessions/junk.smtp tests/sessions/hostile-harvest.smtp \
	tests/sessions/longline.smtp \
	tests/sessions/params.smtp \
	tests/sessions/paths.smtp \
	tests/sessions/queue-down.smtp \
	tests/sessions/recipients.smtp \
	tests/sessions/relay-allowed.smtp \
	tests/sessions/relay.smtp \
	tests/sessions/sequence.smtp \
	tests/sessions/size.smtp \
	tests/sessions/smuggling-cr.smtp \
	tests/sessions/smuggling-lf.smtp \
	tests/sessions/socket-crlf.smtp \
	tests/sessions/starttls-nocert.smtp \
	tests/sessions/submission.smtp \
	tests/sessions/timeout.smtp \
	tests/sessions/transactions.smtp \
	tests/sessions/vrfy-expn.smtp
TESTS += $(session_tests)

integration_tests = \
	tests/integration/crash_test.py \
	tests/integration/diskfull_test.py \
	tests/integration/dkim_test.py \
	tests/integration/dkim_tool_test.py \
	tests/integration/e2e_test.py \
	tests/integration/local_agent_test.py \
	tests/integration/logs_test.py \
	tests/integration/notify_test.py \
	tests/integration/local_delivery_test.py \
	tests/integration/order_test.py \
	tests/integration/privileges_test.py \
	tests/integration/remote_delivery_test.py \
	tests/integration/retry_test.py \
	tests/integration/sched_test.py \
	tests/integration/sendmail_test.py \
	tests/integration/smtp_clients_test.py \
	tests/integration/startup_test.py \
	tests/integration/tls_test.py \
	tests/integration/trust_test.py
TESTS += $(integration_tests)

EXTRA_DIST += tests/README.md tests/unit/tap-run tests/sessions/run-session \
	tests/lib/pombo.py \
	tests/lib/peer.py \
	$(session_tests) $(integration_tests)
