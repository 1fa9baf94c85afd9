"""./bootstrap run as someone trying Pombo meets it: it starts, every
command it prints under "Try:" works when pasted into another shell
(another folder, no POMBO_CONF), Ctrl-C (SIGINT to the whole process
group, as a terminal sends it) stops every program it started, a second
run in the same folder starts cleanly, and a run whose port is taken
says so and fails instead of claiming to be running.

It runs in a scratch folder and on free ports (POMBO_RUN, POMBO_SMTP_PORT,
POMBO_POP3_PORT); skipped in a VPATH build (bootstrap builds in the
source tree) and when a package bootstrap would install is missing (a
test must not run apt-get).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import ops

pombo = ops.pombo
tap = pombo.Tap()
SRC = os.path.realpath(ops.SRC)
BOOTSTRAP = os.path.join(SRC, "bootstrap")


def missing_packages():
    with open(BOOTSTRAP) as f:
        m = re.search(r'(?s)\nPACKAGES="([^"]*)"', f.read())
    missing = []
    for p in (m.group(1).split() if m else []):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p],
                           capture_output=True, text=True)
        if "install ok installed" not in r.stdout:
            missing.append(p)
    return missing if m else ["(no PACKAGES in bootstrap)"]


def listening(port):
    with socket.socket() as s:
        s.settimeout(1)
        # a bound, listening port refuses a second bind
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def default_sigint():
    """A terminal's shell starts bootstrap with SIGINT at its default; a
    suite started in the background (`./bootstrap check &`) has it
    ignored, and a shell cannot trap a signal ignored when it started."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Run:
    def __init__(self, rundir, smtp, pop3):
        self.out = tempfile.TemporaryFile()
        env = ops.clean_env()
        env.pop("POMBO_CONF", None)
        env.update(POMBO_RUN=rundir, POMBO_SMTP_PORT=str(smtp),
                   POMBO_POP3_PORT=str(pop3))
        self.p = subprocess.Popen(["sh", BOOTSTRAP, "run"], cwd="/",
                                  env=env, stdin=subprocess.DEVNULL,
                                  stdout=self.out, stderr=subprocess.STDOUT,
                                  start_new_session=True,
                                  preexec_fn=default_sigint)

    def text(self):
        self.out.seek(0)
        return self.out.read().decode(errors="replace")

    def started(self):
        return pombo.wait_for(lambda: "Ctrl-C stops everything" in
                              self.text() or self.p.poll() is not None,
                              300, 0.1)

    def group(self):
        """The processes still in the run's process group."""
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    stat = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[2]) == self.p.pid and stat[0] != "Z":
                pids.append(int(d))
        return pids

    def ctrl_c(self):
        try:
            os.killpg(self.p.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        try:
            self.p.wait(20)
        except subprocess.TimeoutExpired:
            pass
        return pombo.wait_for(lambda: not self.group(), 10)

    def kill(self):
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.p.wait()


if os.path.realpath(ops.BUILD) != SRC:
    tap.skip("./bootstrap run", "a VPATH build: bootstrap builds in %s" % SRC)
    tap.done()
missing = missing_packages()
if missing:
    tap.skip("./bootstrap run", "packages missing: %s" % " ".join(missing))
    tap.done()

tmp = tempfile.mkdtemp(prefix="pombo-bootstrap-")
rundir = os.path.join(tmp, "run")
smtp, pop3 = pombo.free_port(), pombo.free_port()
runs = []
try:
    r = Run(rundir, smtp, pop3)
    runs.append(r)
    tap.ok(r.started() and r.p.poll() is None, "bootstrap run starts",
           r.text()[-3000:])
    text = r.text()
    tap.ok(pombo.wait_for(lambda: listening(smtp) and listening(pop3), 10),
           "it listens on the ports it was given", text[-2000:])
    tries = re.findall(r"(?m)^  (.*)$", text.partition("Try:")[2])
    tries = [t.split("  #")[0].strip() for t in tries if t.strip()]
    by = {}
    for t in tries:
        for key in ("smtpd", "pombo-queue", "ls ", "poplib", "swaks",
                    "pombo-sendmail"):
            if key in t:
                by[key] = t
    tap.eq(sorted(by), ["ls ", "pombo-queue", "pombo-sendmail", "poplib",
                        "smtpd", "swaks"],
           "it prints how to send, list the queue, read and fetch mail")
    tap.ok(str(smtp) in by.get("swaks", "") and
           str(pop3) in by.get("poplib", ""),
           "the commands name the ports it listens on", by)

    # pasted into another shell: another folder, no POMBO_CONF
    env = ops.clean_env()
    env.pop("POMBO_CONF", None)

    def sh(cmd):
        return subprocess.run(["sh", "-c", cmd], cwd=tmp, env=env,
                              capture_output=True, text=True, timeout=60)

    res = sh(by.get("smtpd", "false"))
    tap.ok(res.returncode == 0 and "250 2.0.0" in res.stdout,
           "the printed smtpd pipe queues a message", res.stdout +
           res.stderr)
    res = sh(by.get("pombo-queue", "false"))
    tap.ok(res.returncode == 0, "the printed pombo-queue command works",
           res.stdout + res.stderr)
    new = os.path.join(rundir, "mail", "pombo.test", "demo", "new")
    tap.ok(pombo.wait_for(lambda: os.path.isdir(new) and os.listdir(new),
                          20), "the message reaches demo's Maildir",
           text[-1000:])
    res = sh(by.get("ls ", "false"))
    tap.ok(res.returncode == 0 and res.stdout.strip(),
           "the printed ls shows it", res.stdout + res.stderr)
    res = sh(by.get("poplib", "false"))
    tap.ok(res.returncode == 0 and res.stdout.startswith("(1, "),
           "the printed poplib line logs in and sees it",
           res.stdout + res.stderr)
    # cron's mail to root reaches the demo user, the postmaster alias's
    res = sh(by.get("pombo-sendmail", "false"))
    tap.ok(res.returncode == 0, "the printed cron-like pombo-sendmail works",
           res.stdout + res.stderr)
    tap.ok(pombo.wait_for(lambda: len(os.listdir(new)) == 2, 20),
           "and its mail to root reaches demo's Maildir", text[-1000:])

    tap.ok(r.ctrl_c(), "Ctrl-C stops every program it started",
           "left: %r\n%s" % (r.group(), r.text()[-1000:]))
    tap.ok(not listening(smtp) and not listening(pop3) and
           not os.path.exists(os.path.join(rundir, "queue.sock")),
           "nothing listens after Ctrl-C")

    # again, in the folder the first run left
    r = Run(rundir, smtp, pop3)
    runs.append(r)
    tap.ok(r.started() and r.p.poll() is None and
           pombo.wait_for(lambda: listening(smtp) and listening(pop3), 10),
           "a second run in the same folder starts", r.text()[-3000:])
    with open(os.path.join(rundir, "users")) as f:
        tap.eq(len(f.readlines()), 1, "with the one demo user")
    tap.ok(r.ctrl_c(), "and Ctrl-C stops it", r.text()[-1000:])

    # a port taken (another program, or a run left behind)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", smtp))
        busy.listen()
        r = Run(rundir, smtp, pop3)
        runs.append(r)
        r.started()
        try:
            r.p.wait(20)
        except subprocess.TimeoutExpired:
            pass
        text = r.text()
        tap.ok(r.p.poll() not in (None, 0) and
               "Pombo is running" not in text,
               "with its port taken it fails, not claims to be running",
               text[-2000:])
        tap.ok(str(smtp) in text, "and names what failed", text[-2000:])
        tap.ok(pombo.wait_for(lambda: not r.group(), 10),
               "leaving nothing running", r.group())
finally:
    for r in runs:
        if r.p.poll() is None or r.group():
            r.kill()
    shutil.rmtree(tmp, ignore_errors=True)
tap.done()
