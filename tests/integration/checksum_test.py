"""A queue file whose bytes changed on disk but kept their size (what a
crash of the machine can leave after the rename into queue/ and before
the file's data reached the disk: a block of some other file under the
right length) is never delivered: the queue file's "sum" line holds the
message's CRC-32C, the delivery agents check it before the message
leaves, and the file goes to quarantine/ with a notice to the
postmaster, like a file cut short. Checked for the remote agent (a real
peer on loopback) while queued runs, for the local agent across a
restart (the sum then comes from the file's own header), for a delay
warning that would quote the message, and a queue file from before the
sum line, which still loads and is delivered."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()


def flip(inst, qid, marker):
    """Change one octet of the message in place: the size stays."""
    path = os.path.join(inst.spool, "queue", qid)
    with open(path, "r+b") as f:
        data = f.read()
        i = data.index(b"\ndata\n") + 6 + data.split(b"\ndata\n", 1)[1] \
            .index(marker) + len(marker) + 4
        f.seek(i)
        f.write(bytes([data[i] ^ 0x20]))
    return os.path.getsize(path) == len(data)


def quarantined(inst):
    d = os.path.join(inst.spool, "quarantine")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def notices(inst):
    return [m.decode("utf-8", "replace") for m in
            inst.delivered("postmaster", "mx.test")]


def peer_got(peer, marker):
    return [m for m in peer.messages if marker in m["data"]]


BODY = b"\n\n" + b"a line of the message, long enough to matter\n" * 100

# --- the remote agent, queued running ---------------------------------
P = pombo.free_port()
peer = Peer("127.0.0.1", P, "mx.far.test",
            replies={"RCPT": "451 4.3.0 try later"})
A = pombo.Instance({"hold_deliveries": "no",
                    "relayhost": "[127.0.0.1]:%d" % P,
                    "retry_interval": "1h", "delay_warning": "0"},
                   name="pombo-checksum")
try:
    A.start()
    q1 = A.send_one(b"one@far.test", b"Subject: SECRET-ONE" + BODY)
    q2 = A.send_one(b"two@far.test", b"Subject: SECRET-TWO" + BODY)
    tap.ok(q1 and q2, "two messages to a deferring destination are queued")
    tap.ok(pombo.wait_for(lambda: A.log().count("status=deferred") >= 2,
                          15), "both are deferred", A.log()[-2000:])
    ok, diag = A.sum_matches(q1) if q1 else (False, "")
    tap.ok(ok, "the queue file's sum line holds its message's CRC-32C",
           diag)
    tap.ok(flip(A, q1, b"SECRET-ONE"), "one octet of it changed, the "
           "size kept (the length check cannot see it)")
    peer.replies = {}
    tap.eq(A.queue_tool("flush").returncode, 0, "pombo-queue flush")
    tap.ok(pombo.wait_for(lambda: peer_got(peer, b"SECRET-TWO"), 15),
           "the untouched message is delivered", A.log()[-2000:])
    tap.ok(pombo.wait_for(lambda: q1 in quarantined(A), 10),
           "the changed one is in quarantine/", A.log()[-2000:])
    tap.eq(peer_got(peer, b"SECRET-ONE"), [], "and is not sent")
    tap.ok(q1 not in A.queue_files(), "nor left in queue/")
    # removed just after the move to quarantine/ (sched.c, damaged)
    tap.ok(pombo.wait_for(lambda: not os.path.exists(
        os.path.join(A.spool, "state", q1)), 5), "its state file is gone")
    tap.ok(pombo.wait_for(lambda: notices(A), 10),
           "the postmaster gets a notice", A.log()[-2000:])
    n = notices(A)[0] if notices(A) else ""
    tap.ok(q1 in n and "checksum" in n and "one@far.test" in n,
           "it names the queue id, the checksum and the recipient", n)
    tap.ok("a line of the message" not in n, "and nothing of the message")
    tap.ok(re.search(r"%s: the queue file is damaged: .*checksum" % q1,
                     A.log()) is not None and
           "quarantined %s" % q1 in A.log(), "the log says so",
           A.log()[-2000:])
    A.check_clean(tap)
finally:
    peer.stop()
    A.cleanup()

# --- the local agent, after a restart ---------------------------------
B = pombo.Instance({"hold_deliveries": "yes"}, name="pombo-checksum")
try:
    B.start()
    q1 = B.send_one(b"bob@example.test", b"Subject: LOCAL-ONE" + BODY)
    q2 = B.send_one(b"carol@example.test", b"Subject: LOCAL-TWO" + BODY)
    tap.ok(q1 and q2, "two local messages are queued, held")
    B.stop()
    tap.ok(flip(B, q1, b"LOCAL-ONE"), "one octet of one changed while "
           "queued was down, the size kept")
    B.set_conf(hold_deliveries="no")
    B.start()
    tap.ok(pombo.wait_for(lambda: B.delivered("carol"), 10),
           "the untouched one is delivered", B.log()[-2000:])
    tap.ok(pombo.wait_for(lambda: q1 in quarantined(B), 10),
           "the changed one is in quarantine/", B.log()[-2000:])
    tap.eq(B.delivered("bob"), [], "and in no mailbox")
    tmp = os.path.join(B.mail, "example.test", "bob", "tmp")
    tap.eq(os.listdir(tmp) if os.path.isdir(tmp) else [], [],
           "not even in tmp/")
    tap.ok(pombo.wait_for(lambda: notices(B), 10),
           "the postmaster gets a notice", B.log()[-2000:])
    n = notices(B)[0] if notices(B) else ""
    tap.ok(q1 in n and "checksum" in n and "bob@example.test" in n,
           "it names the queue id, the checksum and the recipient", n)
    tap.ok("never acknowledged" in B.log(), "the log says it may be a "
           "message never acknowledged (loaded at start)", B.log()[-2000:])
    B.check_clean(tap)
finally:
    B.cleanup()

# --- a notice about a message never quotes bytes that fail its sum ----
# No server answers (a closed port), so no agent reads the file; the
# delay warning quotes its headers, and finds it changed instead.
P = pombo.free_port()
D = pombo.Instance({"hold_deliveries": "no",
                    "relayhost": "[127.0.0.1]:%d" % P,
                    "retry_interval": "1s", "delay_warning": "3s"},
                   name="pombo-checksum")
try:
    D.start()
    q1 = D.send_one(b"one@far.test", b"Subject: DELAYED-ONE" + BODY)
    tap.ok(q1 and pombo.wait_for(lambda: "status=deferred" in D.log(), 15),
           "a message to a closed port is deferred", D.log()[-2000:])
    tap.ok(flip(D, q1, b"DELAYED-ONE"), "one octet of it changed")
    tap.ok(pombo.wait_for(lambda: q1 in quarantined(D), 20),
           "its delay warning finds it: set aside", D.log()[-2000:])
    pombo.wait_for(lambda: D.delivered("alice"), 10)
    warned = D.delivered("alice")
    tap.ok(len(warned) == 1 and b"one@far.test" in warned[0] and
           b"DELAYED-ONE" not in warned[0],
           "the sender's warning goes without the message's text",
           "%r\n%s" % (warned, D.log()[-2000:]))
    tap.ok(pombo.wait_for(lambda: notices(D), 10) and q1 in notices(D)[0],
           "the postmaster gets a notice", D.log()[-2000:])
    D.check_clean(tap)
finally:
    D.cleanup()

# --- a queue file from before the sum line loads and is delivered -----
C = pombo.Instance({"hold_deliveries": "no"}, name="pombo-checksum")
try:
    for d in ("incoming", "queue", "state", "quarantine"):
        os.makedirs(os.path.join(C.spool, d))
    msg = b"Subject: old\n\nold file\n"
    with open(os.path.join(C.spool, "queue", "01k177h582jd"), "wb") as f:
        f.write(b"POMBO-QUEUE 1\nid 01k177h582jd\ntime 1795751098\n"
                b"client SMTP local x.test\nfrom <a@far.test>\n"
                b"rcpt <bob@example.test>\nlength %018d\ndata\n" % len(msg)
                + msg)
    C.start()
    tap.ok(pombo.wait_for(lambda: C.delivered("bob"), 10),
           "a queue file with a length and no sum is delivered",
           C.log()[-2000:])
    tap.ok(C.delivered("bob") and
           C.delivered("bob")[0].endswith(b"\nold file\n"), "whole")
    tap.eq(quarantined(C), [], "nothing set aside")
    C.check_clean(tap)
finally:
    C.cleanup()
tap.done()
