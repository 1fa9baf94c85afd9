"""Logs: every program logs to syslog, facility mail, one line per event;
every line about a message carries its queue id, from smtpd's 250 to the
last delivery; the delivery lines name sender, recipient, relay, delay
and status, so one grep answers "what happened to the mail from X to Y".
smtpd runs in a mount namespace whose /dev/log is this test's socket."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
if os.geteuid() != 0 or shutil.which("unshare") is None:
    tap.skip("syslog lines", "needs root and unshare for a private /dev/log")
    tap.done()

devdir = tempfile.mkdtemp(prefix="pombo-dev-")
logsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
logsock.bind(os.path.join(devdir, "log"))
logsock.settimeout(0.2)
lines = []
stop = threading.Event()


def collect():
    while not stop.is_set():
        try:
            lines.append(logsock.recv(8192).decode("utf-8", "replace"))
        except socket.timeout:
            continue
        except OSError:
            return


t = threading.Thread(target=collect, daemon=True)
t.start()
inst = pombo.Instance({"hold_deliveries": "no"}).start()
try:
    session = (b"EHLO client.test\nMAIL FROM:<x@sender.test>\n"
               b"RCPT TO:<bob@example.test>\nRCPT TO:<nobody@example.test>\n"
               b"DATA\nSubject: logs\n\nhello\n.\nQUIT\n")
    # /dev/log is ours in smtpd's private mount namespace
    p = subprocess.run(["unshare", "--mount", "--", "sh", "-c",
                        'mount --bind "$0" /dev && exec "$@"', devdir,
                        pombo.prog("smtpd/smtpd"), "-c", inst.conf_path],
                       input=session, capture_output=True, timeout=30)
    m = re.search(rb"queued as (\w+)", p.stdout)
    tap.ok(m is not None, "accepted", p.stdout + p.stderr)
    qid = m.group(1).decode() if m else "none"
    tap.ok(pombo.wait_for(lambda: "%s: removed" % qid in inst.log(), 5),
           "delivered and removed")
    pombo.wait_for(lambda: any("disconnect" in l for l in lines), 3)
    smtpd = [l for l in lines if "pombo/smtpd[" in l]
    tap.ok(len(smtpd) >= 3, "smtpd logs to syslog (%d lines)" % len(smtpd),
           lines)
    tap.ok(all(l.startswith("<22>") or l.startswith("<20>")
               for l in smtpd), "facility mail (info or warning)", smtpd)
    tap.ok(any(re.search(r"%s: client=local helo=client\.test "
                         r"from=<x@sender\.test> size=\d+ nrcpt=1 "
                         r"proto=ESMTP" % qid, l) for l in smtpd),
           "smtpd's line for the 250 carries the queue id", smtpd)
    tap.ok(any("rejected RCPT" in l and "nobody@example.test" in l
               for l in smtpd), "the refused recipient is logged", smtpd)
    tap.eq(p.stderr, b"", "smtpd wrote nothing to stderr")

    log = inst.log().splitlines()
    about = [l for l in log if qid in l]
    tap.ok(len(about) >= 3, "queued logs the message under its id",
           about)
    # one grep: the mail from X to Y
    hits = [l for l in log + smtpd
            if re.search(r"from=<x@sender\.test>.*to=<bob@example\.test>", l)]
    tap.eq(len(hits), 1, "one grep finds what happened from X to Y")
    if hits:
        tap.ok(re.search(r"%s: from=<x@sender\.test>, to=<bob@example\.test>, "
                         r"relay=local, delay=\d+s, status=sent \(250 "
                         % qid, hits[0]) is not None,
               "with id, sender, recipient, relay, delay and status",
               hits[0])
    tap.ok(any("%s: from=<x@sender.test> size=" % qid in l and
               "client=ESMTP local client.test" in l for l in about),
           "the receipt line names size and client", about)

    # issue 13: a quoted local part may hold '>', ', ' and '<' (RFC 5321
    # 4.1.2); written verbatim, it forged a delivery line to root that
    # the grep above takes for real. Encoded (%XX), it writes no field.
    fake = '"x>, to=<root@example.test>, relay=local, status=sent y"@e.test'
    session = (b"EHLO client.test\nMAIL FROM:<" + fake.encode() +
               b">\nRCPT TO:<carol@example.test>\n"
               b"RCPT TO:<\"from=<x@sender.test>, to=<root@example.test>\""
               b"@example.test>\n"
               b"DATA\nSubject: fake\n\nhello\n.\nQUIT\n")
    lines.clear()
    p = subprocess.run(["unshare", "--mount", "--", "sh", "-c",
                        'mount --bind "$0" /dev && exec "$@"', devdir,
                        pombo.prog("smtpd/smtpd"), "-c", inst.conf_path],
                       input=session, capture_output=True, timeout=30)
    m = re.search(rb"queued as (\w+)", p.stdout)
    tap.ok(m is not None, "a sender with '>, ' in quotes: accepted",
           p.stdout)
    qid2 = m.group(1).decode() if m else "none"
    tap.ok(pombo.wait_for(lambda: "%s: removed" % qid2 in inst.log(), 5),
           "and delivered", inst.log()[-2000:])
    pombo.wait_for(lambda: sum("disconnect" in l for l in lines) >= 1, 3)
    every = inst.log().splitlines() + lines
    tap.eq([l for l in every if "to=<root@" in l or
            re.search(r"from=<x@sender\.test>.*to=<root@", l)], [],
           "no log line names root as a recipient")
    mine = [l for l in every if qid2 in l and "to=<" in l]
    tap.ok(len(mine) == 1 and mine[0].count(">, ") == 2 and
           "to=<carol@example.test>, relay=local, " in mine[0],
           "the delivery line has its own fields only", mine)
    tap.ok(any('from=<"x%3E,%20to=%3Croot@example.test%3E,%20relay=local,'
               '%20status=sent%20y"@e.test>, to=<carol@' in l
               for l in mine), "the sender written %XX-encoded", mine)
    tap.ok(any("rejected RCPT" in l and "%3C" in l for l in lines),
           "smtpd's refused RCPT line is encoded too", lines)
finally:
    stop.set()
    t.join(2)
    logsock.close()
    inst.check_clean(tap)
    inst.cleanup()
    shutil.rmtree(devdir, ignore_errors=True)
tap.done()
