"""Without a syslog daemon (no socket at /dev/log, or one nobody listens
on) smtpd's and pop3d's lines go to log_file, in the syslog file format,
one line each; queued says at start where they go, or that they are lost
when log_file is not set. The programs run where /dev/log is missing: as
they are if this machine has none, else (root) in a mount namespace
whose /dev has only null, zero, random and urandom."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
scratch = tempfile.mkdtemp(prefix="pombo-nolog-")
missing = pombo.no_syslog_wrapper(os.path.join(scratch, "missing"))
if missing is None:
    tap.skip("log_file", "this machine has /dev/log; hiding it needs root")
    tap.done()
    sys.exit(0)
SYSLOG_LINE = re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ "
                         r"pombo/(smtpd|pop3d|queued)\[\d+\]: \S")


def session(inst, prog, data, wrapper):
    return subprocess.run(wrapper + [pombo.prog(prog), "-c",
                                     inst.conf_path],
                          input=data, capture_output=True, timeout=30)


def lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines(True)
    except OSError:
        return []


inst = pombo.Instance()
logf = os.path.join(inst.dir, "pombo.log")
inst.set_conf(log_file=logf)
inst.start(wrapper=missing)
try:
    tap.ok("no syslog daemon at /dev/log: lines go to log_file" in
           inst.log(), "queued says where the lines go", inst.log())
    r = session(inst, "smtpd/smtpd", b"EHLO client.test\n"
                b"AUTH PLAIN AGJvYkBleGFtcGxlLnRlc3QAd3Jvbmc=\nQUIT\n",
                missing)
    tap.ok(b"535 5.7.8" in r.stdout, "smtpd: a failed AUTH", r.stdout)
    tap.eq(r.stderr, b"", "smtpd wrote nothing to stderr")
    r = session(inst, "pop3d/pop3d", b"USER bob@example.test\nPASS wrong\n"
                b"QUIT\n", missing)
    tap.ok(b"-ERR [AUTH]" in r.stdout, "pop3d: a failed login", r.stdout)
    # a message refused in its data: the log says why in words
    r = session(inst, "smtpd/smtpd", b"EHLO client.test\n"
                b"MAIL FROM:<a@example.test>\nRCPT TO:<bob@example.test>\n"
                b"DATA\n" + b"Received: from x by y\n" * 100 +
                b"\nloop\n.\nQUIT\n", missing)
    tap.ok(b"554 5.4.6" in r.stdout, "smtpd: a looping message", r.stdout)
    got = lines(logf)
    tap.ok(any("rejected from local: too many Received: lines" in l
               for l in got), "its log line names the reason, not a "
           "bit mask", [l for l in got if "rejected" in l])
    # a typo in pombo.conf, above the log_file line: the client gets its
    # 421, and the file and line of the error still reach log_file
    broken = os.path.join(inst.dir, "broken.conf")
    with open(inst.conf_path) as f, open(broken, "w") as g:
        g.write("local_domain = example.test\n" + f.read())
    for prog, refusal in (("smtpd/smtpd", b"421 4.3.0"),
                          ("pop3d/pop3d", b"-ERR [SYS/TEMP]")):
        r = subprocess.run(missing + [pombo.prog(prog), "-c", broken],
                           input=b"QUIT\n", capture_output=True, timeout=30)
        tap.ok(r.stdout.startswith(refusal) and
               any(("pombo/%s[" % prog.split("/")[0]) in l and
                   "broken.conf:1: unknown key 'local_domain'" in l
                   for l in lines(logf)),
               "%s: a configuration error goes to log_file" %
               prog.split("/")[0], (r.stdout, lines(logf)[-3:]))
    # as root not through a symlink: the user of the log's folder could
    # point it at any file
    target = os.path.join(inst.dir, "target")
    open(target, "w").close()
    os.symlink(target, os.path.join(inst.dir, "link.log"))
    with open(inst.conf_path) as f, open(broken, "w") as g:
        g.write("local_domain = example.test\nlog_file = %s\n" %
                os.path.join(inst.dir, "link.log") +
                "".join(l for l in f if not l.startswith("log_file")))
    r = subprocess.run(missing + [pombo.prog("smtpd/smtpd"), "-c", broken],
                       input=b"QUIT\n", capture_output=True, timeout=30)
    tap.ok(r.stdout.startswith(b"421 4.3.0") and
           os.path.getsize(target) == 0, "as root, a log_file that is a "
           "symlink is not written", (r.stdout, lines(target)))
    got = lines(logf)
    smtpd = [l for l in got if "pombo/smtpd[" in l]
    pop3d = [l for l in got if "pombo/pop3d[" in l]
    tap.ok(any("connect from local" in l for l in smtpd) and
           any("bob@example.test" in l for l in smtpd),
           "smtpd's lines, its failed AUTH among them, are in log_file", got)
    tap.ok(any("bob@example.test" in l for l in pop3d),
           "and pop3d's, with its failed login", got)
    tap.ok(got and all(SYSLOG_LINE.match(l) and l.endswith("\n") and
                       l.count("\n") == 1 for l in got),
           "every line in the syslog file format", got)
    tap.ok(any("pombo/queued[" in l and "no syslog daemon" in l
               for l in got), "queued's own lines go there too", got)
    mode = os.stat(logf).st_mode & 0o777 if os.path.exists(logf) else 0
    tap.ok(mode & 0o007 == 0, "log_file is not for everyone (%o)" % mode)

    # a syslog daemon stopped leaves its socket: nobody listens
    stale = pombo.no_syslog_wrapper(os.path.join(scratch, "stale"),
                                    stale_socket=True)
    if stale is not None:
        before = len(lines(logf))
        r = session(inst, "smtpd/smtpd", b"EHLO stale.test\nQUIT\n", stale)
        new = lines(logf)[before:]
        tap.ok(any("pombo/smtpd[" in l for l in new),
               "a /dev/log nobody listens on: log_file too", new)
    else:
        tap.skip("a /dev/log nobody listens on", "needs root and unshare")
finally:
    inst.check_clean(tap)
    inst.cleanup()

# no log_file: queued says the handlers' lines are lost
inst = pombo.Instance(name="pombo-nofile")
inst.start(wrapper=missing)
try:
    tap.ok("smtpd's and pop3d's lines are lost (set log_file)" in
           inst.log(), "without log_file, queued says lines are lost",
           inst.log())
    r = session(inst, "smtpd/smtpd", b"EHLO client.test\nQUIT\n", missing)
    tap.ok(r.stdout.startswith(b"220 ") and r.stderr == b"",
           "smtpd still writes to its client only", r.stdout + r.stderr)
finally:
    inst.check_clean(tap)
    inst.cleanup()
shutil.rmtree(scratch, ignore_errors=True)
tap.done()
