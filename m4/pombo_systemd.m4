# POMBO_SYSTEMD_DIRS: where "make install" puts the systemd units and the
# sysusers.d and tmpfiles.d snippets (units/local.mk): the directories
# systemd's pkg-config file names, each overridable with --with-...=DIR
# (packagers, and "make distcheck", which installs into a scratch prefix).
AC_DEFUN([POMBO_SYSTEMD_DIRS], [
  _POMBO_SYSTEMD_DIR([systemdsystemunitdir], [systemd units],
    ['${prefix}/lib/systemd/system'])
  _POMBO_SYSTEMD_DIR([sysusersdir], [sysusers.d snippets],
    ['${prefix}/lib/sysusers.d'])
  _POMBO_SYSTEMD_DIR([tmpfilesdir], [tmpfiles.d snippets],
    ['${prefix}/lib/tmpfiles.d'])
])

# _POMBO_SYSTEMD_DIR(VARIABLE, WHAT, FALLBACK)
AC_DEFUN([_POMBO_SYSTEMD_DIR], [
  AC_ARG_WITH([$1],
    [AS_HELP_STRING([--with-$1=DIR], [install $2 in DIR (default: from systemd.pc)])],
    [$1=$with_$1],
    [PKG_CHECK_VAR([$1], [systemd], [$1], [], [$1=$3])])
  AC_MSG_CHECKING([where to install $2])
  AC_MSG_RESULT([$$1])
  AC_SUBST([$1])
])
