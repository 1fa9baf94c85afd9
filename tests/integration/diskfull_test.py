"""A full or failing spool: 452 4.3.1 at MAIL below min_free_space, 451
4.3.0 when a write or an fsync fails later, or when no queue file can be
made (no inodes left: smtpd said 354 without waiting for queued, so the
451 comes after the data), never 250; nothing half written stays behind;
acceptance resumes by itself once space returns. The spool is a 4 MB
tmpfs; an fsync failure is injected with strace."""
import contextlib
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()


def session(inst, body, size_param=b""):
    return inst.smtpd(b"EHLO c.test\nMAIL FROM:<a@c.test>" + size_param +
                      b"\nRCPT TO:<b@example.test>\nDATA\n" + body +
                      b"\n.\nQUIT\n")


def replies(out):
    return [l for l in out.decode().split("\r\n") if l[:1] in "2345"]


@contextlib.contextmanager
def spool_on_tmpfs(inst, options, what):
    """inst, its spool a tmpfs mounted with options; yields whether it
    could be mounted (else the checks are skipped); stops and removes
    inst at the end."""
    os.makedirs(inst.spool)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs",
                        inst.spool], capture_output=True)
    if r.returncode != 0:
        tap.skip(what, "cannot mount tmpfs: " + r.stderr.decode().strip())
    try:
        yield r.returncode == 0
    finally:
        inst.stop()
        if r.returncode == 0:
            subprocess.run(["umount", inst.spool])
        inst.cleanup()


inst = pombo.Instance({"min_free_space": "1M"})
with spool_on_tmpfs(inst, "size=4m", "tmpfs spool") as mounted:
    if mounted:
        inst.start()
        out = session(inst, b"small")
        tap.ok(b"250 2.0.0 Ok: queued as" in out, "a small message fits")
        filler = os.path.join(inst.spool, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (int(3.2 * 1024 * 1024)))
        out = session(inst, b"no room")
        tap.ok("452 4.3.1 Insufficient system storage" in replies(out),
               "MAIL refused with 452 4.3.1 below min_free_space",
               replies(out))
        tap.ok(b"250 2.0.0" not in out, "no 250 for it")
        os.unlink(filler)
        out = session(inst, b"room again")
        tap.ok(b"250 2.0.0 Ok: queued as" in out,
               "acceptance resumes once space returns")
        # a message bigger than the room left, with no SIZE to warn us
        n_before = len(inst.queue_files())
        big = (b"y" * 76 + b"\n") * (56 * 1024)     # 4.3 MB > the tmpfs
        out = session(inst, big)
        rs = replies(out)
        tap.ok("451 4.3.0 Error writing the queue file" in rs,
               "a write failing with ENOSPC gets 451 4.3.0", rs)
        tap.ok(b"250 2.0.0" not in out.split(b"354")[-1],
               "no 250 for the failed message")
        tap.eq(inst.incoming_files(), [], "nothing half written in incoming/")
        tap.eq(len(inst.queue_files()), n_before, "nothing new in queue/")
        out = session(inst, b"after the failure")
        tap.ok(b"250 2.0.0 Ok: queued as" in out,
               "the next message is accepted")
        inst.check_clean(tap)

# no inode left for a queue file: queued refuses DATA, smtpd (which has
# said 354 already) reads the message, drops it and answers 451 after it;
# the next transaction of the same session is in step with queued
inst = pombo.Instance()
with spool_on_tmpfs(inst, "size=4m,nr_inodes=200",
                    "inode-starved spool") as mounted:
    if mounted:
        inst.start()
        fill = os.path.join(inst.spool, "fill")
        os.mkdir(fill)
        n = 0
        try:
            while n < 1000:
                open(os.path.join(fill, str(n)), "w").close()
                n += 1
        except OSError:
            pass
        tap.ok(n < 1000, "the spool's inodes are used up (%d files)" % n)
        out = inst.smtpd(b"EHLO c.test\nMAIL FROM:<a@c.test>\n"
                         b"RCPT TO:<b@example.test>\nDATA\nfirst\n.\n"
                         b"MAIL FROM:<a@c.test>\nRCPT TO:<b@example.test>\n"
                         b"DATA\nsecond\n.\nQUIT\n")
        rs = [x[:9] for x in replies(out) if x[3:4] == " "]
        tap.eq(rs[2:], ["250 2.1.0", "250 2.1.5", "354 End d",
                        "451 4.3.0", "250 2.1.0", "250 2.1.5", "354 End d",
                        "451 4.3.0", "221 2.0.0"],
               "354, then 451 4.3.0 after the data; the next transaction "
               "goes on in step")
        tap.ok(b"Cannot create queue file" in out, "saying why")
        tap.eq(inst.queue_files(), [], "nothing queued")
        for x in os.listdir(fill):
            os.unlink(os.path.join(fill, x))
        out = session(inst, b"inodes again")
        tap.ok(b"250 2.0.0 Ok: queued as" in out,
               "accepted again once inodes are free")
        inst.check_clean(tap)

# no inode left for the journal at start (a spool from before it, or
# its file removed): queued starts all the same, without one, and
# delivers what it has; nothing was in it to replay
inst = pombo.Instance()
with spool_on_tmpfs(inst, "size=4m,nr_inodes=200",
                    "inode-starved spool at start") as mounted:
    if mounted:
        inst.start()
        session(inst, b"before")
        inst.stop()
        os.unlink(os.path.join(inst.spool, "journal"))
        fill = os.path.join(inst.spool, "fill")
        os.mkdir(fill)
        n = 0
        try:
            while n < 1000:
                open(os.path.join(fill, str(n)), "w").close()
                n += 1
        except OSError:
            pass
        tap.ok(n < 1000, "the spool's inodes are used up (%d files)" % n)
        try:
            inst.start()
            started = True
        except RuntimeError:
            started = False
        tap.ok(started, "queued starts without a journal it cannot create",
               inst.log()[-300:])
        tap.ok("cannot create the journal" in inst.log(), "and says so")
        tap.eq(len(inst.queue_files()), 1, "the queued message is there")
        for x in os.listdir(fill):
            os.unlink(os.path.join(fill, x))
        out = session(inst, b"inodes again")
        tap.ok(b"250 2.0.0 Ok: queued as" in out,
               "accepted once inodes are free (file by file)")
        inst.check_clean(tap)

# an fsync that fails: the first fdatasync of queued returns EIO
inst = pombo.Instance()
try:
    inst.start(wrapper=["strace", "-f", "-qq", "-o", "/dev/null", "-e",
                        "trace=fdatasync", "-e",
                        "inject=fdatasync:error=EIO:when=1"])
    out = session(inst, b"first")
    rs = replies(out)
    tap.ok(any(r.startswith("451 4.3.0") for r in rs),
           "a failed fdatasync gets 451 4.3.0", rs)
    tap.ok(b"250 2.0.0" not in out.split(b"354")[-1], "no 250 for it")
    tap.eq(inst.queue_files(), [], "the message is not in queue/")
    tap.eq(inst.incoming_files(), [], "nor in incoming/")
    out = session(inst, b"second")
    m = re.search(rb"queued as (\w+)", out)
    tap.ok(m is not None, "the next message is accepted")
    tap.eq(inst.queue_files(), [m.group(1).decode()] if m else [],
           "and is the only one queued")
finally:
    inst.cleanup()

# the journal's own fdatasync fails: strace counts calls per thread, and
# queued's main thread makes at most two (the journal's start), so the
# third of the commit thread's, the third message's, gets EIO. That
# message is refused, the journal is off; one deleted afterwards and
# the refused one stay out of queue/ after a clean restart (the journal
# is replayed then, and its records of removal must be there)
inst = pombo.Instance()
try:
    inst.start(wrapper=["strace", "-f", "-qq", "-o", "/dev/null", "-e",
                        "trace=fdatasync", "-e",
                        "inject=fdatasync:error=EIO:when=3"])
    outs = [session(inst, b) for b in (b"one", b"two", b"three")]
    ids = [m.group(1).decode() for m in
           (re.search(rb"queued as (\w+)", o) for o in outs[:2]) if m]
    tap.ok(len(ids) == 2 and any(r.startswith("451 4.3.0")
                                 for r in replies(outs[2])),
           "the journal's failed sync refuses the third message",
           [replies(o)[-2:] for o in outs])
    tap.ok("fdatasync of the journal" in inst.log(), "the journal is off")
    q = inst.queue_tool("delete", ids[0]) if ids else None
    tap.ok(q is not None and q.returncode == 0, "the first one deleted")
    queued = inst.queue_files()
    inst.stop()
    inst.start()
    tap.eq(inst.queue_files(), queued,
           "after a clean restart neither the deleted nor the refused "
           "message is back")
    inst.check_clean(tap)
finally:
    inst.cleanup()
tap.done()
