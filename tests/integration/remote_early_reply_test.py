"""pombo-remote against a server that answers the end of the data before
it has it: a "250" sent with the 354, and the real verdict (a 550) after
the dot. The early 250 is no answer to the message: it stays queued,
deferred, and is not logged as sent (it was, and the 550 was lost with
the sender never told)."""
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()


class EarlyPeer:
    """Answers DATA with "354" and "250" at once; 550 after the dot."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.dots = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,),
                             daemon=True).start()

    def _session(self, conn):
        conn.settimeout(10)
        f = conn.makefile("rwb")

        def say(b):
            f.write(b)
            f.flush()
        try:
            say(b"220 far.test ESMTP\r\n")
            for _ in range(50):
                line = f.readline()
                if not line:
                    break
                verb = line[:4].upper()
                if verb == b"EHLO":
                    say(b"250-far.test\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    say(b"354 go ahead\r\n250 2.0.0 early, not about it\r\n")
                    for _ in range(1000):
                        line = f.readline()
                        if not line or line == b".\r\n":
                            break
                    if line == b".\r\n":
                        self.dots += 1
                    say(b"550 5.7.1 refused after all\r\n")
                elif verb == b"QUIT":
                    say(b"221 bye\r\n")
                    break
                else:
                    say(b"250 ok\r\n")
        except OSError:
            pass
        finally:
            conn.close()


peer = EarlyPeer()
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
