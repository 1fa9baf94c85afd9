"""Queue files of every size come out whole: a small one queued keeps in
memory and writes once at the end of its data (its length and sum
filled in there), a larger one written as it comes, and those around
the size where one becomes the other (32 KB), in one session and from
pombo-sendmail (queued's own Received: line goes into the buffer too):
each file's length line is its data's, its sum its CRC-32C, its
message what was sent."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
SM = pombo.prog("queued/pombo-sendmail")
inst = pombo.Instance().start()   # held: the files stay in queue/


def body(size, tag):
    """A message of about size octets, lines of 70, its tag on top."""
    head = b"Subject: " + tag + b"\n\n"
    line = b"x" * 69 + b"\n"
    n = max(0, size - len(head)) // len(line)
    return head + line * n


def check(qid, sent, what):
    data = inst.queue_file(qid)
    head, msg = data.split(b"\ndata\n", 1)
    m = re.search(rb"\nlength (\d+)$", head)
    tap.ok(m is not None and int(m.group(1)) == len(msg),
           "%s: its length line is its data's (%d)" % (what, len(msg)),
           head[-80:])
    ok, diag = inst.sum_matches(qid)
    tap.ok(ok, "%s: its sum holds" % what, diag)
    tap.ok(msg.endswith(sent), "%s: the message is what was sent" % what,
           msg[-80:])


try:
    sizes = [1000, 31 * 1024, 32 * 1024 - 400, 32 * 1024, 33 * 1024,
             100 * 1024]
    sent = [body(s, b"m%d" % i) for i, s in enumerate(sizes)]
    script = b"EHLO c.test\n"
    for b in sent:
        script += (b"MAIL FROM:<alice@example.test>\n"
                   b"RCPT TO:<bob@example.test>\nDATA\n" + b + b".\n")
    out = inst.smtpd(script + b"QUIT\n")
    qids = [q.decode() for q in re.findall(rb"queued as (\w+)", out)]
    tap.ok(len(qids) == len(sizes), "%d messages in one session" %
           len(sizes), out[-300:])
    for qid, s, b in zip(qids, sizes, sent):
        check(qid, b, "%d octets" % s)

    for s in (1000, 32 * 1024 - 500, 40 * 1024):
        before = set(inst.queue_files())
        b = body(s, b"sendmail%d" % s)
        r = subprocess.run([SM, "-C", inst.conf_path, "bob@example.test"],
                           input=b, capture_output=True, timeout=30)
        new = sorted(set(inst.queue_files()) - before)
        tap.ok(r.returncode == 0 and len(new) == 1,
               "pombo-sendmail queued %d octets" % s, r.stderr)
        if new:
            check(new[0], b, "pombo-sendmail, %d octets" % s)
    tap.eq(inst.incoming_files(), [], "nothing left in incoming/")
    inst.check_clean(tap)
finally:
    inst.cleanup()
tap.done()
