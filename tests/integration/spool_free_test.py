"""Delivered mail leaves nothing in the spool: the files kept in free/
for reuse are empty (no text of old messages, no blocks counted against
min_free_space), and one found full at start (a crash, an older spool)
is emptied then, unless it is another name of a queue file."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
inst = pombo.Instance({"hold_deliveries": "no"})
N = 20
BODY = b"".join(b"secret line %06d of an old message\n" % i
                for i in range(3000))       # about 100 KB


def spool_bytes():
    """What the spool's files take on disk (du), folders aside, and the
    journal: its size is fixed (up to 8 MB, written once, SPOOL.md)."""
    total = 0
    for root, _, files in os.walk(inst.spool):
        for n in files:
            if root == inst.spool and n == "journal":
                continue
            total += os.lstat(os.path.join(root, n)).st_blocks * 512
    return total


def text_left():
    return subprocess.run(["grep", "-rl", "secret line", inst.spool],
                          capture_output=True, text=True).stdout


def free_files():
    d = os.path.join(inst.spool, "free")
    out = []
    for n in os.listdir(d):
        try:
            out.append(os.lstat(os.path.join(d, n)))
        except FileNotFoundError:
            pass    # taken back for a new message meanwhile
    return out


try:
    inst.start()
    sent = 0
    for i in range(N):
        out = inst.smtpd(b"EHLO c.test\nMAIL FROM:<a@c.test>\n"
                         b"RCPT TO:<bob@example.test>\nDATA\nSubject: %d\n\n"
                         % i + BODY + b".\nQUIT\n", timeout=30)
        sent += b"250 2.0.0 Ok: queued as" in out
    tap.eq(sent, N, "%d messages of 100 KB accepted" % N)
    tap.ok(pombo.wait_for(lambda: len(inst.delivered("bob")) == N and
                          not inst.queue_files(), 60),
           "and delivered; the queue is empty")
    # the janitor thread moves them to free/ after the delivery (the
    # next message may have taken one back already), then empties them:
    # a truncation under way shows the size 0 before its blocks are
    # free (seen once under ASan: size 0, 224 blocks)
    pombo.wait_for(lambda: len(free_files()) > 0 and
                   all(st.st_size == 0 and st.st_blocks == 0
                       for st in free_files()), 20)
    st = free_files()
    tap.ok(len(st) > 0, "their files wait in free/ for reuse (%d)" %
           len(st))
    tap.eq([(s.st_size, s.st_blocks) for s in st if s.st_size or
            s.st_blocks], [], "every one empty, no blocks")
    used = spool_bytes()
    tap.ok(used < 64 * 1024, "the spool takes %d bytes (du), not %d KB" %
           (used, N * 100))
    # the journal's copies go at its checkpoint, after a second without
    # new mail (SPOOL.md)
    pombo.wait_for(lambda: text_left() == "", 10)
    tap.eq(text_left(), "", "no text of the messages is left in the spool "
           "(the journal's copies erased too)")
    inst.stop()

    # a full file in free/ at start: emptied, and reused
    name = os.path.basename(os.listdir(os.path.join(inst.spool, "free"))[0])
    with open(os.path.join(inst.spool, "free", name), "wb") as f:
        f.write(BODY)
    inst.start()
    st = os.lstat(os.path.join(inst.spool, "free", name))
    tap.eq((st.st_size, st.st_blocks), (0, 0),
           "a full file found in free/ at start is emptied")
    inst.stop()

    # a name in free/ for a queue file's own inode (a crash of ext4
    # without a journal left the old name beside the queue file that
    # took the file again; fsck counts both links): only the name goes
    inst.set_conf(hold_deliveries="yes")
    inst.start()
    q = inst.send_one(b"bob@example.test", b"Subject: linked\n\n" + BODY)
    inst.stop()
    size = len(inst.queue_file(q))
    os.link(os.path.join(inst.spool, "queue", q),
            os.path.join(inst.spool, "free", "01k177h582jf"))
    inst.start()
    tap.ok(q in inst.queue_files() and len(inst.queue_file(q)) == size and
           inst.sum_matches(q)[0], "a queue file with a second name in "
           "free/ is left whole at start", inst.log()[inst.log_start:])
    tap.ok(not os.path.exists(os.path.join(inst.spool, "free",
                                           "01k177h582jf")),
           "and that name is removed")
    tap.ok("queue loaded: 1 messages" in inst.log()[inst.log_start:],
           "the message loads", inst.log()[inst.log_start:])
finally:
    inst.check_clean(tap)
    inst.cleanup()
tap.done()
