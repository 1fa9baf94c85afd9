"""The order of operations, seen with strace -f: queued writes 250 to
smtpd only after the fdatasync of the queue file and the fsync of the
queue/ directory it was renamed into."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
inst = pombo.Instance()
trace = os.path.join(inst.dir, "trace")
inst.start(wrapper=["strace", "-f", "-qq", "-tt", "-y", "-s", "80",
                    "-e", "trace=openat,write,sendto,fsync,fdatasync,"
                    "rename,renameat,renameat2,close", "-o", trace])
try:
    out = inst.smtpd(b"EHLO c.test\nMAIL FROM:<a@c.test>\n"
                     b"RCPT TO:<b@example.test>\nDATA\nSubject: traced\n\n"
                     b"body\n.\nQUIT\n")
    m = re.search(rb"250 2.0.0 Ok: queued as (\w+)", out)
    tap.ok(m is not None, "message accepted", out)
    qid = m.group(1).decode() if m else "none"
    inst.stop()
    lines = open(trace, errors="replace").read().splitlines()

    def first(pattern):
        for i, l in enumerate(lines):
            if re.search(pattern, l):
                return i
        return None
    create = first(r"openat\(.*incoming>?, \"%s\".*O_CREAT" % qid)
    datasync = first(r"fdatasync\(\d+<[^>]*/incoming/%s>\)" % qid)
    rename = first(r"renameat2?\(.*\"%s\".*\"%s\"" % (qid, qid))
    dirsync = None
    if rename is not None:
        for i in range(rename, len(lines)):
            if re.search(r"fsync\(\d+<[^>]*/spool/queue>\) += 0", lines[i]):
                dirsync = i
                break
    reply = first(r"(write|sendto)\(.*\"250 2.0.0 Ok: queued as %s" % qid)
    tap.ok(create is not None, "queue file created in incoming/")
    tap.ok(datasync is not None, "queue file fdatasync'd",
           "\n".join(lines[-80:]))
    tap.ok(rename is not None, "queue file renamed into queue/")
    tap.ok(dirsync is not None, "queue/ directory fsync'd after the rename")
    tap.ok(reply is not None, "250 written to smtpd")
    if None not in (create, datasync, rename, dirsync, reply):
        tap.ok(create < datasync < rename < dirsync < reply,
               "create < fdatasync < rename < fsync(dir) < 250",
               "lines %d %d %d %d %d" % (create, datasync, rename, dirsync,
                                         reply))
    else:
        tap.ok(False, "create < fdatasync < rename < fsync(dir) < 250")
finally:
    inst.cleanup()

# with deliveries on: the 250 goes out before the agent is spawned (a
# spawn holds queued's loop until the child has exec'd)
inst = pombo.Instance({"hold_deliveries": "no"})
trace = os.path.join(inst.dir, "trace")
inst.start(wrapper=["strace", "-f", "-qq", "-s", "80", "-o", trace, "-e",
                    "trace=write,sendto,clone,clone3,vfork"])
try:
    out = inst.smtpd(b"EHLO c.test\nMAIL FROM:<a@c.test>\n"
                     b"RCPT TO:<b@example.test>\nDATA\nx\n.\nQUIT\n")
    m = re.search(rb"queued as (\w+)", out)
    qid = m.group(1).decode() if m else "none"
    pombo.wait_for(lambda: "%s: removed" % qid in inst.log(), 10)
    inst.stop()
    lines = open(trace, errors="replace").read().splitlines()
    reply = next((i for i, l in enumerate(lines) if re.search(
        r"(write|sendto)\(.*\"250 2.0.0 Ok: queued as %s" % qid, l)), None)
    spawn = next((i for i, l in enumerate(lines)
                  if re.search(r"vfork\(|clone3?\(.*CLONE_VFORK", l)), None)
    tap.ok(reply is not None and spawn is not None and reply < spawn,
           "the 250 is written before the local agent is spawned",
           "reply line %s, spawn line %s" % (reply, spawn))
finally:
    inst.cleanup()
tap.done()
