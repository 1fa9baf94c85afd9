"""Notifications (DSNs) queued writes itself. A bounce that cannot be
queued (the spool is full) keeps the original message and the owed
notice, in memory and in its state file across a restart, and is tried
again every retry_interval until it is queued; only then does the
original go. The spool is a 2 MB tmpfs, filled while the relay peer
(slow to greet) is about to answer 550. A notification to a local
address goes through the aliases like mail from outside; a double bounce
goes to the postmaster's alias, and one that fails is not bounced
again, wherever the alias sent it."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()


def mailbox(inst, user, domain="example.test"):
    return [m.decode("utf-8", "replace") for m in
            inst.delivered(user, domain)]


def send(inst, sender, rcpt, body, mail_params=b""):
    out = inst.smtpd(b"EHLO c.test\nMAIL FROM:<" + sender + b">" +
                     mail_params + b"\nRCPT TO:<" + rcpt + b">\nDATA\n" +
                     body + b"\n.\nQUIT\n")
    m = re.search(rb"queued as (\w+)", out)
    return m.group(1).decode() if m else None


def fill(path, leave):
    """Fill the file system of path, then give back leave bytes."""
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    with open(path, "r+b") as f:
        f.truncate(max(0, os.path.getsize(path) - leave))


def state_of(inst, qid):
    try:
        with open(os.path.join(inst.spool, "state", qid)) as f:
            return f.read()
    except OSError:
        return ""


# --- a bounce that cannot be queued is kept, not lost -----------------
P = pombo.free_port()
peer = Peer("127.0.0.1", P, "mx.far.test",
            replies={"RCPT": "550 5.1.1 unknown"}, greeting_delay=3)
A = pombo.Instance({"hold_deliveries": "no",
                    "relayhost": "[127.0.0.1]:%d" % P,
                    "retry_interval": "3s", "delay_warning": "0",
                    "min_free_space": "64k"}, name="pombo-notify")
os.makedirs(A.spool)
r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs",
                    A.spool], capture_output=True)
mounted = r.returncode == 0
if not mounted:
    tap.skip("bounce kept on a full spool",
             "cannot mount tmpfs: " + r.stderr.decode().strip())
try:
    if mounted:
        A.start()
        filler = os.path.join(A.spool, "filler")
        # RET=FULL: the bounce is as big as the message, too big for the
        # room left, while a state file still fits
        body = b"Subject: will bounce\n\n" + (b"x" * 76 + b"\n") * 2700
        qid = send(A, b"alice@example.test", b"nobody@far.test", body,
                   b" RET=FULL")
        tap.ok(qid is not None, "the message is accepted")
        fill(filler, 96 * 1024)
        tap.ok(pombo.wait_for(lambda: "status=bounced" in A.log(), 15),
               "the peer refuses it")
        tap.ok(pombo.wait_for(lambda: "not queued" in A.log(), 5),
               "the notification cannot be queued, and the log says so",
               A.log()[-2000:])
        time.sleep(0.5)
        tap.ok("%s: removed" % qid not in A.log(),
               "the original is not removed", A.log()[-2000:])
        tap.ok(qid in A.queue_files(), "it stays in queue/")
        tap.ok("notify 0 f" in state_of(A, qid),
               "its state file records the owed bounce", state_of(A, qid))
        n = A.log().count("not queued")
        tap.ok(pombo.wait_for(lambda: A.log().count("not queued") > n, 8),
               "tried again a retry interval later")
        tap.ok(qid in A.queue_files(), "still kept")
        # a restart with space back: the owed bounce is queued at once
        A.stop()
        os.unlink(filler)
        A.start()
        tap.ok(pombo.wait_for(lambda: mailbox(A, "alice"), 10),
               "after a restart the bounce reaches the sender",
               A.log()[-2000:])
        tap.ok(any("Action: failed" in m and "nobody@far.test" in m
                   for m in mailbox(A, "alice")),
               "it is the non-delivery notice of the message")
        tap.ok(pombo.wait_for(lambda: qid not in A.queue_files(), 5),
               "then the original goes")

        # without a restart: queued once there is room again (twice as
        # big, as the files of the removed ones are reused)
        before = len(mailbox(A, "alice"))
        body += (b"y" * 76 + b"\n") * 2700
        qid = send(A, b"alice@example.test", b"other@far.test", body,
                   b" RET=FULL")
        fill(filler, 96 * 1024)
        tap.ok(pombo.wait_for(lambda: "%s: next try" % qid in A.log(), 15),
               "a second bounce is kept", A.log()[-2000:])
        os.unlink(filler)
        tap.ok(pombo.wait_for(lambda: len(mailbox(A, "alice")) > before,
                              10),
               "and queued within a retry interval once space is back")
        tap.ok(pombo.wait_for(lambda: qid not in A.queue_files(), 5),
               "the original goes after its bounce is queued")
        A.check_clean(tap)
finally:
    peer.stop()
    A.stop()
    if mounted:
        subprocess.run(["umount", A.spool])
    A.cleanup()

# --- notifications go through the aliases ------------------------------
P = pombo.free_port()
peer = Peer("127.0.0.1", P, "mx.far.test",
            replies={"RCPT": "550 5.1.1 unknown"})
A = pombo.Instance({"hold_deliveries": "no",
                    "relayhost": "[127.0.0.1]:%d" % P,
                    "delay_warning": "0"}, name="pombo-notify")
aliases = os.path.join(A.dir, "aliases")
with open(aliases, "w") as f:
    f.write("root: alice\npostmaster: bob@example.test\n")
try:
    A.start()
    # a bounce to an aliased sender reaches the alias's target
    qid = send(A, b"root@example.test", b"nobody@far.test",
               b"Subject: from root\n\nhi")
    tap.ok(pombo.wait_for(lambda: mailbox(A, "alice"), 10),
           "a bounce to root@ reaches alice through the aliases",
           A.log()[-2000:])
    tap.ok(not os.path.exists(os.path.join(A.mail, "example.test", "root")),
           "no mailbox named root")
    tap.ok("No such mailbox" not in A.log(), "the bounce did not fail")
    # a failed bounce reaches the postmaster's alias's target
    qid = send(A, b"", b"nobody2@far.test", b"Subject: a bounce\n\nhi")
    tap.ok(pombo.wait_for(lambda: mailbox(A, "bob"), 10),
           "a double bounce reaches the postmaster alias's target",
           A.log()[-2000:])
    tap.eq(mailbox(A, "postmaster", "mx.test"), [],
           "and not the alias's own mailbox")
    tap.ok(mailbox(A, "bob") and "nobody2@far.test" in mailbox(A, "bob")[0],
           "it is about the failed bounce")
    # the postmaster's alias is remote, and refuses: the double bounce is
    # recognised by its mark, not by a postmaster@ recipient, and dropped
    time.sleep(1.1)     # a new mtime for the aliases file
    with open(aliases, "w") as f:
        f.write("root: alice\npostmaster: pm@far.test\n")
    n = A.log().count("double bounce to")
    qid = send(A, b"", b"nobody3@far.test", b"Subject: again\n\nhi")
    tap.ok(pombo.wait_for(lambda: "undeliverable double bounce, discarded"
                          in A.log(), 10),
           "a failing double bounce is discarded", A.log()[-2000:])
    time.sleep(2)
    tap.eq(A.log().count("double bounce to") - n, 1,
           "it is not bounced again")
    want = "RCPT TO:<pm@far.test> ORCPT=rfc822;postmaster@mx.test"
    tap.ok(want in peer.commands,
           "it went where the alias says, with its ORCPT",
           peer.commands[-10:])
    tap.ok(pombo.wait_for(lambda: not A.queue_files(), 5),
           "nothing left in the queue", A.queue_files())
    A.check_clean(tap)
finally:
    peer.stop()
    A.cleanup()
tap.done()
