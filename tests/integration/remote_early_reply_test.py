"""pombo-remote against a server that answers the end of the data before
it has it: a "250" sent with the 354, and the real verdict (a 550) after
the dot. The early 250 is no answer to the message: it stays queued,
deferred, and is not logged as sent (it was, and the 550 was lost with
the sender never told)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()
peer = Peer("127.0.0.1", pombo.free_port(), "far.test", replies={
    "DATA": "354 go ahead\r\n250 2.0.0 early, not about it",
    "END": "550 5.7.1 refused after all"})
A = pombo.Instance({"relayhost": "[127.0.0.1]:%d" % peer.port,
                    "hold_deliveries": "no", "retry_interval": "1h",
                    "delay_warning": "0", "remote_timeout": "5s"},
                   name="pombo-early").start()
try:
    qid = A.send_one(b"x@far.test", b"Subject: early\n\nhello\n")
    tap.ok(qid is not None, "the message is queued")
    tap.ok(pombo.wait_for(lambda: "status=" in A.log(), 20),
           "pombo-remote reported on it", A.log()[-1500:])
    log = A.log()
    tap.ok("status=sent" not in log, "an early 250 is not taken as sent",
           log[-1500:])
    tap.ok("status=deferred" in log and "replied before the end" in log,
           "the message is deferred as out of step", log[-1500:])
    tap.ok(qid in A.queue_files(), "the message stays in the queue",
           A.queue_files())
    tap.eq(peer.dots, 0, "the server never got the final dot")
    A.check_clean(tap)
finally:
    A.cleanup()
    peer.stop()
tap.done()
