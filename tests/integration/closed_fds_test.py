"""queued started with its standard input and output closed (a careless
init script, `queued 0<&- 1>&-`) still runs its agents right: the pipes
it then gets are numbered 0, 1, 3..., and wiring them to an agent's fds
0, 1 and 3 must not close one with another (agent.c moves them out of
the way first). A local delivery and a check of arriving mail by the
stand-in pombo-verify of verify_queue_test both go through."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()


def close_std():
    os.close(0)
    os.close(1)


A = pombo.Instance({"hold_deliveries": "no"}, name="pombo-fds")
logf = open(A.log_path, "ab")
A.queued = subprocess.Popen([pombo.prog("queued/queued"), "-d", "-c",
                             A.conf_path], stderr=logf, preexec_fn=close_std)
try:
    tap.ok(pombo.wait_for(A.ready, 10), "queued starts with fd 0 and 1 "
           "closed")
    for i in range(3):
        out = A.smtpd(b"EHLO c.test\nMAIL FROM:<x@example.test>\n"
                      b"RCPT TO:<bob@example.test>\nDATA\nSubject: n%d\n\n"
                      b"hi\n.\nQUIT\n" % i)
        tap.ok(re.search(rb"250 2.0.0 Ok: queued as", out),
               "message %d accepted" % i, out)
    pombo.wait_for(lambda: len(A.delivered("bob")) == 3, 20)
    got = A.delivered("bob")
    tap.eq(len(got), 3, "all three delivered by pombo-local")
    tap.ok(all(b"\nhi\n" in m for m in got), "bodies intact")
    tap.ok("bad result line" not in A.log() and "exited with" not in
           A.log(), "no agent trouble in the log", A.log()[-500:])
finally:
    A.check_clean(tap)
    A.cleanup()
tap.done()
