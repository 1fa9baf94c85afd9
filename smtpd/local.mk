# smtpd: the SMTP handler; its logic is a library the tests link.
noinst_LIBRARIES += smtpd/libsmtpd.a
smtpd_libsmtpd_a_SOURCES = \
	smtpd/auth.c smtpd/commands.c smtpd/data.c smtpd/data.h \
	smtpd/reexec.c smtpd/reexec.h \
	smtpd/session.c smtpd/smtpd.h smtpd/starttls.c smtpd/submit.c
smtpd_ldadd = smtpd/libsmtpd.a shared/libpassword.a shared/libpombo.a

if MUSL_SMTPD
# smtpd/smtpd is the same sources linked statically with musl (a third
# of glibc's start cost); smtpd-full, the glibc build beside it, does
# what needs dlopen: in-process TLS and password checks (reexec.h)
pkglibexec_PROGRAMS += smtpd/smtpd smtpd/smtpd-full
smtpd_smtpd_full_SOURCES = smtpd/main.c
smtpd_smtpd_full_LDADD = $(smtpd_ldadd)
smtpd_smtpd_SOURCES =
# static-pie when musl-gcc can (configure): start files, then the end
smtpd_smtpd_LDADD = $(smtpd_musl_out)/libsmtpd.a $(MUSL_LINK_END)
smtpd_smtpd_LINK = $(MUSL_GCC) $(CFLAGS) $(MUSL_LINK_START) -o $@
else
pkglibexec_PROGRAMS += smtpd/smtpd
smtpd_smtpd_SOURCES = smtpd/main.c
smtpd_smtpd_LDADD = $(smtpd_ldadd)
smtpd_smtpd_LINK = $(LINK)
endif

# the musl objects: smtpd/musl.mk, run every time (it knows what changed)
smtpd_musl_out = smtpd/musl
$(smtpd_musl_out)/libsmtpd.a: smtpd-musl-objects
	@:
smtpd-musl-objects: config.h
	+@$(MAKE) -f $(top_srcdir)/smtpd/musl.mk \
	    top_srcdir='$(top_srcdir)' top_builddir='$(top_builddir)' \
	    OUT='$(smtpd_musl_out)' MUSL_GCC='$(MUSL_GCC)' \
	    MUSL_CPPFLAGS='$(MUSL_CPPFLAGS)' \
	    SRCS='smtpd/main.c $(smtpd_libsmtpd_a_SOURCES) \
	    $(shared_libpombo_a_SOURCES) $(shared_libpassword_a_SOURCES)' \
	    sysconfdir='$(sysconfdir)' localstatedir='$(localstatedir)' \
	    runstatedir='$(runstatedir)' pkglibexecdir='$(pkglibexecdir)' \
	    CFLAGS_ALL='$(WARN_CFLAGS) $(CFLAGS)'
.PHONY: smtpd-musl-objects
clean-local: clean-smtpd-musl
clean-smtpd-musl:
	rm -rf $(smtpd_musl_out)
.PHONY: clean-smtpd-musl
EXTRA_DIST += smtpd/musl.mk smtpd/musl-include/crypt.h
