"""A dead destination (no server answered a whole batch) is left alone for
a retry interval, and that pause survives a restart of queued, kill -9
included: the messages that waited for it are not all tried at once on the
next start. The spool's dests file keeps it; one that does not parse is
ignored (one connection, not one per message), and a pause longer than
retry_interval is cut to it."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()



def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def message(i):
    return (b"MAIL FROM:<alice@example.test>\nRCPT TO:<r%d@far.test>\nDATA\n"
            b"Subject: m%d\n\nhi\n.\n" % (i, i))


port = pombo.free_port()
# a server that answers nothing but 421: the destination is dead
peer = Peer("127.0.0.1", port, "mx.far.test",
            replies={"GREETING": "421 4.3.2 closing, go away"})
A = pombo.Instance({"relayhost": "[127.0.0.1]:%d" % port,
                    "hold_deliveries": "no", "delay_warning": "0",
                    "retry_interval": "1h"}, name="pombo-dead").start()
dests = os.path.join(A.spool, "dests")
try:
    A.smtpd(b"EHLO c.test\n" + message(0) + b"QUIT\n")
    tap.ok(pombo.wait_for(lambda: "no server answered; no attempts for "
                          "3600s" in A.log(), 10),
           "the destination is found dead", A.log())
    A.smtpd(b"EHLO c.test\n" + b"".join(message(i) for i in range(1, 6)) +
            b"QUIT\n")
    time.sleep(1)
    tap.eq(peer.connections, 1, "later messages wait without a connection")
    text = read(dests)
    tap.ok(text.startswith("POMBO-DESTS 1\ndead relayhost ") and
           "421 4.3.2 closing" in text, "the spool's dests file says so",
           text)

    A.kill(signal.SIGKILL)
    A.start()
    time.sleep(3)
    tap.eq(peer.connections, 1,
           "after kill -9 and a restart: still no connection")
    tap.eq(len(A.queue_files()), 6, "the messages wait in the queue")
    A.stop()
    A.start()
    time.sleep(2)
    tap.eq(peer.connections, 1, "nor after a clean restart")

    # a dests file that does not parse: forgotten, one connection tries
    # (one agent for the whole batch), and the pause is written again
    A.stop()
    with open(dests, "w") as f:
        f.write("POMBO-DESTS 1\ndead relayhost soon\n")
    A.start()
    tap.ok(pombo.wait_for(lambda: peer.connections >= 2, 10),
           "a dests file that does not parse is ignored")
    time.sleep(1)
    tap.eq(peer.connections, 2, "one connection for all the messages")
    tap.ok("dests does not parse: ignored" in A.log(), "and logged")
    tap.ok(read(dests).startswith("POMBO-DESTS 1\ndead relayhost "),
           "the new pause is on disk")

    # a pause longer than retry_interval (a clock set back, a shorter
    # interval since) lasts no more than retry_interval
    A.stop()
    with open(dests, "w") as f:
        f.write("POMBO-DESTS 1\ndead relayhost %d - 421 4.3.2 earlier\n"
                % (time.time() + 10 * 86400))
    A.set_conf(retry_interval="3s")
    t0 = time.monotonic()
    A.start()
    # the queued messages wait for their own retry (1h): a new one. The
    # pause is cut to 3 s from queued's start, in whole seconds: more
    # than 2 s after t0 (a check at a fixed time after the start could
    # come after it on a slow start)
    A.smtpd(b"EHLO c.test\n" + message(6) + b"QUIT\n")
    ended = pombo.wait_for(lambda: peer.connections >= 3, 10)
    took = time.monotonic() - t0
    tap.ok(took > 2, "a pause from the file holds at first (%.1f s)" % took)
    tap.ok(ended, "and ends after retry_interval, not 10 days")
    A.check_clean(tap)
finally:
    A.cleanup()
    peer.stop()
tap.done()
