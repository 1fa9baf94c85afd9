"""The systemd units of units/, as built: systemd-analyze verify passes on
each with no warning, systemd-analyze security rates each 2.5 or better
(and README.md's table says what it measures), the units follow our
rules (stderr never the client's socket, abuse limits on every socket,
a handler per socket with the right options), their paths agree with
pombo.conf's defaults and the tmpfiles.d snippet, and systemd-sysusers
and systemd-tmpfiles accept the snippets.

verify checks that ExecStart= programs exist and Documentation= pages
open: the test verifies copies whose ExecStart= points at this build's
programs and gives man(1) our pages; install_test.py checks the real
paths once installed.
"""
import os
import re
import shutil
import subprocess
import tempfile

import ops

tap = ops.pombo.Tap()
tmp = tempfile.mkdtemp(prefix="pombo-units-")
MAX_EXPOSURE = 2.5


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          **kw)


units = {}
for name in ops.UNITS:
    path = ops.unit_path(name)
    if not tap.ok(os.path.exists(path), "%s is built" % name):
        continue
    with open(path) as f:
        text = f.read()
    left = re.findall(r"@[a-z_]+@", text)
    tap.ok(not left, "%s: every @placeholder@ filled in" % name, left)
    units[name] = ops.read_unit(path)

conf = ops.sample_conf()

# --- copies that systemd-analyze verify can check here -------------------
bindir = os.path.join(tmp, "bin")
unitdir = os.path.join(tmp, "units")
mandir = os.path.join(tmp, "man")
os.makedirs(bindir)
os.makedirs(unitdir)
for prog, built in ops.PROGRAMS.items():
    os.symlink(ops.pombo.prog(built), os.path.join(bindir, prog))
pages = [os.path.join("man", p) for p in ("smtpd.8", "queued.8",
         "pombo-sendmail.8", "pombo-queue.8", "pombo.conf.5")] + \
    [os.path.join("pop3d", "pop3d.8"), os.path.join("tlsd", "pombo-tlsd.8")]
for page in pages:
    section = os.path.join(mandir, "man" + page[-1])
    os.makedirs(section, exist_ok=True)
    os.symlink(os.path.join(ops.SRC, page),
               os.path.join(section, os.path.basename(page)))

libexec = set()
for name, unit in units.items():
    starts = ops.values(unit, "Service", "ExecStart")
    if starts:
        libexec.add(os.path.dirname(starts[0]))
        tap.ok(os.path.basename(starts[0]) in ops.PROGRAMS,
               "%s starts one of our programs" % name, starts[0])
tap.eq(len(libexec), 1, "every unit starts programs from one folder")
libexec = libexec.pop() if len(libexec) == 1 else "/nonexistent"
for name in units:
    with open(ops.unit_path(name)) as f:
        text = f.read()
    text = re.sub(r"(?m)^(ExecStart=)%s/" % re.escape(libexec),
                  r"\g<1>%s/" % bindir, text)
    with open(os.path.join(unitdir, name), "w") as f:
        f.write(text)

env = dict(os.environ, MANPATH=mandir)
for name in units:
    r = run(["systemd-analyze", "verify", os.path.join(unitdir, name)],
            env=env)
    tap.ok(r.returncode == 0 and not r.stdout.strip() and
           not r.stderr.strip(), "systemd-analyze verify %s: clean" % name,
           r.stdout + r.stderr)

# --- systemd-analyze security --------------------------------------------
scores = {}
for name in units:
    r = run(["systemd-analyze", "security", "--offline=yes",
             os.path.join(unitdir, name)])
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d)", r.stdout)
    score = float(m.group(1)) if m else None
    scores[name] = score
    tap.ok(score is not None and score <= MAX_EXPOSURE,
           "systemd-analyze security %s: %s (at most %.1f)" %
           (name, score, MAX_EXPOSURE), r.stdout[-3000:] + r.stderr)

# README.md's table states the scores of systemd 252 (Debian 12)
version = run(["systemctl", "--version"]).stdout.split()
with open(os.path.join(ops.SRC, "README.md")) as f:
    readme = f.read()
table = dict(re.findall(r"(?m)^\| `([\w@.-]+)` \| (\d+\.\d) \|", readme))
if len(version) > 1 and version[1] == "252":
    tap.eq({n: "%.1f" % s for n, s in scores.items() if s is not None},
           {n: table.get(n) for n in scores if scores[n] is not None},
           "README.md's score table is what systemd-analyze says")
else:
    tap.skip("README.md's score table", "the table is for systemd 252")

# --- our rules -------------------------------------------------------------
for sock, (service, prog, args) in ops.HANDLERS.items():
    s, u = units.get(sock, {}), units.get(service, {})
    tap.eq(ops.value(s, "Socket", "Accept"), "yes", "%s: Accept=yes" % sock)
    for key in ("MaxConnections", "MaxConnectionsPerSource"):
        v = ops.value(s, "Socket", key)
        tap.ok(v is not None and v.isdigit() and int(v) > 0,
               "%s: %s= set (%s)" % (sock, key, v))
    interval = ops.value(s, "Socket", "TriggerLimitIntervalSec")
    burst = ops.value(s, "Socket", "TriggerLimitBurst")
    tap.ok(interval == "0" or burst == "0" or
           (burst is not None and int(burst) >= 10000),
           "%s: a burst of connections cannot stop it" % sock,
           "TriggerLimitIntervalSec=%s TriggerLimitBurst=%s" %
           (interval, burst))
    tap.ok(not ops.values(s, "Socket", "PrivateNetwork") and
           not ops.values(s, "Socket", "IPAddressDeny"),
           "%s: listens in the host's network, for everyone" % sock)
    tap.eq(ops.value(u, "Service", "StandardInput"), "socket",
           "%s: the client on stdin" % service)
    tap.eq(ops.value(u, "Service", "StandardError"), "journal",
           "%s: stderr to the journal, never the client" % service)
    argv = ops.values(u, "Service", "ExecStart")
    tap.eq((os.path.basename(argv[0]) if argv else None,
            [a for a in argv[1:] if a.startswith("--")]), (prog, args),
           "%s runs %s %s" % (service, prog, " ".join(args)))
    tap.eq(ops.value(u, "Unit", "CollectMode"), "inactive-or-failed",
           "%s: failed sessions are not kept" % service)
    tap.eq(ops.values(u, "Service", "RestrictAddressFamilies"), ["AF_UNIX"],
           "%s: opens Unix sockets only" % service)

q = units.get("pombo-queued.service", {})
tap.eq(ops.value(q, "Service", "Type"), "notify", "queued: Type=notify")
tap.ok(ops.value(q, "Service", "WatchdogSec") not in (None, "0"),
       "queued: WatchdogSec= set")

# --- the paths agree with pombo.conf's defaults -----------------------------
sysconf = os.path.dirname(conf.get("users_file", "/nonexistent/x"))
for name, unit in units.items():
    argv = ops.values(unit, "Service", "ExecStart")
    # pombo-tlsd reads no pombo.conf: the handlers name the files
    if argv and not argv[0].endswith("/pombo-tlsd"):
        tap.eq(argv[argv.index("-c") + 1] if "-c" in argv else None,
               os.path.join(sysconf, "pombo.conf"),
               "%s reads the pombo.conf next to users_file" % name)
qs = units.get("pombo-queued.socket", {})
tap.eq(ops.values(qs, "Socket", "ListenStream"), [conf.get("queue_socket")],
       "pombo-queued.socket listens on queue_socket")
tap.eq(sorted(ops.values(q, "Service", "ReadWritePaths")),
       sorted([conf.get("spool_dir"), conf.get("mail_root")]),
       "queued may write spool_dir and mail_root, nothing else")
p = units.get("pombo-pop3d@.service", {})
tap.eq(ops.values(p, "Service", "ReadWritePaths"),
       ["-" + conf.get("mail_root", "")],
       "pop3d may write mail_root, nothing else")
tap.ok("-" + conf.get("spool_dir", "") in
       ops.values(p, "Service", "InaccessiblePaths") and
       "-" + conf.get("queue_socket", "") in
       ops.values(p, "Service", "InaccessiblePaths"),
       "pop3d cannot see the spool or queued's socket")
# pop3d hands STLS and implicit TLS to pombo-tlsd (tls_proxy, whose
# socket is beside queued's): hiding the folder made every session fall
# back to its own OpenSSL, logging "Permission denied"
tap.ok(not any(conf.get("tls_proxy", "").startswith(v.lstrip("-") + "/")
               or conf.get("tls_proxy", "") == v.lstrip("-")
               for v in ops.values(p, "Service", "InaccessiblePaths")),
       "pop3d can reach pombo-tlsd's socket (tls_proxy)",
       str(ops.values(p, "Service", "InaccessiblePaths")))
s = units.get("pombo-smtpd@.service", {})
tap.ok("-" + conf.get("spool_dir", "") in
       ops.values(s, "Service", "InaccessiblePaths") and
       "-" + os.path.dirname(conf.get("mail_root", "")) in
       ops.values(s, "Service", "InaccessiblePaths") and
       not ops.values(s, "Service", "ReadWritePaths"),
       "smtpd writes nowhere and cannot see the spool or the Maildirs")

tmpfiles = os.path.join(ops.BUILD, "units", "tmpfiles.d", "pombo.conf")
with open(tmpfiles) as f:
    dirs = {l.split()[1]: l.split()[2:5] for l in f
            if l.strip() and not l.startswith("#")}
for key in ("spool_dir", "mail_root"):
    tap.eq(dirs.get(conf.get(key)), ["0700", "pombo", "pombo"],
           "tmpfiles.d makes %s, pombo's alone" % key)

# --- the snippets, applied to a scratch root --------------------------------
root = os.path.join(tmp, "root")
os.makedirs(os.path.join(root, "etc"))
with open(os.path.join(ops.SRC, "units", "sysusers.d", "pombo.conf")) as f:
    r = run(["systemd-sysusers", "--root=" + root, "-"], input=f.read())
tap.eq(r.returncode, 0, "systemd-sysusers takes sysusers.d/pombo.conf")
users, groups = {}, {}
for fname, table_ in (("passwd", users), ("group", groups)):
    try:
        with open(os.path.join(root, "etc", fname)) as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                table_[fields[0]] = fields
    except OSError:
        pass
gid = groups.get("pombo", [None] * 3)[2]
tap.ok(gid is not None and
       [users.get(u, [None] * 4)[3] for u in ("pombo", "pombo-smtpd")] ==
       [gid, gid], "users pombo and pombo-smtpd, both in group pombo",
       "passwd: %r\ngroup: %r" % (users, groups))
tap.ok(all(users.get(u, [""] * 7)[6].endswith("nologin")
           for u in ("pombo", "pombo-smtpd")), "neither can log in")
if os.geteuid() == 0:
    with open(tmpfiles) as f:
        r = run(["systemd-tmpfiles", "--root=" + root, "--create", "-"],
                input=f.read())
    ok = r.returncode == 0
    for key in ("spool_dir", "mail_root"):
        try:
            st = os.stat(root + conf.get(key, "/nonexistent"))
            ok = ok and st.st_mode & 0o7777 == 0o700 and \
                str(st.st_uid) == users["pombo"][2]
        except (OSError, KeyError):
            ok = False
    tap.ok(ok, "systemd-tmpfiles makes the folders, owned by pombo",
           r.stderr)
else:
    tap.skip("systemd-tmpfiles makes the folders", "needs root to chown")

shutil.rmtree(tmp, ignore_errors=True)
tap.done()
