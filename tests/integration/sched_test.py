"""Scheduling edges: a message held by the administrator while it waits
for a free agent of its destination is not delivered (pombo-queue hold);
and recipients deferred without a try because their destination is dead
(no server answered for a whole batch) keep a well-formed error, "<mta>
<reply>", in their state file and in the delay notice made from it."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()


def queue_tool(inst, *args):
    return subprocess.run([pombo.prog("queued/pombo-queue"), "-c",
                           inst.conf_path] + list(args), capture_output=True,
                          text=True, env=inst.env(), timeout=30)


def qid_of(out):
    m = re.search(rb"queued as (\w+)", out)
    return m.group(1).decode() if m else None


def message(rcpt, subject, also=b""):
    return (b"MAIL FROM:<alice@example.test>\nRCPT TO:<%s>\n%sDATA\n"
            b"Subject: %s\n\nhi\n.\n" % (rcpt, also, subject))


# -- hold while waiting for an agent: one agent per destination until a
# server has answered, and the peer greets only after 3 s
port = pombo.free_port()
peer = Peer("127.0.0.1", port, "mx.far.test", greeting_delay=3)
A = pombo.Instance({"hold_deliveries": "no",
                    "relayhost": "[127.0.0.1]:%d" % port,
                    "delay_warning": "0"}, name="pombo-sched-hold").start()
try:
    A.smtpd(b"EHLO c.test\n" + message(b"first@far.test", b"1") + b"QUIT\n")
    tap.ok(pombo.wait_for(lambda: peer.connections > 0, 5, 0.05),
           "the first message's agent has connected (no greeting yet)")
    out = A.smtpd(b"EHLO c.test\n" + message(b"second@far.test", b"2") +
                  b"QUIT\n")
    second = qid_of(out)
    tap.ok(second is not None, "the second message is accepted", out)
    r = queue_tool(A, "hold", second)
    tap.ok(r.returncode == 0, "pombo-queue hold succeeds", r.stderr)
    tap.ok(pombo.wait_for(lambda: len(peer.messages) >= 1, 15),
           "the first message reaches the peer")
    # a second agent would greet after 3 s more: give it 5
    time.sleep(5)
    got = [m["rcpts"] for m in peer.messages]
    tap.eq(got, [["<first@far.test>"]],
           "the held message is not delivered when the agent frees up")
    tap.ok(second in A.queue_files(), "the held message stays queued")
    r = queue_tool(A, "--json", "list")
    try:
        listed = {m["id"]: m for m in json.loads(r.stdout)}
    except ValueError:
        listed = {}
    tap.ok(second in listed and listed[second]["state"] == "held" and
           listed[second]["sender"] == "alice@example.test",
           "pombo-queue --json list: the held message, its sender without "
           "brackets", r.stdout)
    r = queue_tool(A, "release", second)
    tap.ok(r.returncode == 0, "pombo-queue release succeeds", r.stderr)
    tap.ok(pombo.wait_for(lambda: len(peer.messages) >= 2, 15),
           "released, it is delivered", A.log()[-2000:])
finally:
    peer.stop()
    A.check_clean(tap)
    A.cleanup()

# -- a dead destination: a relayhost where nothing listens. An attempt
# finds no server, and the messages behind it are deferred without a try
# until the next retry; with more messages than a batch takes (100), some
# are deferred that way on every round. Each message also goes to bob,
# whose Maildir is a plain file (a temporary failure), so that its state
# file is written every round.
closed = pombo.free_port()
B = pombo.Instance({"hold_deliveries": "no",
                    "relayhost": "[127.0.0.1]:%d" % closed,
                    "retry_interval": "2s", "queue_lifetime": "1h",
                    "delay_warning": "0"}, name="pombo-sched-dead")
os.makedirs(os.path.join(B.mail, "example.test"))
open(os.path.join(B.mail, "example.test", "bob"), "w").close()
B.start()
try:
    N = 130
    out = B.smtpd(b"EHLO c.test\n" + b"".join(
        message(b"u%d@far.test" % i, b"%d" % i,
                b"RCPT TO:<bob@example.test>\n") for i in range(N)) +
        b"QUIT\n", timeout=120)
    tap.eq(out.count(b"250 2.0.0 Ok: queued as"), N,
           "%d messages accepted" % N)
    state = os.path.join(B.spool, "state")

    def states():
        names = os.listdir(state) if os.path.isdir(state) else []
        texts = []
        for n in names:
            try:
                with open(os.path.join(state, n)) as f:
                    texts.append(f.read())
            except OSError:
                pass
        return texts

    def remote_errors():
        """Errors of remote recipients tried at least twice."""
        return [m.group(1) for t in states() for m in re.finditer(
            r"^rcpt 0 q (?:[2-9]|\d\d+) \d+ (.*)$", t, re.M)]
    tap.ok(pombo.wait_for(lambda: len(remote_errors()) >= N, 90, 0.5),
           "the remote recipients were tried and deferred, rounds over",
           "%d of %d" % (len(remote_errors()), N))
    errors = remote_errors()
    bad = [e for e in errors if not re.match(r"\S+ [45]\d\d ", e)]
    tap.ok(not bad, "every error is '<mta> <code> ...', also for those "
           "deferred because the destination was dead",
           "%d malformed, e.g. %r" % (len(bad), bad[:2]))
    tap.ok("no server answered" in B.log(),
           "the destination was found dead", B.log()[-2000:])
finally:
    B.check_clean(tap)
    B.cleanup()

tap.done()
