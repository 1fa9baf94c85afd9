"""A queue file replaced by a FIFO (or anything not a regular file of
queued's user) while queued runs is never handed to an agent: it goes to quarantine/ at its
delivery attempt, and the mail of the same batch is delivered. (The
length check took a file it could not size for intact, and pombo-local
blocked in open() on the FIFO until its timeout, ten minutes, holding
its whole batch.)"""
import os
import pwd
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
inst = pombo.Instance({"hold_deliveries": "yes"}, name="pombo-qfifo")


def send(rcpt, subject):
    out = inst.smtpd(b"EHLO c.test\nMAIL FROM:<a@c.test>\nRCPT TO:<%s>\n"
                     b"DATA\nSubject: %s\n\nhello\n.\nQUIT\n" %
                     (rcpt.encode(), subject.encode()), timeout=20)
    for line in out.split(b"\r\n"):
        if line.startswith(b"250 2.0.0 Ok: queued as "):
            return line.split()[-1].decode()
    return None


def queue_cmd(*args):
    return subprocess.run([pombo.prog("queued/pombo-queue"), "-c",
                           inst.conf_path] + list(args),
                          capture_output=True, text=True, timeout=20)


def got(user, subject):
    return any(b"Subject: " + subject.encode() in m
               for m in inst.delivered(user))


try:
    inst.start()
    a = send("bob@example.test", "fifo")
    b = send("bob@example.test", "other")
    c = send("bob@example.test", "foreign")
    tap.ok(a and b and c, "three messages queued")
    for q in (a, b, c):
        queue_cmd("hold", q)
    inst.stop()
    with open(inst.conf_path) as f:
        conf = f.read().replace("hold_deliveries = yes",
                                "hold_deliveries = no")
    with open(inst.conf_path, "w") as f:
        f.write(conf)
    inst.start()
    # while queued runs, a's file becomes a FIFO
    path = os.path.join(inst.spool, "queue", a)
    os.unlink(path)
    os.mkfifo(path, 0o600)
    # and c's is another user's
    nobody = pwd.getpwnam("nobody")
    os.chown(os.path.join(inst.spool, "queue", c), nobody.pw_uid,
             nobody.pw_gid)
    for q in (a, b, c):
        queue_cmd("release", q)
    quarantine = os.path.join(inst.spool, "quarantine")
    tap.ok(pombo.wait_for(lambda: a in os.listdir(quarantine), 15),
           "the FIFO goes to quarantine/", inst.log()[-3000:])
    tap.ok(pombo.wait_for(lambda: got("bob", "other"), 15),
           "the other message is delivered", inst.log()[-3000:])
    tap.ok(not got("bob", "fifo"), "nothing is delivered from the FIFO")
    tap.ok(pombo.wait_for(lambda: c in os.listdir(quarantine), 15),
           "another user's file goes there too", inst.log()[-3000:])
    tap.ok(not got("bob", "foreign"), "and is not delivered")
    inst.check_clean(tap)
finally:
    inst.cleanup()
tap.done()
