"""The agents open a queue file only if it is still a regular file of
queued's user: a file replaced between queued's check and the agent's
open (a FIFO, a symbolic link, another user's file) fails its message
with a temporary error, at once, and the rest of the batch is
delivered. pombo-local and pombo-remote alone, a job on stdin, a
queue/ folder on fd 3. (They opened the name as it was: a FIFO held the
agent in open() until queued's timeout, ten minutes, a link was
followed and its target delivered.)"""
import os
import pwd
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()
d = tempfile.mkdtemp(prefix="pombo-agentopen-")
queue = os.path.join(d, "queue")
os.makedirs(queue)
mdir = os.path.join(d, "mail", "example.test", "bob")
QIDS = {"fifo": "01k177h582j1", "link": "01k177h582j2",
        "foreign": "01k177h582j3", "good": "01k177h582j4"}
# the same length everywhere, so that one job line fits every file
HEADER = (b"POMBO-QUEUE 1\nid %s\ntime 1795751098\n"
          b"client SMTP local x.test\nfrom <a@b.test>\n"
          b"rcpt <bob@example.test>\ndata\n")


def content(what):
    return b"Subject: %s\n\nsecret-%s\n" % (what.encode(), what.encode())


def write(path, qid, what):
    with open(path, "wb") as f:
        f.write(HEADER % qid.encode() + content(what))


# the link's target: a file of queued's user outside queue/
write(os.path.join(d, "elsewhere"), QIDS["link"], "link")
os.mkfifo(os.path.join(queue, QIDS["fifo"]), 0o600)
os.symlink(os.path.join(d, "elsewhere"), os.path.join(queue, QIDS["link"]))
write(os.path.join(queue, QIDS["foreign"]), QIDS["foreign"], "foreign")
nobody = pwd.getpwnam("nobody")
os.chown(os.path.join(queue, QIDS["foreign"]), nobody.pw_uid, nobody.pw_gid)
write(os.path.join(queue, QIDS["good"]), QIDS["good"], "good")
OFF = len(HEADER % QIDS["good"].encode())


def job(head, rcpt_extra):
    out = "POMBO-JOB 1\nhost mx.test\n" + head
    for i, what in enumerate(("fifo", "link", "foreign", "good")):
        out += ("msg %s 1795751098 %d %d <a@b.test>\nrcpt %d "
                "bob@example.test %s\n" % (QIDS[what], OFF,
                                           len(content(what)), i,
                                           rcpt_extra))
    return (out + "end\n").encode()


def run(program, j):
    t = time.monotonic()
    try:
        r = pombo.run_agent(program, j, queue, timeout=20)
    except Exception as e:     # subprocess.TimeoutExpired: it blocked
        return None, time.monotonic() - t, str(e)
    return r, time.monotonic() - t, ""


def results(r):
    return {l.split()[0]: l for l in r.stdout.decode().splitlines()}


def check(name, r, took, err, delivered):
    tap.ok(r is not None and took < 15, "%s: answers promptly" % name,
           "%.1f s %s" % (took, err))
    res = results(r) if r is not None else {}
    for what in ("fifo", "link", "foreign"):
        line = res.get(QIDS[what], "")
        tap.ok(" temp " in line and "Cannot read the queued message" in
               line, "%s: the %s fails for now" % (name, what), line)
    tap.ok(" ok " in res.get(QIDS["good"], ""),
           "%s: the good message of the batch is delivered" % name, res)
    tap.eq(delivered(), ["good"], "%s: nothing but it was read" % name)


def maildir_subjects():
    out = []
    for sub in ("new", "cur"):
        p = os.path.join(mdir, sub)
        for n in sorted(os.listdir(p)) if os.path.isdir(p) else []:
            with open(os.path.join(p, n), "rb") as f:
                data = f.read()
            out += [w for w in ("fifo", "link", "foreign", "good")
                    if b"secret-" + w.encode() + b"\n" in data]
    return out


r, took, err = run("queued/pombo-local", job("", mdir))
check("pombo-local", r, took, err, maildir_subjects)

port = pombo.free_port()
peer = Peer("127.0.0.1", port, "mx.far.test")
try:
    r, took, err = run("queued/pombo-remote", job(
        "dest far.test\nrelay [127.0.0.1]:%d\ntls none\ntimeout 30\n" % port,
        "-"))
    check("pombo-remote", r, took, err, lambda: [
        w for m in peer.messages for w in ("fifo", "link", "foreign", "good")
        if b"secret-" + w.encode() + b"\r\n" in m["data"]])
finally:
    peer.stop()
    shutil.rmtree(d, ignore_errors=True)
tap.done()
