"""A FIFO where queued writes its dead destinations (spool/dests.tmp) must
not hang it: the file is replaced, never opened as it is (a FIFO opened
for writing without O_NONBLOCK blocked queued's loop for good, SIGTERM
included, the way one in queue/ or state/ did). And a dests file that is
not queued's own is not believed, like any file of the spool."""
import os
import pwd
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()


def message(i):
    return (b"MAIL FROM:<alice@example.test>\nRCPT TO:<r%d@far.test>\nDATA\n"
            b"Subject: m%d\n\nhi\n.\n" % (i, i))


port = pombo.free_port()
peer = Peer("127.0.0.1", port, "mx.far.test",
            replies={"GREETING": "421 4.3.2 closing, go away"})
A = pombo.Instance({"relayhost": "[127.0.0.1]:%d" % port,
                    "hold_deliveries": "no", "delay_warning": "0",
                    "retry_interval": "1h"}, name="pombo-dfifo").start()
tmp = os.path.join(A.spool, "dests.tmp")
try:
    os.mkfifo(tmp, 0o600)
    A.smtpd(b"EHLO c.test\n" + message(0) + b"QUIT\n")
    tap.ok(pombo.wait_for(lambda: "no server answered" in A.log(), 10),
           "the destination is found dead", A.log())
    try:
        out = A.smtpd(b"EHLO c.test\n" + message(1) + b"QUIT\n", timeout=15)
    except subprocess.TimeoutExpired:
        out = b"(timed out)"
    tap.ok(b"250 2.0.0 Ok: queued as" in out,
           "queued still takes mail after writing dests", out)
    tap.ok(pombo.wait_for(lambda: os.path.isfile(
        os.path.join(A.spool, "dests")), 5), "the dests file is written")
    p = A.queued
    A.kill(signal.SIGTERM)
    tap.eq(p.returncode, 0, "and queued stops on SIGTERM")

    # another user's dests file, pausing the relayhost for a day
    dests = os.path.join(A.spool, "dests")
    os.unlink(dests)
    with open(dests, "w") as f:
        f.write("POMBO-DESTS 1\ndead relayhost %d - 421 4.3.2 forged\n"
                % (time.time() + 86400))
    nobody = pwd.getpwnam("nobody")
    os.chown(dests, nobody.pw_uid, nobody.pw_gid)
    before = peer.connections
    A.start()
    A.smtpd(b"EHLO c.test\n" + message(2) + b"QUIT\n")
    tap.ok(pombo.wait_for(lambda: peer.connections > before, 10),
           "another user's dests file is not believed: a connection",
           A.log()[-2000:])
    A.stop()
finally:
    if os.path.exists(tmp) and not os.path.isfile(tmp):
        os.unlink(tmp)
    A.cleanup()
    peer.stop()
tap.done()
