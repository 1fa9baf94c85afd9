"""queued's side of the checks of arriving mail (issue 16): mail from the
Internet goes through pombo-verify between its data and its commit. Here
the agent is a scripted stand-in, so that every verdict and every way
an agent can fail is tried (pombo-verify itself is verify_agent_test):
its file takes the message's place (Authentication-Results: on top, the
length and the junk digit filled in), a refusal reaches the client as
the agent wrote it, junk lands in the user's .Junk/ if there is one, an
agent that dies or says nonsense gives 451 and queues nothing, relay
networks, local mail and inbound_auth = no are not checked, and a client
that hangs up meanwhile costs queued no CPU."""
import os
import re
import resource
import stat
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()

# The stand-in: what pombo-verify's contract says (shared/job.h), its
# verdict chosen by a word in the Subject.
STUB = r'''#!/usr/bin/python3
import os, sys, time
job = sys.stdin.read()
open(os.path.join(os.path.dirname(sys.argv[0]), "job.txt"), "a").write(job)
msg = [l for l in job.splitlines() if l.startswith("msg ")][0].split()
qid, off, size = msg[1], int(msg[3]), int(msg[4])
fd = os.open(qid, os.O_RDONLY, dir_fd=3)
data = os.pread(fd, size, off)
subject = data.split(b"Subject: ", 1)[1].split(b"\n", 1)[0].decode()
if subject == "slow":
    time.sleep(3)
if subject == "crash":
    sys.exit(1)
head = b"Authentication-Results: mx.test; stub=pass\n"
if subject == "noheader":
    head = b""
os.write(4, head + data)
word = {"junk": "junk spf=pass dkim=none dmarc=fail",
        "reject": "reject 550 5.7.1 Refused: example DMARC policy",
        "garbage": None}.get(subject, "ok spf=pass dkim=pass dmarc=pass")
print("hello" if word is None else "verdict %s %s" % (qid, word))
'''


def session(inst, subject, rcpt=b"bob@example.test", env=None):
    env = {"TCPREMOTEIP": "192.0.2.7"} if env is None else env
    return inst.smtpd(b"EHLO c.test\nMAIL FROM:<x@far.test>\nRCPT TO:<" +
                      rcpt + b">\nDATA\nSubject: " + subject +
                      b"\n\nbody\n.\nQUIT\n", env=env)


def queued_as(out):
    m = re.search(rb"250 2.0.0 Ok: queued as (\w+)", out)
    return m.group(1).decode() if m else None


def last_reply(out):
    return [l for l in out.split(b"\r\n") if l[:3] not in (b"", b"221")][-1]


def install_stub(inst):
    path = os.path.join(inst.settings["libexec_dir"], "pombo-verify")
    if os.path.lexists(path):
        os.unlink(path)
    with open(path, "w") as f:
        f.write(STUB)
    os.chmod(path, 0o755)
    return os.path.join(inst.settings["libexec_dir"], "job.txt")


def jobs(path):
    try:
        with open(path) as f:
            return f.read().count("POMBO-JOB 1")
    except OSError:
        return 0


A = pombo.Instance({"inbound_auth": "yes"}, name="pombo-vq")
jobfile = install_stub(A)
A.start()
try:
    # --- a message checked and passed: the agent's file is queued
    out = session(A, b"ok")
    qid = queued_as(out)
    tap.ok(qid is not None, "checked message accepted with 250", out)
    if qid:
        q = A.queue_file(qid)
        head, body = q.split(b"\ndata\n", 1)
        tap.ok(body.startswith(b"Authentication-Results: mx.test; stub=pass"
                               b"\nReceived: "),
               "the agent's field is on top of the queued message", q[-300:])
        tap.ok(b"\njunk 0\n" in head + b"\n", "junk line 0", head)
        length = int(re.search(rb"\nlength (\d+)", head).group(1))
        tap.eq(length, len(body), "recorded length is the checked file's")
        tap.eq(A.incoming_files(), [], "nothing left in incoming/")
    with open(jobfile) as f:
        job = f.read()
    for line in ("host mx.test", "client 192.0.2.7 c.test",
                 "dmarc-reject yes", "timeout 20"):
        tap.ok(line in job.splitlines(), "job says " + line, job)
    tap.ok(re.search(r"^msg \w{12} \d+ \d+ \d+ <x@far.test>$", job, re.M),
           "job has the msg line", job)

    # --- refused: the agent's reply reaches the client, nothing queued
    before = A.queue_files()
    out = session(A, b"reject")
    tap.eq(last_reply(out), b"550 5.7.1 Refused: example DMARC policy",
           "a refusal reaches the client as the agent wrote it")
    tap.eq(A.queue_files(), before, "refused message not queued")
    tap.eq(A.incoming_files(), [], "refused message gone from incoming/")

    # --- the agent fails: 451, never let in unchecked
    for subject in (b"crash", b"garbage", b"noheader"):
        out = session(A, subject)
        tap.ok(last_reply(out).startswith(b"451 4.7.0"),
               "agent failure (%s) gives 451 4.7.0" % subject.decode(), out)
        tap.eq(A.queue_files(), before, "nothing queued (%s)" %
               subject.decode())
        tap.eq(A.incoming_files(), [], "incoming/ empty (%s)" %
               subject.decode())

    # --- not checked: relay networks (a local pipe), and the transaction
    # after a refusal in the same session still works
    n = jobs(jobfile)
    out = session(A, b"ok", env={})
    qid = queued_as(out)
    tap.ok(qid and not A.message(qid).startswith(b"Authentication-Results"),
           "local client's mail not checked", out)
    tap.eq(jobs(jobfile), n, "agent not run for a local client")

    # --- a client that hangs up while its message is checked: queued
    # waits without spinning (epoll's hang-up is not re-reported)
    pid = A.queued.pid

    def cpu():
        with open("/proc/%d/stat" % pid) as f:
            f = f.read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    import subprocess
    p = subprocess.Popen([pombo.prog("smtpd/smtpd"), "-c", A.conf_path],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL,
                         env=dict(os.environ, TCPREMOTEIP="192.0.2.7"))
    p.stdin.write(b"EHLO c.test\nMAIL FROM:<x@far.test>\nRCPT TO:"
                  b"<bob@example.test>\nDATA\nSubject: slow\n\nx\n.\n")
    p.stdin.flush()
    pombo.wait_for(lambda: jobs(jobfile) > n, 10)
    time.sleep(0.3)
    p.kill()
    p.wait()
    c0 = cpu()
    time.sleep(2)
    used = cpu() - c0
    tap.ok(used < 0.5, "queued idle while a gone client's message is "
           "checked (%.2f s CPU in 2 s)" % used)
    pombo.wait_for(lambda: A.incoming_files() == [], 10)
    tap.eq(A.incoming_files(), [], "a gone client's message is dropped")
    A.stop()

    # --- junk: into .Junk/ when the user has one, else the inbox
    A.set_conf(hold_deliveries="no")
    A.start()
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(A.mail, "example.test", "alice", ".Junk",
                                 d))
    out = session(A, b"junk", rcpt=b"alice@example.test")
    qid = queued_as(out)
    tap.ok(qid is not None, "junk accepted", out)
    junk = os.path.join(A.mail, "example.test", "alice", ".Junk", "new")
    pombo.wait_for(lambda: os.listdir(junk), 10)
    tap.eq(len(os.listdir(junk)), 1, "junk delivered into .Junk/new")
    tap.eq(A.delivered("alice"), [], "not into alice's inbox")
    out = session(A, b"junk", rcpt=b"carol@example.test")
    pombo.wait_for(lambda: A.delivered("carol"), 10)
    got = A.delivered("carol")
    tap.ok(len(got) == 1 and b"\nAuthentication-Results: mx.test; stub=pass"
           in got[0], "no .Junk/: junk goes to the inbox, with the field",
           got)
    tap.ok(not os.path.exists(os.path.join(A.mail, "example.test", "carol",
                                           ".Junk")),
           "queued never makes a Junk folder")
    A.stop()

    # --- inbound_auth = no: not checked, and no pombo-verify needed
    os.unlink(os.path.join(A.settings["libexec_dir"], "pombo-verify"))
    A.set_conf(inbound_auth="no", hold_deliveries="yes")
    A.start()
    n = jobs(jobfile)
    qid = queued_as(session(A, b"ok"))
    tap.ok(qid and b"\njunk " not in A.queue_file(qid) and
           not A.message(qid).startswith(b"Authentication-Results"),
           "inbound_auth = no: Internet mail not checked")
    A.stop()
    # --- inbound_auth = yes without the agent: queued stops, naming it
    A.set_conf(inbound_auth="yes")
    try:
        A.start()
    except RuntimeError:
        pass
    try:
        status = A.queued.wait(timeout=10)
    except Exception:
        status = None
    tap.ok(status not in (None, 0), "inbound_auth without pombo-verify: "
           "queued stops (%r)" % status)
    tap.ok("pombo-verify" in A.log(), "the missing agent is named",
           A.log()[-300:])
finally:
    A.check_clean(tap) if A.queued and A.queued.poll() is None else None
    A.cleanup()
tap.done()
