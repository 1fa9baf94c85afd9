"""A remote agent's batch when a connection breaks: a peer that drops the
connection after the final dot of some messages gets the others over new
connections in the same run, and only what was tried counts an attempt;
a peer that drops every message gets each tried once, a bounded number
of connections per agent, and what an agent gave back untried waits a
pause (it was due again at once: an agent run and a connection per
message, at full speed); a queue file that shrank after it was queued
is not sent truncated (no final dot, the connection closed) and the rest
of the batch goes on over a fresh connection."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()



def queue_list(inst):
    return subprocess.run([pombo.prog("queued/pombo-queue"), "-c",
                           inst.conf_path, "list"], capture_output=True,
                          text=True, timeout=30).stdout


def subjects(msgs):
    out = []
    for m in msgs:
        s = re.search(rb"\r\nSubject: (\S+)\r\n", b"\r\n" + m["data"])
        out.append(s.group(1).decode() if s else "?")
    return out


def states(inst):
    """The recipient lines of every state file."""
    d = os.path.join(inst.spool, "state")
    out = []
    for n in sorted(os.listdir(d)):
        if "." in n:
            continue    # one being written
        try:
            with open(os.path.join(d, n)) as f:
                out += [l for l in f.read().split("\n")
                        if l.startswith("rcpt ")]
        except OSError:
            continue
    return out


def batch(peer, n, name, bodies=None):
    """An instance relaying to peer, n messages queued while held, then
    started with deliveries on: one agent takes them as one batch."""
    inst = pombo.Instance({"relayhost": "[127.0.0.1]:%d" % peer.port,
                           "delay_warning": "0", "retry_interval": "1h",
                           "remote_timeout": "30s"}, name=name).start()
    session = b"EHLO c.test\n"
    for i in range(n):
        body = bodies[i] if bodies else b"hi\n"
        session += (b"MAIL FROM:<alice@example.test>\nRCPT TO:<r%d@far.test>"
                    b"\nDATA\nSubject: m%d\n\n%s.\n" % (i, i, body))
    out = inst.smtpd(session + b"QUIT\n")
    qids = [q.decode() for q in re.findall(rb"queued as (\w+)", out)]
    tap.eq(len(qids), n, "%s: %d messages queued" % (name, n))
    inst.stop()
    inst.set_conf(hold_deliveries="no")
    return inst, qids


# -- some messages dropped after the dot: the others in the same run
port = pombo.free_port()
peer = Peer("127.0.0.1", port, "mx.far.test",
            drop_after_dot=lambda n: n in (2, 5))
A, qids = batch(peer, 8, "pombo-rdrop")
try:
    A.start()
    tap.ok(pombo.wait_for(lambda: len(peer.messages) >= 6, 15),
           "the 6 messages not dropped are delivered in the same run",
           subjects(peer.messages))
    tap.ok(pombo.wait_for(lambda: len(A.queue_files()) == 2, 10),
           "the 2 dropped ones stay queued", A.queue_files())
    tap.eq(peer.connections, 3, "one connection, then one more per drop")
    ql = queue_list(A)
    tap.ok(ql.count("Connection lost after DATA") == 2,
           "each dropped one has its own error", ql)
    tap.ok("No server took" not in ql, "no message is deferred untried", ql)
    st = states(A)
    tap.ok(len(st) == 2 and all(re.match(r"rcpt 0 q 1 ", l) for l in st),
           "one attempt each for the dropped ones", st)
    A.check_clean(tap)
finally:
    A.cleanup()
    peer.stop()

# -- every message dropped: each tried once, connections bounded; the
# rest waits a minute (queued/daemon/sched.c UNTRIED_PAUSE), so the
# first agent's connections (its first and RECONNECTS_MAX more, in
# queued/remote/remote.c) are all the peer sees for a while
TRIED = 1 + 5
port = pombo.free_port()
peer = Peer("127.0.0.1", port, "mx.far.test", drop_after_dot=lambda n: True)
A, qids = batch(peer, 20, "pombo-rdropall")
try:
    A.start()
    tap.ok(pombo.wait_for(lambda: len(peer.dropped) >= TRIED and
                          len(states(A)) == TRIED, 20),
           "the first agent tried %d messages" % TRIED,
           (len(peer.dropped), states(A)))
    tap.ok(pombo.wait_for(lambda: "not tried by its agent, due again in "
                          "60s" in A.log(), 5),
           "an agent stopped reconnecting and gave the rest back, for a "
           "minute")
    # without the pause, the other 14 took 14 more connections in this
    # time (an agent run each 6, as fast as they start)
    pombo.wait_for(lambda: peer.connections > TRIED, 4)
    tap.eq(peer.connections, TRIED, "no connection for the rest before "
           "the pause is over")
    st = states(A)
    tap.ok(len(st) == TRIED and all(re.match(r"rcpt 0 q 1 ", l)
                                    for l in st),
           "each tried once, none counted without a try", st)
    tap.eq(len(peer.dropped), TRIED, "none was sent twice")
    tap.eq(len(A.queue_files()), 20, "all 20 stay queued")
    A.check_clean(tap)
finally:
    A.cleanup()
    peer.stop()

# -- queue files that shrank: not sent truncated; the rest goes on. The
# batch's order is the spool's: when the first message's dot arrives, the
# big messages not yet sent are cut short, and the small ones must still
# be delivered after them.
port = pombo.free_port()
big = b"".join(b"line %06d of a big message\n" % i for i in range(8000))
bodies = [b"small\n", big, big, b"small\n"]
cut = []


def shrink(n):
    """At the first dot: truncate the big messages not being received."""
    if n != 1:
        return 0
    rcpt = [c for c in peer.commands if c.startswith("RCPT TO:")][-1]
    first = int(re.search(r"<r(\d+)@", rcpt).group(1))
    for i in (1, 2):
        if i != first:
            path = os.path.join(A.spool, "queue", qids[i])
            with open(path, "rb") as f:
                data = f.read()
            os.truncate(path, data.index(b"\ndata\n") + 6 + 1000)
            cut.append("m%d" % i)
    return 0.2


peer = Peer("127.0.0.1", port, "mx.far.test", end_delay=shrink)
A, qids = batch(peer, 4, "pombo-rshrink", bodies)
try:
    A.start()
    tap.ok(pombo.wait_for(lambda: {"m0", "m3"} <= set(subjects(
        peer.messages)), 10), "the small messages are delivered at once",
        (cut, subjects(peer.messages)))
    got = subjects(peer.messages)
    tap.ok(cut and not set(cut) & set(got),
           "the truncated messages are not delivered", (cut, got))
    tap.ok(all(m["data"].endswith(b"small\r\n") or
               m["data"].endswith(big.replace(b"\n", b"\r\n"))
               for m in peer.messages), "what was delivered is whole")
    tap.ok(not any(b"RSET" in m["data"] or b"MAIL FROM" in m["data"]
                   for m in peer.messages), "no command went into a body")
    tap.ok(pombo.wait_for(lambda: queue_list(A).count(
        "Cannot read the queued message") == len(cut), 5),
        "they stay queued, with the reason", queue_list(A))
    A.check_clean(tap)
finally:
    A.cleanup()
    peer.stop()
tap.done()
