# units/: systemd socket and service units, the sysusers.d and tmpfiles.d
# snippets, inetd and xinetd samples. Each comes from a .in file that
# names installed paths as @pkglibexecdir@, @sysconfdir@, @localstatedir@
# and @runstatedir@, and may pull in a shared block with a line of its
# own: @smtpd@ (units/smtpd.inc, the three smtpd services), @pop3d@
# (units/pop3d.inc, the two pop3d ones) and @sandbox@ (units/sandbox.inc,
# every unit). make fills them in, so the installed files are whole and
# name this build's paths.
pombo_units = \
	units/pombo-queued.socket units/pombo-queued.service \
	units/pombo-smtpd.socket units/pombo-smtpd@.service \
	units/pombo-submission.socket units/pombo-submission@.service \
	units/pombo-submissions.socket units/pombo-submissions@.service \
	units/pombo-pop3d.socket units/pombo-pop3d@.service \
	units/pombo-pop3s.socket units/pombo-pop3s@.service \
	units/pombo-tlsd.socket units/pombo-tlsd.service
pombo_units_other = units/tmpfiles.d/pombo.conf \
	units/inetd.conf.sample units/xinetd.pombo.sample
pombo_units_in = \
	units/pombo-queued.socket.in units/pombo-queued.service.in \
	units/pombo-smtpd.socket.in units/pombo-smtpd@.service.in \
	units/pombo-submission.socket.in units/pombo-submission@.service.in \
	units/pombo-submissions.socket.in units/pombo-submissions@.service.in \
	units/pombo-pop3d.socket.in units/pombo-pop3d@.service.in \
	units/pombo-pop3s.socket.in units/pombo-pop3s@.service.in \
	units/pombo-tlsd.socket.in units/pombo-tlsd.service.in \
	units/tmpfiles.d/pombo.conf.in \
	units/inetd.conf.sample.in units/xinetd.pombo.sample.in
pombo_units_inc = units/sandbox.inc units/smtpd.inc units/pop3d.inc

$(pombo_units) $(pombo_units_other): $(pombo_units_in) $(pombo_units_inc) \
    Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	sed -e '/^@smtpd@$$/r $(srcdir)/units/smtpd.inc' -e '/^@smtpd@$$/d' \
	    -e '/^@pop3d@$$/r $(srcdir)/units/pop3d.inc' -e '/^@pop3d@$$/d' \
	    $(srcdir)/$@.in > $@.tmp1 && \
	sed -e '/^@sandbox@$$/r $(srcdir)/units/sandbox.inc' \
	    -e '/^@sandbox@$$/d' \
	    -e 's|@pkglibexecdir[@]|$(pkglibexecdir)|g' \
	    -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    -e 's|@localstatedir[@]|$(localstatedir)|g' \
	    -e 's|@runstatedir[@]|$(runstatedir)|g' \
	    $@.tmp1 > $@.tmp && \
	rm -f $@.tmp1 && mv -f $@.tmp $@

# the directories come from systemd's pkg-config file (m4/pombo_systemd.m4)
systemdsystemunit_DATA = $(pombo_units)
dist_sysusers_DATA = units/sysusers.d/pombo.conf
tmpfiles_DATA = units/tmpfiles.d/pombo.conf
doc_DATA = units/inetd.conf.sample units/xinetd.pombo.sample

CLEANFILES += $(pombo_units) $(pombo_units_other)
EXTRA_DIST += $(pombo_units_in) $(pombo_units_inc)

# distcheck installs into a scratch prefix: the systemd folders too
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir=$$dc_install_base/$(systemdsystemunitdir) \
	--with-sysusersdir=$$dc_install_base/$(sysusersdir) \
	--with-tmpfilesdir=$$dc_install_base/$(tmpfilesdir)

# fail2ban's filter and jail for the failed logins of smtpd and pop3d,
# as they go into /etc/fail2ban/
fail2banfilterdir = $(docdir)/fail2ban/filter.d
dist_fail2banfilter_DATA = units/fail2ban/filter.d/pombo.conf
fail2banjaildir = $(docdir)/fail2ban/jail.d
dist_fail2banjail_DATA = units/fail2ban/jail.d/pombo.conf
