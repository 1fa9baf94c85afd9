"""A CR in a message sent straight to queued's socket is refused (554
5.6.0), as smtpd refuses a bare CR and pombo-sendmail turns one into a
line end: the spool holds LF line ends only, and the remote agent sends
a message's octets as they are. A local program wrote "line\\r.\\rMAIL
FROM:..." through the socket, it was queued, and pombo-remote sent the
bare CRs to the next server ("\\r.\\r" ends the data for some: SMTP
smuggling from this host)."""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()


def submit(inst, body):
    """One message through the queue protocol: the reply to its end."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(inst.sock)
        f = s.makefile("rb")
        s.sendall(b"POMBO 1\nHELO SMTP local x.test\nMAIL <u@mx.test>\n"
                  b"RCPT <bob@example.test>\nDATA\n")
        replies = [f.readline() for _ in range(5)]
        if not replies[-1].startswith(b"354 "):
            return replies[-1]
        # in two chunks: a CR in either counts
        half = len(body) // 2
        s.sendall(b"%d\n%s%d\n%s0\n" % (half, body[:half], len(body) - half,
                                        body[half:]))
        return f.readline().decode().strip()


inst = pombo.Instance().start()
try:
    for name, body in (
            ("a bare CR", b"Subject: cr\n\nline\r.\rMAIL FROM:<a@b.test>\n"),
            ("CRLF line ends", b"Subject: crlf\r\n\r\nhello\r\n"),
            ("a CR at the end", b"Subject: end\n\nhello\r")):
        r = submit(inst, body)
        tap.ok(r.startswith("554 5.6.0"), "%s: refused" % name, r)
    tap.eq(inst.queue_files(), [], "nothing queued")
    r = submit(inst, b"Subject: lf\n\nhello\n")
    tap.ok(r.startswith("250 2.0.0 Ok: queued as"), "LF line ends: queued",
           r)
    tap.eq(len(inst.queue_files()), 1, "one message in the queue")
    tap.eq(inst.incoming_files(), [], "and no half message left")
finally:
    inst.check_clean(tap)
    inst.cleanup()
tap.done()
