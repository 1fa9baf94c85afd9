# pombo-sendmail: the /usr/sbin/sendmail interface for local programs.
noinst_LIBRARIES += queued/sendmail/libsendmail.a
queued_sendmail_libsendmail_a_SOURCES = queued/sendmail/sendmail.c \
	queued/sendmail/sendmail.h queued/sendmail/options.c \
	queued/sendmail/options.h queued/sendmail/admin.c \
	queued/sendmail/admin.h

sbin_PROGRAMS += queued/pombo-sendmail
queued_pombo_sendmail_SOURCES = queued/sendmail/main.c
queued_pombo_sendmail_LDADD = queued/sendmail/libsendmail.a shared/libpombo.a

# configure --enable-sendmail-links: the names programs call the MTA by,
# as symbolic links to where pombo-sendmail is installed (so they hold
# under DESTDIR too). A name that is there already (another MTA's) is
# replaced; uninstall removes only the links that point to ours.
SENDMAIL_LINK_NAMES = $(sbindir)/sendmail $(prefix)/lib/sendmail \
	$(bindir)/mailq $(bindir)/newaliases

install-exec-hook: install-sendmail-links
uninstall-hook: uninstall-sendmail-links

install-sendmail-links:
	@if test "$(SENDMAIL_LINKS)" = yes; then \
	  for l in $(SENDMAIL_LINK_NAMES); do \
	    $(MKDIR_P) "$(DESTDIR)`dirname $$l`" || exit 1; \
	    echo " $(LN_S) -f $(sbindir)/pombo-sendmail $(DESTDIR)$$l"; \
	    rm -f "$(DESTDIR)$$l" && \
	    $(LN_S) "$(sbindir)/pombo-sendmail" "$(DESTDIR)$$l" || exit 1; \
	  done; \
	fi

uninstall-sendmail-links:
	@for l in $(SENDMAIL_LINK_NAMES); do \
	  if test -h "$(DESTDIR)$$l" && test "`readlink "$(DESTDIR)$$l"`" = \
	      "$(sbindir)/pombo-sendmail"; then \
	    echo " rm -f $(DESTDIR)$$l"; rm -f "$(DESTDIR)$$l"; \
	  fi; \
	done

.PHONY: install-sendmail-links uninstall-sendmail-links
