"""Foreign files in the spool: a FIFO in queue/, state/ or free/ (before a
start and while queued runs) and another user's file in queue/ are never
opened for reading or reused; they go to quarantine/, queued starts,
delivers the other mail and stops on SIGTERM. (A FIFO opened without
O_NONBLOCK blocked queued's loop for good, SIGTERM included.)"""
import os
import pwd
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
nobody = pwd.getpwnam("nobody")
inst = pombo.Instance({"hold_deliveries": "yes"})


def send(rcpt, subject):
    out = inst.smtpd(b"EHLO c.test\nMAIL FROM:<a@c.test>\nRCPT TO:<%s>\n"
                     b"DATA\nSubject: %s\n\nhello\n.\nQUIT\n" %
                     (rcpt.encode(), subject.encode()), timeout=20)
    for line in out.split(b"\r\n"):
        if line.startswith(b"250 2.0.0 Ok: queued as "):
            return line.split()[-1].decode()
    return None


def folder(name):
    return os.path.join(inst.spool, name)


def got(user, subject):
    return any(b"Subject: " + subject.encode() in m
               for m in inst.delivered(user))


def start_bounded():
    """Start queued; True if it loaded its queue within 15 s."""
    inst.log_start = len(inst.log())
    inst.logf = open(inst.log_path, "ab")
    inst.queued = subprocess.Popen(
        [pombo.prog("queued/queued"), "-d", "-c", inst.conf_path],
        stdin=subprocess.DEVNULL, stdout=inst.logf, stderr=inst.logf)
    return pombo.wait_for(
        lambda: "queue loaded" in inst.log()[inst.log_start:], 15)


def stop_bounded():
    """SIGTERM; queued's exit status, or None if it ignored it for 10 s."""
    p = inst.queued
    p.terminate()
    try:
        status = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        status = None
    inst.queued = None
    return status


try:
    # a held message with a state file (the hold), then stop
    inst.start()
    a = send("bob@example.test", "held")
    r = subprocess.run([pombo.prog("queued/pombo-queue"), "-c",
                        inst.conf_path, "hold", a or "x"],
                       capture_output=True, text=True, timeout=20)
    tap.ok(a and r.returncode == 0 and
           os.path.exists(os.path.join(folder("state"), a)),
           "a held message has a state file", r.stdout + r.stderr)
    inst.stop()

    # foreign files, with names of queue ids, while queued is stopped
    fifo_q, foreign_q, fifo_f = "01k1kcedzzz4", "01k1kcedzzz6", "01k1kcedzzz8"
    os.mkfifo(os.path.join(folder("queue"), fifo_q), 0o600)
    os.unlink(os.path.join(folder("state"), a))
    os.mkfifo(os.path.join(folder("state"), a), 0o600)
    os.mkfifo(os.path.join(folder("free"), fifo_f), 0o600)
    with open(os.path.join(folder("queue"), foreign_q), "wb") as f:
        f.write(inst.queue_file(a).replace(a.encode(), foreign_q.encode()))
    os.chown(os.path.join(folder("queue"), foreign_q), nobody.pw_uid,
             nobody.pw_gid)
    with open(inst.conf_path) as f:
        conf = f.read().replace("hold_deliveries = yes",
                                "hold_deliveries = no")
    with open(inst.conf_path, "w") as f:
        f.write(conf)

    t0 = time.time()
    tap.ok(start_bounded(), "queued starts and loads its queue past a FIFO "
           "in queue/, state/ and free/", inst.log()[-3000:])
    tap.ok(time.time() - t0 < 15, "in bounded time")
    q = sorted(os.listdir(folder("quarantine")))
    tap.eq([n for n in q if n in (fifo_q, foreign_q, "state." + a,
                                  "free." + fifo_f)],
           sorted([fifo_q, foreign_q, "state." + a, "free." + fifo_f]),
           "each foreign file is in quarantine/")
    tap.ok("quarantined %s: not a regular file of queued's user" %
           fifo_q in inst.log(), "and the log says why", inst.log()[-3000:])
    # the state (a hold) is lost with its file: delivered, at least once
    tap.ok(pombo.wait_for(lambda: got("bob", "held"), 20),
           "the held message, its state set aside, is delivered")
    c = send("carol@example.test", "after")
    tap.ok(c is not None and pombo.wait_for(lambda: got("carol", "after"),
                                            20),
           "new mail is accepted and delivered")

    # while running: every recycled file in free/ becomes a FIFO, once
    # every delivered message's file is there (one arriving after the
    # list would be reused instead of a FIFO) and emptied: the janitor
    # empties a file after its rename into free/, and one it finds a
    # FIFO then is removed, never reused nor quarantined
    def free_sizes():
        sizes = []
        for n in os.listdir(folder("free")):
            try:
                sizes.append(os.lstat(os.path.join(folder("free"),
                                                   n)).st_size)
            except OSError:
                pass
        return sizes
    pombo.wait_for(lambda: not os.listdir(folder("queue")), 20)
    pombo.wait_for(lambda: free_sizes() and not any(free_sizes()), 10)
    names = os.listdir(folder("free"))
    for n in names:
        os.unlink(os.path.join(folder("free"), n))
        os.mkfifo(os.path.join(folder("free"), n), 0o600)
    tap.ok(len(names) >= 1, "free/ had recycled files (%d), now FIFOs" %
           len(names))
    d = send("dave@example.test", "running")
    tap.ok(d is not None, "a message is accepted past FIFOs in free/")
    tap.ok(pombo.wait_for(lambda: got("dave", "running"), 20),
           "and delivered")
    q = os.listdir(folder("quarantine"))
    tap.ok(all("free." + n in q for n in names),
           "the FIFOs of free/ went to quarantine/", q)
    tap.eq(stop_bounded(), 0, "queued stops on SIGTERM, status 0")
finally:
    if inst.queued is not None:
        stop_bounded()
    report = pombo.sanitizer_report(inst.log())
    tap.ok(report is None, "no sanitizer report", report)
    inst.cleanup()
tap.done()
