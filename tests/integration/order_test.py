"""The order of operations, seen with strace -f: queued fills in the
queue file's sum, renames it into queue/, copies it into the journal,
then fdatasyncs the journal, and writes 250 to smtpd only once that has
ended (SPOOL.md: the journal; the queue file itself is not synced). A
queue file too big for the journal takes the file's own path: renamed,
its writeback started, then the file fdatasync'd and queue/ fsync'd
side by side, the 250 once both have ended. A small message's file is
written once, whole, its length and sum in."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
inst = pombo.Instance()
trace = os.path.join(inst.dir, "trace")
inst.start(wrapper=["strace", "-f", "-qq", "-tt", "-y", "-s", "400",
                    "-e", "trace=openat,write,sendto,fsync,fdatasync,"
                    "rename,renameat,renameat2,close,pwrite64,pread64,"
                    "sync_file_range",
                    "-o", trace])
BIG = b"".join(b"line %07d of a message too big for the journal\n" % i
               for i in range(12000))       # about 600 KB
try:
    out = inst.smtpd(b"EHLO c.test\nMAIL FROM:<a@c.test>\n"
                     b"RCPT TO:<b@example.test>\nDATA\nSubject: traced\n\n"
                     b"body\n.\nMAIL FROM:<a@c.test>\n"
                     b"RCPT TO:<b@example.test>\nDATA\nSubject: big\n\n" +
                     BIG + b".\nQUIT\n", timeout=30)
    ids = re.findall(rb"250 2.0.0 Ok: queued as (\w+)", out)
    tap.ok(len(ids) == 2, "both messages accepted", out[-300:])
    qid, big = [i.decode() for i in ids] if len(ids) == 2 else ("x", "y")
    inst.stop()
    lines = open(trace, errors="replace").read().splitlines()

    def first(pattern, start=0):
        for i in range(start, len(lines)):
            if re.search(pattern, lines[i]):
                return i
        return None

    def ended(i, call):
        """The line where the call started on line i returned 0 (itself,
        or its "resumed" line when another thread's came between)."""
        if i is None or re.search(r"\) += 0", lines[i]):
            return i
        pid = lines[i].split()[0]
        return first(r"^%s .*<\.\.\. %s resumed>.* = 0" % (pid, call), i)
    create = first(r"openat\(.*incoming>?, \"%s\".*O_CREAT" % qid)
    # filled in by the commit (pwrite) or written with the file (not
    # the zeros the header has until then)
    summed = first(r"(pwrite64\(\d+<[^>]*/incoming/%s>, \"[0-9a-f]{8}\", 8,"
                   r"|write\(\d+<[^>]*/incoming/%s>, \".*\\nsum crc32c:"
                   r"(?!00000000)[0-9a-f]{8}\\n)" % (qid, qid))
    to_file = [ln for ln in lines
               if re.search(r"(write|pwrite64)\(\d+<[^>]*/incoming/%s>"
                            % qid, ln)]
    rename = first(r"renameat2?\(.*\"%s\".*\"%s\"" % (qid, qid))
    copied = first(r"pwrite64\(\d+<[^>]*/spool/journal>, \"POMBO-QUEUE 1"
                   r"\\nid %s\\n" % qid)
    head = first(r"pwrite64\(\d+<[^>]*/spool/journal>, \"JRN1M.*%s" % qid)
    jsync = first(r"fdatasync\(\d+<[^>]*/spool/journal>", head or 0)
    reply = first(r"(write|sendto)\(.*\"250 2.0.0 Ok: queued as %s" % qid)
    tap.ok(create is not None, "queue file created in incoming/")
    tap.ok(summed is not None, "its sum filled in (8 hex digits)",
           "\n".join(lines[-80:]))
    tap.ok(len(to_file) == 1 and re.search(r"\swrite\(", to_file[0]),
           "a small message's file is written once, whole (%d calls)" %
           len(to_file), "\n".join(to_file))
    tap.ok(rename is not None, "queue file renamed into queue/")
    tap.ok(copied is not None and head is not None,
           "its octets and its record's head written to the journal")
    tap.ok(jsync is not None and ended(jsync, "fdatasync") is not None,
           "the journal fdatasync'd")
    tap.ok(first(r"(fdatasync|sync_file_range)\(\d+<[^>]*/%s>" % qid) is None,
           "the small one's file is not synced by itself")
    tap.ok(reply is not None, "250 written to smtpd")
    order = (create, summed, rename, copied, head, jsync, reply)
    if None not in order and ended(jsync, "fdatasync") is not None:
        tap.ok(create < summed < rename < copied < head < jsync and
               ended(jsync, "fdatasync") < reply,
               "create < sum < rename < journal copy < its head < "
               "fdatasync(journal) ended < 250", order)
    else:
        tap.ok(False, "create < sum < rename < journal copy < its head < "
               "fdatasync(journal) ended < 250", order)

    # the big one: its own syncs, as before the journal
    rename = first(r"renameat2?\(.*\"%s\".*\"%s\"" % (big, big))
    datasync = first(r"fdatasync\(\d+<[^>]*/%s>" % big)
    started = first(r"sync_file_range\(\d+<[^>]*/%s>, 0, 0, "
                    r"SYNC_FILE_RANGE_WRITE\)" % big)
    dirsync = first(r"fsync\(\d+<[^>]*/spool/queue>", rename or 0)
    reply = first(r"(write|sendto)\(.*\"250 2.0.0 Ok: queued as %s" % big)
    tap.ok(first(r"pwrite64\(\d+<[^>]*/spool/journal>, \"JRN1M.*%s" % big)
           is None, "the big one is not in the journal")
    tap.ok(datasync is not None and ended(datasync, "fdatasync") is not None,
           "its queue file fdatasync'd", "\n".join(lines[-80:]))
    tap.ok(None not in (rename, started, datasync) and
           rename < started < datasync,
           "its writeback started after the rename, before the fdatasync",
           (rename, started, datasync))
    tap.ok(dirsync is not None and ended(dirsync, "fsync") is not None,
           "queue/ directory fsync'd after the rename")
    order = (rename, datasync, dirsync, reply)
    if None not in order and None not in (ended(datasync, "fdatasync"),
                                          ended(dirsync, "fsync")):
        tap.ok(rename < datasync and rename < dirsync and
               max(ended(datasync, "fdatasync"), ended(dirsync, "fsync")) <
               reply, "rename < {fdatasync, fsync(dir)} < both ended < 250",
               "lines %s; ends %d %d" % (order, ended(datasync, "fdatasync"),
                                         ended(dirsync, "fsync")))
    else:
        tap.ok(False, "rename < {fdatasync, fsync(dir)} < 250", order)
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
