# Benchmark: Pombo against Postfix and Dovecot on this machine, in the
# same run (tests/bench/README.md). `make bench` only: not part of check.
# It needs root; it installs postfix, dovecot-pop3d, dnsmasq-base and
# musl-tools (for a ceiling row) if they are missing; nullmilter needs
# libmilter-dev (bootstrap's PACKAGES). BENCH_ROUNDS, BENCH_ONLY,
# BENCH_SCALE tune it.
bench_files = tests/bench/bench.py tests/bench/benchlib.py \
	tests/bench/peers.py tests/bench/README.md
EXTRA_DIST += $(bench_files) tests/bench/local.mk

# the ceiling for one message a session: a handler that stores nothing,
# built only by `make bench`
EXTRA_PROGRAMS += tests/bench/nullsmtpd
tests_bench_nullsmtpd_SOURCES = tests/bench/nullsmtpd.c
tests_bench_nullsmtpd_LDADD =
CLEANFILES += tests/bench/nullsmtpd$(EXEEXT)

# the milter figure's accept-all filter (libmilter, libmilter-dev),
# built only by `make bench`
EXTRA_PROGRAMS += tests/bench/nullmilter
tests_bench_nullmilter_SOURCES = tests/bench/nullmilter.c
tests_bench_nullmilter_LDADD = -lmilter -lpthread
CLEANFILES += tests/bench/nullmilter$(EXEEXT)

# the TLS figure's STARTTLS client (OpenSSL, threads), built only by
# `make bench`
EXTRA_PROGRAMS += tests/bench/tlsload
tests_bench_tlsload_SOURCES = tests/bench/tlsload.c
tests_bench_tlsload_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_bench_tlsload_LDADD = $(OPENSSL_LIBS) -lpthread
CLEANFILES += tests/bench/tlsload$(EXEEXT)
# and where a handler's STARTTLS spends its CPU, step by step (libssl by
# dlopen, as shared/tls.c loads it)
EXTRA_PROGRAMS += tests/bench/tlsprof
tests_bench_tlsprof_SOURCES = tests/bench/tlsprof.c
tests_bench_tlsprof_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_bench_tlsprof_LDADD = -ldl
CLEANFILES += tests/bench/tlsprof$(EXEEXT)

.PHONY: bench
bench: all tests/bench/nullsmtpd$(EXEEXT) tests/bench/nullmilter$(EXEEXT) \
    tests/bench/tlsload$(EXEEXT) tests/bench/tlsprof$(EXEEXT)
	top_builddir=$(abs_top_builddir) top_srcdir=$(abs_top_srcdir) \
	    $(PYTHON3) $(top_srcdir)/tests/bench/bench.py \
	    --out $(abs_top_builddir)/tests/bench
