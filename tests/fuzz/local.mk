# Fuzzing (issue 5): a libFuzzer harness for every parser of untrusted
# input (tests/fuzz/*_fuzz.c), each with its kept corpus in
# tests/fuzz/corpus/<name>/. See tests/fuzz/README.md.
#
# Built twice. Here, by automake, with the build's compiler and a small
# main() (driver.c) that runs the kept corpus: a regression test in
# make check, under ASan/UBSan in the sanitizer copy too. And by
# "make fuzz", with clang-14 and libFuzzer into _build-fuzz/
# (tests/fuzz/fuzz.mk); make check does that too, and
# tests/fuzz/run-fuzzers gives each libFuzzer harness a short run.
fuzz_names = addr aliases auth authres conf data dkimrec dnswire envelope esmtp \
	job lineio maildir milter milter_client milter_edit mime8 mtasts policy pop3 \
	qproto \
	rfc5322 sendmail smtpc smtpd tlsproxy transfer users
fuzz_harnesses = tests/fuzz/addr_fuzz tests/fuzz/aliases_fuzz \
	tests/fuzz/auth_fuzz tests/fuzz/authres_fuzz tests/fuzz/conf_fuzz \
	tests/fuzz/data_fuzz \
	tests/fuzz/dkimrec_fuzz tests/fuzz/dnswire_fuzz tests/fuzz/envelope_fuzz \
	tests/fuzz/esmtp_fuzz tests/fuzz/job_fuzz tests/fuzz/lineio_fuzz \
	tests/fuzz/maildir_fuzz tests/fuzz/milter_fuzz \
	tests/fuzz/milter_client_fuzz tests/fuzz/milter_edit_fuzz \
	tests/fuzz/mime8_fuzz tests/fuzz/mtasts_fuzz tests/fuzz/policy_fuzz \
	tests/fuzz/pop3_fuzz \
	tests/fuzz/qproto_fuzz tests/fuzz/rfc5322_fuzz \
	tests/fuzz/sendmail_fuzz tests/fuzz/smtpc_fuzz tests/fuzz/smtpd_fuzz \
	tests/fuzz/tlsproxy_fuzz tests/fuzz/transfer_fuzz tests/fuzz/users_fuzz
check_PROGRAMS += $(fuzz_harnesses)

noinst_LIBRARIES += tests/fuzz/libfuzzmain.a
tests_fuzz_libfuzzmain_a_SOURCES = tests/fuzz/driver.c tests/fuzz/fuzz.c \
	tests/fuzz/fuzz.h

FUZZ_LIBS = tests/fuzz/libfuzzmain.a pop3d/libpop3d.a smtpd/libsmtpd.a \
	queued/daemon/libqueued.a queued/local/liblocal.a \
	queued/remote/libremote.a queued/sendmail/libsendmail.a shared/libpassword.a \
	shared/libpombo.a $(CRYPT_LIBS) $(UNBOUND_LIBS) $(CARES_LIBS) $(SYSTEMD_LIBS) \
	$(ZLIB_LIBS) -lpthread

tests_fuzz_addr_fuzz_SOURCES = tests/fuzz/addr_fuzz.c
tests_fuzz_addr_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_aliases_fuzz_SOURCES = tests/fuzz/aliases_fuzz.c
tests_fuzz_aliases_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_auth_fuzz_SOURCES = tests/fuzz/auth_fuzz.c
tests_fuzz_auth_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_authres_fuzz_SOURCES = tests/fuzz/authres_fuzz.c
tests_fuzz_authres_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_conf_fuzz_SOURCES = tests/fuzz/conf_fuzz.c
tests_fuzz_conf_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_data_fuzz_SOURCES = tests/fuzz/data_fuzz.c
tests_fuzz_data_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_dkimrec_fuzz_SOURCES = tests/fuzz/dkimrec_fuzz.c
tests_fuzz_dkimrec_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_envelope_fuzz_SOURCES = tests/fuzz/envelope_fuzz.c
tests_fuzz_envelope_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_esmtp_fuzz_SOURCES = tests/fuzz/esmtp_fuzz.c
tests_fuzz_esmtp_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_job_fuzz_SOURCES = tests/fuzz/job_fuzz.c
tests_fuzz_job_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_lineio_fuzz_SOURCES = tests/fuzz/lineio_fuzz.c
tests_fuzz_lineio_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_maildir_fuzz_SOURCES = tests/fuzz/maildir_fuzz.c
tests_fuzz_maildir_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_milter_fuzz_SOURCES = tests/fuzz/milter_fuzz.c
tests_fuzz_milter_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_milter_client_fuzz_SOURCES = tests/fuzz/milter_client_fuzz.c
tests_fuzz_milter_client_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_milter_edit_fuzz_SOURCES = tests/fuzz/milter_edit_fuzz.c
tests_fuzz_milter_edit_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_mime8_fuzz_SOURCES = tests/fuzz/mime8_fuzz.c
tests_fuzz_mime8_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_mtasts_fuzz_SOURCES = tests/fuzz/mtasts_fuzz.c
tests_fuzz_mtasts_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_pop3_fuzz_SOURCES = tests/fuzz/pop3_fuzz.c
tests_fuzz_pop3_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_qproto_fuzz_SOURCES = tests/fuzz/qproto_fuzz.c
tests_fuzz_qproto_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_policy_fuzz_SOURCES = tests/fuzz/policy_fuzz.c
tests_fuzz_policy_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_rfc5322_fuzz_SOURCES = tests/fuzz/rfc5322_fuzz.c
tests_fuzz_rfc5322_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_sendmail_fuzz_SOURCES = tests/fuzz/sendmail_fuzz.c
tests_fuzz_sendmail_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_dnswire_fuzz_SOURCES = tests/fuzz/dnswire_fuzz.c
tests_fuzz_dnswire_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_smtpc_fuzz_SOURCES = tests/fuzz/smtpc_fuzz.c
tests_fuzz_smtpc_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_smtpd_fuzz_SOURCES = tests/fuzz/smtpd_fuzz.c
tests_fuzz_smtpd_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_tlsproxy_fuzz_SOURCES = tests/fuzz/tlsproxy_fuzz.c
tests_fuzz_tlsproxy_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_transfer_fuzz_SOURCES = tests/fuzz/transfer_fuzz.c
tests_fuzz_transfer_fuzz_LDADD = $(FUZZ_LIBS)
tests_fuzz_users_fuzz_SOURCES = tests/fuzz/users_fuzz.c
tests_fuzz_users_fuzz_LDADD = $(FUZZ_LIBS)

# The libFuzzer build: clang-14 by default; FUZZ_OUT is relative to the
# top build folder.
FUZZ_CC = clang-14
FUZZ_OUT = _build-fuzz
fuzz_make = $(MAKE) -f $(top_srcdir)/tests/fuzz/fuzz.mk \
	top_srcdir='$(top_srcdir)' top_builddir='$(top_builddir)' \
	OUT='$(FUZZ_OUT)' CC='$(FUZZ_CC)' HARNESSES='$(fuzz_names)' \
	POMBO_SRCS='$(shared_libpombo_a_SOURCES)' \
	PASSWORD_SRCS='$(shared_libpassword_a_SOURCES)' \
	SMTPD_SRCS='$(smtpd_libsmtpd_a_SOURCES)' \
	QUEUED_SRCS='$(queued_daemon_libqueued_a_SOURCES) \
	    $(queued_local_liblocal_a_SOURCES) $(queued_remote_libremote_a_SOURCES) \
	    $(queued_sendmail_libsendmail_a_SOURCES)' \
	POP3D_SRCS='$(pop3d_libpop3d_a_SOURCES)' \
	PKG_CFLAGS='$(CARES_CFLAGS) $(UNBOUND_CFLAGS) $(CURL_CFLAGS) $(SYSTEMD_CFLAGS) \
	    $(ZLIB_CFLAGS)' \
	PKG_LIBS='$(CRYPT_LIBS) $(UNBOUND_LIBS) $(CARES_LIBS) \
	    $(SYSTEMD_LIBS) $(ZLIB_LIBS) -lpthread'

fuzz: config.h
	+@$(fuzz_make)

# Before make check's short runs: build, unless this is the sanitizer
# copy (its gcc harnesses already run the corpus under ASan/UBSan) or
# clang is missing; run-fuzzers reads the reason from skipped.
fuzz-for-check: config.h
	+@rm -f $(FUZZ_OUT)/skipped; \
	if test -n '$(SAN_CFLAGS)'; then \
	  mkdir -p $(FUZZ_OUT); \
	  echo 'libFuzzer runs are in the main build' > $(FUZZ_OUT)/skipped; \
	elif ! command -v '$(FUZZ_CC)' >/dev/null 2>&1; then \
	  mkdir -p $(FUZZ_OUT); \
	  echo '$(FUZZ_CC) is not installed' > $(FUZZ_OUT)/skipped; \
	else \
	  $(fuzz_make); \
	fi

tests/fuzz/run-fuzzers.log: fuzz-for-check $(fuzz_harnesses)
.PHONY: fuzz fuzz-for-check


EXTRA_DIST += tests/fuzz/README.md tests/fuzz/fuzz.mk tests/fuzz/corpus

clean-local: clean-fuzz
clean-fuzz:
	rm -rf $(FUZZ_OUT)
.PHONY: clean-fuzz
