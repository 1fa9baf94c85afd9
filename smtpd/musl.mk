# musl.mk: smtpd's static musl build (reexec.h), a plain GNU makefile
# that the top Makefile runs (smtpd/local.mk passes the source lists and
# flags): automake knows one C compiler, and this compiles smtpd's,
# libpombo's and the password sources again with musl-gcc into
# $(OUT), as one archive that smtpd/smtpd is linked from.
#
# Passed in: top_srcdir top_builddir OUT MUSL_GCC MUSL_CPPFLAGS SRCS
# CFLAGS_ALL, and the folders AM_CPPFLAGS names (sysconfdir ...). MUSL_CPPFLAGS (configure) puts the system's
# folders after musl's, for OpenSSL's headers (types only: tls.c dlopens
# libssl); crypt.h comes from musl-include (password.c).

CPPFLAGS_ALL = -DHAVE_CONFIG_H -DPOMBO_STATIC_SMTPD -I$(top_builddir) \
	-I$(top_srcdir)/smtpd/musl-include -I$(top_srcdir)/shared \
	-iquote $(top_srcdir)/smtpd $(MUSL_CPPFLAGS) \
	-DPOMBO_SYSCONFDIR='"$(sysconfdir)"' \
	-DPOMBO_LOCALSTATEDIR='"$(localstatedir)"' \
	-DPOMBO_RUNSTATEDIR='"$(runstatedir)"' \
	-DPOMBO_LIBEXECDIR='"$(pkglibexecdir)"'

srcs = $(filter %.c,$(SRCS))
objs = $(patsubst %.c,$(OUT)/%.o,$(srcs))

all: $(OUT)/libsmtpd.a

$(OUT)/%.o: $(top_srcdir)/%.c
	@mkdir -p $(dir $@)
	@echo "  MUSLCC   $*.c"
	@$(MUSL_GCC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(OUT)/libsmtpd.a: $(objs)
	@rm -f $@
	@ar cr $@ $^
	@ranlib $@

.PHONY: all
.SECONDARY:
-include $(shell find $(OUT) -name '*.d' 2>/dev/null)
