"""A queue file cut short on disk is never delivered: the envelope records
the message's length when it is committed, and a file that no longer
has it is moved to quarantine/ and the postmaster gets a notice with
the queue id and what was wrong (not the message). The untouched
message beside it is delivered. Checked while queued runs and across a
restart (the length then comes from the file's own header), and a queue
file written before the length line still loads and is delivered; an
empty one is set aside at start."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()


def cut(inst, qid, n):
    path = os.path.join(inst.spool, "queue", qid)
    os.truncate(path, os.path.getsize(path) - n)


def quarantined(inst):
    d = os.path.join(inst.spool, "quarantine")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def notices(inst):
    return [m.decode("utf-8", "replace") for m in
            inst.delivered("postmaster", "mx.test")]


def peer_got(peer, marker):
    return [m for m in peer.messages if marker in m["data"]]


P = pombo.free_port()
peer = Peer("127.0.0.1", P, "mx.far.test",
            replies={"RCPT": "451 4.3.0 try later"})
A = pombo.Instance({"hold_deliveries": "no",
                    "relayhost": "[127.0.0.1]:%d" % P,
                    "retry_interval": "1h", "delay_warning": "0"},
                   name="pombo-damaged")
try:
    A.start()
    body = b"Subject: SECRET-ONE\n\n" + (b"line of the message\n" * 200)
    q1 = A.send_one(b"one@far.test", body)
    q2 = A.send_one(b"two@far.test", b"Subject: SECRET-TWO\n\nintact\n")
    tap.ok(q1 and q2, "two messages to a deferring destination are queued")
    tap.ok(pombo.wait_for(lambda: A.log().count("status=deferred") >= 2,
                          15), "both are deferred", A.log()[-2000:])
    head, msg = A.queue_file(q1).split(b"\ndata\n", 1)
    tap.ok(re.search(rb"\nlength 0*%d$" % len(msg), head) is not None,
           "the queue file records the message's length", head)

    cut(A, q1, 1000)
    peer.replies = {}
    tap.eq(A.queue_tool("flush").returncode, 0, "pombo-queue flush")
    tap.ok(pombo.wait_for(lambda: peer_got(peer, b"SECRET-TWO"), 15),
           "the untouched message is delivered", A.log()[-2000:])
    tap.ok(pombo.wait_for(lambda: q1 in quarantined(A), 10),
           "the cut one is in quarantine/", A.log()[-2000:])
    tap.eq(peer_got(peer, b"SECRET-ONE"), [], "and is not delivered")
    tap.ok(q1 not in A.queue_files(), "nor left in queue/")
    # removed just after the move to quarantine/ (sched.c, damaged)
    tap.ok(pombo.wait_for(lambda: not os.path.exists(
        os.path.join(A.spool, "state", q1)), 5), "its state file is gone")
    tap.ok(pombo.wait_for(lambda: notices(A), 10),
           "the postmaster gets a notice", A.log()[-2000:])
    n = notices(A)[0] if notices(A) else ""
    tap.ok(q1 in n and "cut short" in n and "one@far.test" in n,
           "it names the queue id, what was wrong and the recipient", n)
    tap.ok("SECRET-ONE" not in n and "line of the message" not in n,
           "and nothing of the message", n)
    tap.ok("quarantined %s" % q1 in A.log(), "the log says so too")

    # across a restart: the length comes from the queue file itself
    peer.replies = {"RCPT": "451 4.3.0 try later"}
    q3 = A.send_one(b"three@far.test", b"Subject: SECRET-THREE\n\n" +
              b"x" * 5000 + b"\n")
    tap.ok(pombo.wait_for(lambda: "%s: from=<alice@example.test>, "
                          "to=<three@far.test>" % q3 in A.log(), 15),
           "a third message is deferred", A.log()[-2000:])
    A.stop()
    cut(A, q3, 4000)
    peer.replies = {}
    A.start()
    tap.eq(A.queue_tool("flush").returncode, 0, "flush after the restart")
    tap.ok(pombo.wait_for(lambda: q3 in quarantined(A), 10),
           "the message cut while queued was down is set aside",
           A.log()[-2000:])
    tap.eq(peer_got(peer, b"SECRET-THREE"), [], "and is not delivered")
    tap.ok(pombo.wait_for(lambda: len(notices(A)) == 2, 10),
           "the postmaster gets a second notice", A.log()[-3000:])
    A.check_clean(tap)
finally:
    peer.stop()
    A.cleanup()

# --- a queue file from before the length line loads and is delivered --
B = pombo.Instance({"hold_deliveries": "no"}, name="pombo-damaged")
try:
    for d in ("incoming", "queue", "state", "quarantine"):
        os.makedirs(os.path.join(B.spool, d))
    with open(os.path.join(B.spool, "queue", "01k177h582jd"), "w") as f:
        f.write("POMBO-QUEUE 1\nid 01k177h582jd\ntime 1795751098\n"
                "client SMTP local x.test\nfrom <a@far.test>\n"
                "rcpt <bob@example.test>\ndata\nSubject: old\n\nold file\n")
    # a crash of the machine can leave a queue file empty: set aside
    # at start (its header's first read failed before the envelope was
    # set up, and queued freed garbage and died of SIGSEGV)
    open(os.path.join(B.spool, "queue", "01k177h582je"), "w").close()
    B.start()
    tap.ok(pombo.wait_for(lambda: B.delivered("bob"), 10),
           "an older queue file without a length is delivered",
           B.log()[-2000:])
    tap.ok(B.delivered("bob") and
           B.delivered("bob")[0].endswith(b"\nold file\n"), "whole")
    tap.eq(quarantined(B), ["01k177h582je"], "only the empty queue file "
           "is set aside")
    B.check_clean(tap)
finally:
    B.cleanup()
tap.done()
