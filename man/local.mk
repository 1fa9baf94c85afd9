# man/: the manual pages (pop3d.8 lives with pop3d/), and the sample
# pombo.conf with every key and its default, written at build time by
# man/print-sample-conf from the key table in shared/conf.c.
dist_man_MANS += man/smtpd.8 man/queued.8 man/pombo-sendmail.8 \
	man/pombo-queue.8 man/pombo-dkim.8 man/pombo-verify.8 man/pombo.conf.5

noinst_PROGRAMS = man/print-sample-conf
man_print_sample_conf_SOURCES = man/print-sample-conf.c
man_print_sample_conf_LDADD = shared/libpombo.a

man/pombo.conf.sample: man/print-sample-conf$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) man && \
	man/print-sample-conf$(EXEEXT) > $@.tmp && mv -f $@.tmp $@
nodist_doc_DATA = man/pombo.conf.sample
CLEANFILES += man/pombo.conf.sample
