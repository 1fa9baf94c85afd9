"""make install DESTDIR=<scratch> from the build tree puts every program,
unit, snippet, man page and sample where it belongs; the installed units
and inetd/xinetd samples start programs that were installed; the sample
pombo.conf, every line uncommented, is a configuration smtpd accepts;
make uninstall takes it all away again. No sendmail, mailq or newaliases
links by default; configure --enable-sendmail-links makes install link
them to pombo-sendmail (under DESTDIR), uninstall remove only those.
"""
import os
import re
import shutil
import stat
import subprocess
import tempfile

import ops

tap = ops.pombo.Tap()
dest = tempfile.mkdtemp(prefix="pombo-install-")
scratch = tempfile.mkdtemp(prefix="pombo-install-conf-")


def make(*targets):
    return subprocess.run(["make", "-C", ops.BUILD, "DESTDIR=" + dest] +
                          list(targets), capture_output=True, text=True,
                          timeout=600, env=ops.clean_env())


def installed():
    """{basename: [path under dest, ...]} of every installed file."""
    found = {}
    for d, _, names in os.walk(dest):
        for n in names:
            found.setdefault(n, []).append(
                os.path.join(d, n)[len(dest):])
    return found


def one(files, name, folder):
    """The one installed path of name, which must be in a folder ending
    with folder (like 'man/man8')."""
    paths = files.get(name, [])
    ok = len(paths) == 1 and os.path.dirname(paths[0]).endswith(folder)
    tap.ok(ok, "%s installed in .../%s" % (name, folder), paths)
    return paths[0] if ok else None


def executable(path):
    try:
        st = os.stat(dest + path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_mode & 0o111 == 0o111


r = make("install")
tap.ok(r.returncode == 0, "make install DESTDIR=...", r.stdout[-2000:] +
       r.stderr[-2000:])
files = installed()

libexec = set()
for prog in ("smtpd", "pop3d", "queued", "pombo-local", "pombo-remote",
             "pombo-verify", "pombo-tlsd"):
    p = one(files, prog, "libexec/pombo")
    if p:
        libexec.add(os.path.dirname(p))
        tap.ok(executable(p), "%s is executable" % prog)
for prog in ("pombo-queue", "pombo-sendmail"):
    p = one(files, prog, "sbin")
    if p:
        tap.ok(executable(p), "%s is executable" % prog)
tap.eq(len(libexec), 1, "the handlers and agents share one folder")

for name in ops.UNITS:
    p = one(files, name, "systemd/system")
    if p is None:
        continue
    unit = ops.read_unit(dest + p)
    for argv in [v for k, v in unit.get("Service", []) if k == "ExecStart"]:
        prog = argv.split()[0]
        tap.ok(executable(prog), "%s starts %s, installed" % (name, prog))
for snippet in ("sysusers.d", "tmpfiles.d"):
    paths = [p for p in files.get("pombo.conf", [])
             if os.path.dirname(p).endswith(snippet)]
    tap.eq(len(paths), 1, "%s/pombo.conf installed" % snippet)

for page, section in (("smtpd.8", "man8"), ("queued.8", "man8"),
                      ("pop3d.8", "man8"), ("pombo-tlsd.8", "man8"), ("pombo-sendmail.8", "man8"),
                      ("pombo-queue.8", "man8"), ("pombo.conf.5", "man5")):
    one(files, page, "man/" + section)

docs = {}
for sample in ("pombo.conf.sample", "inetd.conf.sample",
               "xinetd.pombo.sample"):
    docs[sample] = one(files, sample, "doc/pombo")
for part in ("filter.d", "jail.d"):
    p = [x for x in files.get("pombo.conf", [])
         if x.endswith("doc/pombo/fail2ban/%s/pombo.conf" % part)]
    tap.eq(len(p), 1, "fail2ban's %s sample installed" % part)

if docs["inetd.conf.sample"]:
    with open(dest + docs["inetd.conf.sample"]) as f:
        progs = [l.split()[5] for l in f if l.strip() and
                 not l.startswith("#")]
    tap.ok(progs and all(executable(p) for p in progs),
           "inetd.conf.sample starts installed programs", progs)
if docs["xinetd.pombo.sample"]:
    with open(dest + docs["xinetd.pombo.sample"]) as f:
        progs = re.findall(r"(?m)^\s*server\s*=\s*(\S+)", f.read())
    tap.ok(progs and all(executable(p) for p in progs),
           "xinetd.pombo.sample starts installed programs", progs)

if docs["pombo.conf.sample"]:
    # every "#key = default" line made a setting: the defaults parse
    conf = os.path.join(scratch, "all-defaults.conf")
    with open(dest + docs["pombo.conf.sample"]) as f, open(conf, "w") as out:
        n = 0
        for line in f:
            if re.match(r"#\w+ = ", line):
                out.write(line[1:])
                n += 1
    tap.ok(n > 30, "the sample sets every key (%d)" % n)
    r = subprocess.run([ops.pombo.prog("smtpd/smtpd"), "-c", conf],
                       input=b"QUIT\r\n", capture_output=True, timeout=30)
    tap.ok(r.stdout.startswith(b"220 "), "smtpd accepts the sample with "
           "every default set", r.stdout + r.stderr)

for name in ("sendmail", "mailq", "newaliases"):
    tap.ok(name not in files, "no %s link without --enable-sendmail-links"
           % name, files.get(name))

# what configure --enable-sendmail-links sets (checked below), through
# make install itself
r = make("install", "SENDMAIL_LINKS=yes")
sbin = os.path.dirname(files["pombo-sendmail"][0])
for name in ("sendmail", "mailq", "newaliases"):
    p = [x for x in installed().get(name, []) if os.path.islink(dest + x)]
    tap.ok(r.returncode == 0 and len(p) == (2 if name == "sendmail" else 1)
           and all(os.readlink(dest + x) == sbin + "/pombo-sendmail"
                   for x in p), "with the links, %s -> pombo-sendmail"
           % name, p)

r = make("uninstall")
left = [p for ps in installed().values() for p in ps]
tap.ok(r.returncode == 0 and not left, "make uninstall removes it all",
       r.stderr[-2000:] + "\n".join(left))



def configured_copy(where, *args):
    """configure run with args in a copy of what it and the Makefile
    need (the source tree is configured already: no second build there),
    mtimes kept so make regenerates nothing."""
    for d, dirs, names in os.walk(ops.SRC):
        rel = os.path.relpath(d, ops.SRC)
        dirs[:] = [x for x in dirs if not x.startswith(("_", ".", "autom4te"))]
        for n in names:
            keep = rel in ("build-aux", "m4") or n == "local.mk" or \
                (rel == "." and n in ("configure", "configure.ac",
                                      "aclocal.m4", "Makefile.am",
                                      "Makefile.in", "config.h.in")) or \
                os.path.join(rel, n) == "smtpd/main.c"
            if keep:
                os.makedirs(os.path.join(where, rel), exist_ok=True)
                shutil.copy2(os.path.join(d, n), os.path.join(where, rel, n))
    return subprocess.run(["./configure", "-q"] + list(args), cwd=where,
                          capture_output=True, text=True, timeout=300,
                          env=ops.clean_env())


tree = os.path.join(scratch, "tree")
r = configured_copy(tree, "--prefix=/usr", "--enable-sendmail-links")
tap.ok(r.returncode == 0, "configure --enable-sendmail-links", r.stderr)
links = os.path.join(scratch, "links")
# another MTA's sendmail is replaced; uninstall leaves it alone if ours
# was replaced in turn
os.makedirs(os.path.join(links, "usr/lib"))
with open(os.path.join(links, "usr/lib/sendmail"), "w") as f:
    f.write("#!/bin/sh\n")


def make_links(target):
    return subprocess.run(["make", "-C", tree, "DESTDIR=" + links, target],
                          capture_output=True, text=True, timeout=300,
                          env=ops.clean_env())


r = make_links("install-sendmail-links")
tap.ok(r.returncode == 0, "make install links them", r.stdout + r.stderr)
for path in ("/usr/sbin/sendmail", "/usr/lib/sendmail", "/usr/bin/mailq",
             "/usr/bin/newaliases"):
    p = links + path
    tap.ok(os.path.islink(p) and
           os.readlink(p) == "/usr/sbin/pombo-sendmail",
           "%s -> /usr/sbin/pombo-sendmail" % path,
           os.readlink(p) if os.path.islink(p) else "not a link")
os.unlink(os.path.join(links, "usr/bin/mailq"))
with open(os.path.join(links, "usr/bin/mailq"), "w") as f:
    f.write("another MTA's\n")
r = make_links("uninstall-sendmail-links")
tap.ok(r.returncode == 0 and
       not os.path.lexists(links + "/usr/sbin/sendmail") and
       not os.path.lexists(links + "/usr/lib/sendmail") and
       not os.path.lexists(links + "/usr/bin/newaliases"),
       "make uninstall removes the links", r.stdout + r.stderr)
tap.ok(os.path.isfile(links + "/usr/bin/mailq") and
       not os.path.islink(links + "/usr/bin/mailq"),
       "and leaves a mailq that is not ours")
r = configured_copy(os.path.join(scratch, "tree2"),
                    "--enable-sendmail-links=maybe")
tap.ok(r.returncode != 0 and "yes or no" in r.stderr,
       "configure refuses another value", r.stderr)

shutil.rmtree(dest, ignore_errors=True)
shutil.rmtree(scratch, ignore_errors=True)
tap.done()
