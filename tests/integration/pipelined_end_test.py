"""A transaction that ends at once, inside the line that ended its data
(here: the checks' agent cannot be started, so the message gets 451 at
once), while the handler has pipelined more commands after the final
chunk: queued answers each of them in turn, once, and sees no protocol
violation. (It used to run its input loop again from inside the line,
over the same buffer: the end-of-data line was read a second time, as
a command.)"""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
inst = pombo.Instance({"inbound_auth": "yes"}, name="pombo-pipeend")
inst.start()
try:
    # queued found its agent at start; now it is gone
    os.unlink(os.path.join(inst.dir, "libexec", "pombo-verify"))
    body = b"Subject: p\n\npiped\n"
    q = socket.socket(socket.AF_UNIX)
    q.settimeout(20)
    q.connect(inst.sock)
    q.sendall(b"POMBO 1\nHELO ESMTP 192.0.2.7 c.test\nMAIL <x@far.test>\n"
              b"RCPT <bob@example.test>\nDATA\n%d\n%s0\n"
              b"MAIL <y@far.test>\nRSET\nQUIT\n" % (len(body), body))
    got = b""
    while b"221 " not in got:
        d = q.recv(65536)
        if not d:
            break
        got += d
    q.close()
    lines = got.decode().splitlines()
    codes = [x[:3] for x in lines]
    tap.eq(codes, ["250", "250", "250", "250", "354", "451", "250", "250", "221"],
           "each command after the final chunk answered once, in turn")
    tap.ok(any("cannot check" in x for x in lines),
           "the message got the checks' 451", got)
    with open(inst.log_path, errors="replace") as f:
        log = f.read()
    tap.ok("protocol violation" not in log, "no protocol violation logged",
           log[-2000:])
    tap.eq(inst.queue_files(), [], "nothing queued")
    tap.eq(inst.incoming_files(), [], "nothing left in incoming/")
    inst.check_clean(tap)
finally:
    inst.cleanup()
tap.done()
