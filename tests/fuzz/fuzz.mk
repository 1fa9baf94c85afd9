# fuzz.mk: the libFuzzer build of the harnesses, a plain GNU makefile
# that "make fuzz" runs from the top build folder (tests/fuzz/local.mk
# passes the source lists and flags). The main build uses gcc; this one
# compiles the libraries' sources again with clang, instrumented for
# coverage but not linked with libFuzzer (-fsanitize=fuzzer-no-link),
# plus ASan and UBSan, and links only the harnesses with
# -fsanitize=fuzzer, which brings libFuzzer's main (DESIGN.md: otherwise
# the fuzzer sees only the harness). Objects and programs go to $(OUT).
#
# Run by hand (AFL++ too, see README.md):
#   make fuzz                       # clang-14 into _build-fuzz/
#   make fuzz FUZZ_CC=afl-clang-fast FUZZ_OUT=_build-afl FUZZ_COMPILE=
#
# Passed in: top_srcdir top_builddir OUT CC POMBO_SRCS PASSWORD_SRCS
# SMTPD_SRCS QUEUED_SRCS POP3D_SRCS HARNESSES PKG_CFLAGS PKG_LIBS

SANITIZE ?= -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_COMPILE ?= -fsanitize=fuzzer-no-link
FUZZ_LINK ?= -fsanitize=fuzzer
OPT ?= -g -O1 -fno-omit-frame-pointer

# -iquote: queued/daemon/sched.h must not stand in for <sched.h>
CPPFLAGS_ALL = -DHAVE_CONFIG_H -I$(top_builddir) -I$(top_srcdir)/shared \
	-iquote $(top_srcdir)/smtpd -iquote $(top_srcdir)/queued/daemon \
	-iquote $(top_srcdir)/queued/local -iquote $(top_srcdir)/queued/remote \
	-iquote $(top_srcdir)/queued/sendmail \
	-iquote $(top_srcdir)/pop3d -iquote $(top_srcdir)/tests/fuzz \
	-DPOMBO_SYSCONFDIR='"/etc"' \
	-DPOMBO_LOCALSTATEDIR='"/var"' -DPOMBO_RUNSTATEDIR='"/run"' \
	-DPOMBO_LIBEXECDIR='"/usr/libexec/pombo"'
CFLAGS_ALL = $(OPT) $(SANITIZE) $(FUZZ_COMPILE) $(PKG_CFLAGS) -MMD -MP

# one archive per library
lib_names = pop3d smtpd queued password pombo
pop3d_srcs = $(filter %.c,$(POP3D_SRCS))
smtpd_srcs = $(filter %.c,$(SMTPD_SRCS))
queued_srcs = $(filter %.c,$(QUEUED_SRCS))
password_srcs = $(filter %.c,$(PASSWORD_SRCS))
pombo_srcs = $(filter %.c,$(POMBO_SRCS))
libs = $(foreach l,$(lib_names),$(OUT)/lib$(l).a)
programs = $(foreach h,$(HARNESSES),$(OUT)/$(h)_fuzz)

all: $(programs)

$(OUT)/obj/%.o: $(top_srcdir)/%.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC   $*.c"
	@$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

define lib_rule
$(OUT)/lib$(1).a: $$(patsubst %.c,$(OUT)/obj/%.o,$$($(1)_srcs))
	@rm -f $$@
	@ar cr $$@ $$^
	@ranlib $$@
endef
$(foreach l,$(lib_names),$(eval $(call lib_rule,$(l))))

$(OUT)/%_fuzz: $(OUT)/obj/tests/fuzz/%_fuzz.o $(OUT)/obj/tests/fuzz/fuzz.o \
    $(libs)
	@echo "  FUZZLD   $*_fuzz"
	@$(CC) $(OPT) $(SANITIZE) $(FUZZ_LINK) -o $@ $< \
	    $(OUT)/obj/tests/fuzz/fuzz.o $(libs) $(PKG_LIBS)

.PHONY: all
.SECONDARY:
-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)
