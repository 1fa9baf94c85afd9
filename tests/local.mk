# Every test of make check is registered here (tests/README.md says
# which kind goes where); all speak TAP through automake's tap-driver,
# one result line per check.
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
	top_srcdir='$(abs_top_srcdir)'; san_cflags='$(SAN_CFLAGS)'; \
	export top_builddir top_srcdir san_cflags;

# Unit tests: a Criterion program per module. Test programs see every
# folder's headers (AM_CPPFLAGS) and link every library: the default
# LDADD, which each installed program overrides with its own.
LDADD = smtpd/libsmtpd.a pop3d/libpop3d.a queued/daemon/libqueued.a \
	queued/local/liblocal.a queued/remote/libremote.a \
	queued/sendmail/libsendmail.a shared/libpassword.a shared/libpombo.a \
	$(CRYPT_LIBS) $(UNBOUND_LIBS) $(CARES_LIBS) $(CRITERION_LIBS) $(SYSTEMD_LIBS) \
	$(ZLIB_LIBS) -lpthread

unit_tests = \
	tests/unit/addr_test \
	tests/unit/aliases_test \
	tests/unit/authres_test \
	tests/unit/bounce_test \
	tests/unit/cidr_test \
	tests/unit/conf_test \
	tests/unit/crc32c_test \
	tests/unit/data_test \
	tests/unit/dkim_test \
	tests/unit/dkimsign_test \
	tests/unit/dnswire_test \
	tests/unit/envelope_test \
	tests/unit/esmtp_test \
	tests/unit/intact_test \
	tests/unit/journal_test \
	tests/unit/job_test \
	tests/unit/lineio_test \
	tests/unit/maildir_test \
	tests/unit/milter_edit_test \
	tests/unit/milter_test \
	tests/unit/milter_proto_test \
	tests/unit/mime8_test \
	tests/unit/mtasts_policy_test \
	tests/unit/sockspec_test \
	tests/unit/password_test \
	tests/unit/peer_test \
	tests/unit/pop3_dirscan_test \
	tests/unit/pop3_mailbox_test \
	tests/unit/pop3_session_test \
	tests/unit/pop3_transfer_test \
	tests/unit/policy_proto_test \
	tests/unit/qproto_test \
	tests/unit/recipients_test \
	tests/unit/retry_test \
	tests/unit/rfc5322_test \
	tests/unit/sendmail_test \
	tests/unit/smtpc_test \
	tests/unit/spool_test \
	tests/unit/stats_test \
	tests/unit/str_test \
	tests/unit/tlsproxy_test \
	tests/unit/tlsrpt_test \
	tests/unit/users_test
check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)
# Programs the integration tests drive (linked like the unit tests).
check_PROGRAMS += tests/tools/milter-driver
tests_tools_milter_driver_SOURCES = tests/tools/milter-driver.c
# signing: libopendkim, which only pombo-remote links otherwise
tests_unit_dkim_test_LDADD = shared/libdkim.a $(LDADD) $(LIBCRYPTO_LIBS)
# libopendkim: the independent verifier of Pombo's signatures
tests_unit_dkimsign_test_LDADD = shared/libdkim.a $(LDADD) $(OPENDKIM_LIBS) \
	$(LIBCRYPTO_LIBS)
tests_unit_dkimsign_test_CFLAGS = $(AM_CFLAGS) $(OPENDKIM_CFLAGS)

# Scripted sessions piped into smtpd (.smtp) and pop3d (.pop3), by
# tests/sessions/run-session; hostile-* ones are input meant to break
# the handler. A log is named without the extension: no two sessions
# may share a base name (so pop3d's are pop3-*).
session_tests = \
	tests/sessions/auth-after-mail.smtp \
	tests/sessions/auth-authzid-bare.smtp \
	tests/sessions/auth-authzid.smtp \
	tests/sessions/auth-failures.smtp \
	tests/sessions/auth-long.smtp \
	tests/sessions/auth.smtp \
	tests/sessions/basic.smtp \
	tests/sessions/commands.smtp \
	tests/sessions/data-timeout.smtp \
	tests/sessions/errors.smtp \
	tests/sessions/expn-long.smtp \
	tests/sessions/helo.smtp \
	tests/sessions/hops.smtp \
	tests/sessions/hostile-8bit.smtp \
	tests/sessions/hostile-auth.smtp \
	tests/sessions/hostile-close-command.smtp \
	tests/sessions/hostile-close-data-pipe.smtp \
	tests/sessions/hostile-close-data.smtp \
	tests/sessions/hostile-cr-commands.smtp \
	tests/sessions/hostile-data-pipe.smtp \
	tests/sessions/hostile-empty.smtp \
	tests/sessions/hostile-errors.smtp \
	tests/sessions/hostile-harvest.smtp \
	tests/sessions/hostile-longline.smtp \
	tests/sessions/hostile-nul.smtp \
	tests/sessions/hostile-pipelining.smtp \
	tests/sessions/hostile-pop3-8bit.pop3 \
	tests/sessions/hostile-pop3-auth.pop3 \
	tests/sessions/hostile-pop3-close.pop3 \
	tests/sessions/hostile-pop3-empty.pop3 \
	tests/sessions/hostile-pop3-errors.pop3 \
	tests/sessions/hostile-pop3-lines.pop3 \
	tests/sessions/hostile-pop3-nul.pop3 \
	tests/sessions/hostile-pop3-pipelining.pop3 \
	tests/sessions/hostile-size.smtp \
	tests/sessions/hostile-smuggling.smtp \
	tests/sessions/hostile-states.smtp \
	tests/sessions/junk.smtp \
	tests/sessions/longline.smtp \
	tests/sessions/params.smtp \
	tests/sessions/paths.smtp \
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
	tests/sessions/pop3-retr.pop3 \
	tests/sessions/pop3-sasl.pop3 \
	tests/sessions/pop3-states.pop3 \
	tests/sessions/pop3-stls-nocert.pop3 \
	tests/sessions/pop3-timeout.pop3 \
	tests/sessions/pop3-unreadable.pop3 \
	tests/sessions/pop3-update.pop3 \
	tests/sessions/pop3-usage.pop3 \
	tests/sessions/queue-down.smtp \
	tests/sessions/quoted-recipients.smtp \
	tests/sessions/recipients.smtp \
	tests/sessions/relay-allowed.smtp \
	tests/sessions/relay.smtp \
	tests/sessions/sequence.smtp \
	tests/sessions/size-crlf.smtp \
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

# The programs together with real clients and peers, on loopback.
integration_tests = \
	tests/integration/admin_mail_test.py \
	tests/integration/agent_open_test.py \
	tests/integration/crash_test.py \
	tests/integration/checksum_test.py \
	tests/integration/damaged_test.py \
	tests/integration/dead_dest_test.py \
	tests/integration/dests_fifo_test.py \
	tests/integration/diskfull_test.py \
	tests/integration/dkim_test.py \
	tests/integration/verify_queue_test.py \
	tests/integration/closed_fds_test.py \
	tests/integration/inbound_auth_test.py \
	tests/integration/auth_hostile_test.py \
	tests/integration/milter_session_test.py \
	tests/integration/milter_steps_test.py \
	tests/integration/pipelined_end_test.py \
	tests/integration/dkim_tool_test.py \
	tests/integration/dane_test.py \
	tests/integration/e2e_test.py \
	tests/integration/hostile_addr_test.py \
	tests/integration/limits_test.py \
	tests/integration/local_agent_test.py \
	tests/integration/local_delivery_test.py \
	tests/integration/login_timing_test.py \
	tests/integration/auth_residue_test.py \
	tests/integration/logs_test.py \
	tests/integration/log_file_test.py \
	tests/integration/fail2ban_test.py \
	tests/integration/milter_test.py \
	tests/integration/mta_sts_test.py \
	tests/integration/notify_test.py \
	tests/integration/order_test.py \
	tests/integration/policy_actions_test.py \
	tests/integration/policy_eod_test.py \
	tests/integration/policy_hostile_test.py \
	tests/integration/policy_postgrey_test.py \
	tests/integration/policy_spf_test.py \
	tests/integration/powercut_test.py \
	tests/integration/pop3_clients_test.py \
	tests/integration/pop3_delivery_test.py \
	tests/integration/pop3_dovecot_test.py \
	tests/integration/pop3_privileges_test.py \
	tests/integration/pop3_renamed_test.py \
	tests/integration/pop3_tls_test.py \
	tests/integration/privileges_test.py \
	tests/integration/quarantine_names_test.py \
	tests/integration/queue_cr_test.py \
	tests/integration/queue_fifo_test.py \
	tests/integration/queue_stats_test.py \
	tests/integration/queue_talk_test.py \
	tests/integration/queue_unread_test.py \
	tests/integration/queue_tool_test.py \
	tests/integration/queue_write_test.py \
	tests/integration/reexec_test.py \
	tests/integration/remote_batch_test.py \
	tests/integration/remote_crash_test.py \
	tests/integration/remote_delivery_test.py \
	tests/integration/remote_early_reply_test.py \
	tests/integration/retry_test.py \
	tests/integration/sched_test.py \
	tests/integration/sendmail_test.py \
	tests/integration/sendmail_compat_test.py \
	tests/integration/smtp_clients_test.py \
	tests/integration/spool_files_test.py \
	tests/integration/spool_free_test.py \
	tests/integration/startup_test.py \
	tests/integration/syslog_time_test.py \
	tests/integration/tls_ciphers_test.py \
	tests/integration/tls_test.py \
	tests/integration/tls_proxy_quiet_test.py \
	tests/integration/tlsd_test.py \
	tests/integration/trust_test.py \
	tests/integration/verify_agent_test.py
TESTS += $(integration_tests)

# What an admin does: units under systemd-analyze, the inetd sample
# under a real openbsd-inetd, make install into a scratch folder, the
# man pages, ./bootstrap, and README.md's deployment steps in a Debian 12
# container booted by systemd-nspawn (skipped without root or a mirror).
ops_tests = \
	tests/ops/bootstrap_test.py \
	tests/ops/inetd_test.py \
	tests/ops/install_test.py \
	tests/ops/man_test.py \
	tests/ops/nspawn_test.py \
	tests/ops/units_test.py
TESTS += $(ops_tests)

# A short libFuzzer run of every harness (tests/fuzz/local.mk builds them).
fuzz_tests = tests/fuzz/run-fuzzers.py
TESTS += $(fuzz_tests)

EXTRA_DIST += tests/README.md tests/unit/tap-run tests/unit/lsan.supp tests/sessions/run-session \
	tests/lib/pombo.py tests/lib/peer.py tests/lib/fakepolicy.py \
	tests/lib/milters.py tests/lib/dnssec.py tests/ops/ops.py \
	$(session_tests) $(integration_tests) $(ops_tests) $(fuzz_tests)
