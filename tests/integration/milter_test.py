"""queued's milter client (queued/daemon/milter.c) against real filters
and hostile ones, through tests/tools/milter-driver, which plays an
SMTP session's steps on its own sd-event loop and prints each verdict
and the changes asked for at end of message.

- Scripted filters written here in Python (the protocol from the MTA's
  side checked octet by octet): every change (headers, body, envelope,
  quarantine) applied to the message byte for byte; steps negotiated
  away and unanswered ones (NO*, NR_*); the macros a filter asks for;
  custom replies, multi-line too, and malformed ones; Unix and IPv6
  sockets; two filters in a chain.
- Hostile filters: down, dying mid-message, silent, garbage, a length
  of 2 GiB: the default action (tempfail, accept, reject as
  configured) within the timeout, never a crash.
- rspamd (its proxy worker in milter mode, a private configuration and
  folder on 127.0.0.1, never the machine's service): GTUBE is rejected
  with rspamd's reply; a clean message is accepted with its headers.
- OpenDKIM signing for a test domain (private configuration, a key
  from opendkim-genkey, on 127.0.0.1): the DKIM-Signature it adds
  verifies with python3-dkim over the message with the change applied.
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
work = tempfile.mkdtemp(prefix="pombo-milter-")
# MILTER_DRIVER: another build of it (one with sanitizers, say)
DRIVER = os.environ.get("MILTER_DRIVER") or pombo.prog(
    "tests/tools/milter-driver")

MSG = (b"Received: from client.test\n\tby mx.pombo.test; "
       b"Wed, 2 Dec 2026 03:00:00 +0000\n"
       b"From: Alice <alice@example.org>\n"
       b"To: bob@example.net\n"
       b"Subject: hello\n"
       b"Date: Wed, 2 Dec 2026 03:00:00 +0000\n"
       b"Message-ID: <1@example.org>\n"
       b"\n"
       b"Hello Bob,\n"
       b"see you tomorrow.\n")
msg_path = os.path.join(work, "msg.eml")
with open(msg_path, "wb") as f:
    f.write(MSG)

import milters  # noqa: E402
from milters import P_NOCONNECT, P_NOHELO, P_NOBODY, \
    P_NR_HDR, P_NR_MAIL, pkt, Filter  # noqa: E402,F401


def drive(specs, *args, out=None, timeout=30):
    argv = [DRIVER]
    for s in specs:
        argv += ["-m", s]
    argv += list(args)
    if out:
        argv += ["-o", out]
    argv.append(msg_path)
    t = time.monotonic()
    r = subprocess.run(argv, capture_output=True, timeout=timeout)
    took = time.monotonic() - t
    text = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    rep = pombo.sanitizer_report(err)
    tap.ok(r.returncode == 0 and rep is None, "driver ran cleanly: %s" %
           " ".join(args), (rep or err) + "\n" + text)
    lines = [x for x in text.splitlines() if not x.startswith("time ")]
    return lines, took


def cont(cmd, data):
    return pkt(b"c")


# ---- every change, applied byte for byte ----------------------------
def changes(cmd, data):
    if cmd != b"E":
        return pkt(b"c")
    return b"".join([
        pkt(b"p"),
        pkt(b"h", b"X-Added\0yes\0"),
        pkt(b"i", struct.pack(">I", 0) + b"X-First\0folded\r\n\tline\0"),
        pkt(b"m", struct.pack(">I", 1) + b"Subject\0changed\0"),
        pkt(b"m", struct.pack(">I", 1) + b"Date\0\0"),
        pkt(b"b", b"new body\r\n"),
        pkt(b"b", b"second chunk\r\n"),
        pkt(b"+", b"<carol@example.net>\0"),
        pkt(b"2", b"<dave@example.net>\0NOTIFY=NEVER\0"),
        pkt(b"-", b"<bob@example.net>\0"),
        pkt(b"e", b"<new@example.org>\0"),
        pkt(b"q", b"held for review\0"),
        pkt(b"a"),
    ])


f = Filter(changes)
out = os.path.join(work, "changed.eml")
lines, _ = drive([f.spec], out=out)
tap.eq(lines[-11:], [
    "eom accept",
    "mod addhdr 0 X-Added: yes",
    "mod inshdr 0 X-First: folded|\tline",
    "mod chghdr 1 Subject: changed",
    "mod chghdr 1 Date:",
    "mod addrcpt <carol@example.net>",
    "mod addrcpt <dave@example.net> NOTIFY=NEVER",
    "mod delrcpt <bob@example.net>",
    "mod chgfrom <new@example.org>",
    "mod replbody 22",
    "quarantine held for review",
], "every change reported")
with open(out, "rb") as fh:
    tap.eq(fh.read(), b"X-First: folded\n\tline\n"
           b"Received: from client.test\n\tby mx.pombo.test; "
           b"Wed, 2 Dec 2026 03:00:00 +0000\n"
           b"From: Alice <alice@example.org>\n"
           b"To: bob@example.net\n"
           b"Subject: changed\n"
           b"Message-ID: <1@example.org>\n"
           b"X-Added: yes\n"
           b"\n"
           b"new body\nsecond chunk\n", "the changes applied, byte for byte")
# what the filter got: the session's steps, CRLF body, headers without
# their leading blank, the default macros
# the filter's thread reads QUIT after the driver is gone
pombo.wait_for(lambda: f.got and f.got[-1][0] == b"Q", 5)
cmds = b"".join(c for c, _ in f.got)
tap.eq(cmds, b"ODCHDMDRDTLLLLLLNBDEQ", "the packets of a session, in order "
       "(HELO's macros unset: none sent)")
got = dict((c, d) for c, d in f.got if c != b"D")
tap.eq(got[b"C"], b"client.test\x004\xcb\x20192.0.2.1\0",
       "CONNECT: name, family, port, address")
tap.eq(got[b"M"], b"<sender@example.org>\0", "MAIL: the sender")
tap.eq(got[b"B"], b"Hello Bob,\r\nsee you tomorrow.\r\n",
       "the body in SMTP's CRLF")
hdrs = [d for c, d in f.got if c == b"L"]
tap.eq(hdrs[0], b"Received\0from client.test\r\n\tby mx.pombo.test; "
       b"Wed, 2 Dec 2026 03:00:00 +0000\0", "a folded header, blank stripped")
macros = [d for c, d in f.got if c == b"D"]
tap.eq(macros[0], b"Cj\0mx.pombo.test\0{daemon_name}\0pombo\0"
       b"{client_addr}\x00192.0.2.1\0{client_name}\0client.test\0",
       "the connect stage's macros")
tap.eq(macros[1], b"Mi\x0001k177h582jc\0{mail_addr}\0sender@example.org\0",
       "the MAIL stage's macros ({auth_authen} unset: not sent)")
f.close()

# ---- steps negotiated away or unanswered; the macros it asks for ----
f = Filter(cont, protocol=P_NOCONNECT | P_NOHELO | P_NOBODY | P_NR_HDR |
           P_NR_MAIL, symlists={2: b"{auth_authen} {mail_addr}",
                                0: b"{client_addr}"})
lines, _ = drive([f.spec], "-M", "{auth_authen}=alice@example.org")
tap.eq(lines[:3], ["connect continue", "helo continue", "mail continue"],
       "skipped and unanswered steps continue")
# the filter's thread reads QUIT after the driver is gone
pombo.wait_for(lambda: f.got and f.got[-1][0] == b"Q", 5)
cmds = b"".join(c for c, _ in f.got)
tap.eq(cmds, b"ODDMDRDTLLLLLLNDEQ",
       "no CONNECT, HELO or body sent; MAIL and headers unanswered")
macros = [d for c, d in f.got if c == b"D"]
tap.eq(macros[0], b"C{client_addr}\x00192.0.2.1\0",
       "the connect macros it asked for")
tap.eq(macros[1], b"M{auth_authen}\0alice@example.org\0{mail_addr}\0"
       b"sender@example.org\0", "the MAIL macros it asked for")
f.close()

# ---- replies ----------------------------------------------------------
for name, answer_at, reply, want in [
    ("custom multi-line reply at RCPT", b"R",
     pkt(b"y", b"550-5.7.1 first\r\n550 5.7.1 second\0"),
     "rcpt reject custom 550-5.7.1 first||550 5.7.1 second"),
    ("custom 4xx at MAIL", b"M", pkt(b"y", b"451 4.7.1 later\0"),
     "mail tempfail custom 451 4.7.1 later"),
    ("plain reject at HELO", b"H", pkt(b"r"),
     "helo reject 550 5.7.1 Command rejected"),
    ("plain tempfail at DATA", b"T", pkt(b"t"),
     "data tempfail 451 4.7.1 Service unavailable - try again later"),
    ("discard at EOM", b"E", pkt(b"d"), "eom discard"),
    ("a 250 from a filter is malformed", b"M", pkt(b"y", b"250 2.0.0 ok\0"),
     "mail tempfail failed 451 4.7.1 Service unavailable - try again later"),
    ("a header change before EOM is out of place", b"M",
     pkt(b"h", b"X-A\0b\0") + pkt(b"c"),
     "mail tempfail failed 451 4.7.1 Service unavailable - try again later"),
    ("a header smuggling a line", b"E",
     pkt(b"h", b"X-A\0b\r\nBcc: x@y\0") + pkt(b"c"),
     "eom tempfail failed 451 4.7.1 Service unavailable - try again later"),
]:
    f = Filter(lambda c, d, a=answer_at, r=reply: r if c == a else pkt(b"c"))
    lines, _ = drive([f.spec])
    tap.ok(want in lines, name, "\n".join(lines))
    f.close()

# a change the filter did not negotiate is refused
f = Filter(lambda c, d: pkt(b"b", b"x\r\n") + pkt(b"c") if c == b"E"
           else pkt(b"c"), actions=0x1)
lines, _ = drive([f.spec])
tap.ok(lines[-1].startswith("eom tempfail failed"),
       "a body change without CHGBODY negotiated fails", "\n".join(lines))
f.close()

# ---- Unix and IPv6 sockets; a chain of two ---------------------------
unix_f = Filter(lambda c, d: pkt(b"h", b"X-One\0" b"1\0") + pkt(b"c")
                if c == b"E" else pkt(b"c"), family=socket.AF_UNIX,
                path=os.path.join(work, "f.sock"))
try:
    v6_f = Filter(lambda c, d: pkt(b"h", b"X-Two\0" b"2\0") + pkt(b"a")
                  if c == b"E" else pkt(b"c"), family=socket.AF_INET6)
except OSError:
    v6_f = None
if v6_f:
    lines, _ = drive([unix_f.spec, v6_f.spec])
    tap.eq(lines[-3:], ["eom continue", "mod addhdr 0 X-One: 1",
                        "mod addhdr 0 X-Two: 2"],
           "a chain over unix: and inet6: puts the changes together in order")
    v6_f.close()
else:
    tap.skip("chain over unix: and inet6:", "no IPv6 loopback")
# the first refuses: the second is not asked
second = Filter(cont)
rej = Filter(lambda c, d: pkt(b"r") if c == b"M" else pkt(b"c"))
lines, _ = drive([rej.spec, second.spec])
tap.ok("mail reject 550 5.7.1 Command rejected" in lines and
       b"M" not in [c for c, _ in second.got],
       "a rejection ends the chain", "\n".join(lines))
unix_f.close()
second.close()
rej.close()

# ---- hostile filters: the default action within the timeouts ----------
dead = pombo.free_port()
lines, took = drive(["inet:127.0.0.1:%d" % dead], "-t", "2")
tap.ok(lines and lines[0].startswith("connect tempfail failed 451") and
       took < 3, "a filter that is down: tempfail at once",
       "%s\n%.2fs" % ("\n".join(lines), took))
lines, took = drive(["inet:127.0.0.1:%d" % dead], "-a", "reject")
tap.ok(lines and lines[0] == "connect reject failed 550 5.7.1 Command "
       "rejected", "milter_default_action = reject", "\n".join(lines))
lines, took = drive(["inet:127.0.0.1:%d" % dead], "-a", "accept")
tap.ok(lines and lines[0] == "connect accept failed" and
       lines[-1] == "eom accept failed",
       "milter_default_action = accept: as if it were not there",
       "\n".join(lines))

for name, answer, at, timeout_flag in [
    ("dies mid-message", lambda c, d: None if c == b"L" else pkt(b"c"),
     "header", None),
    ("never answers MAIL", lambda c, d: b"" if c == b"M" else pkt(b"c"),
     "mail", "-t"),
    ("never answers the body", lambda c, d: b"" if c == b"B"
     else pkt(b"c"), "body", "-T"),
    ("sends garbage", lambda c, d: b"\0\0\0\x05Zjunk" if c == b"R"
     else pkt(b"c"), "rcpt", None),
    ("sends a 2 GiB length", lambda c, d: b"\x7f\xff\xff\xffc" if c == b"T"
     else pkt(b"c"), "data", None),
    ("sends a packet of length 0", lambda c, d: b"\0\0\0\0" if c == b"H"
     else pkt(b"c"), "helo", None),
    ("closes before negotiating", None, "connect", None),
]:
    if answer is None:
        # accepts, reads the negotiation, closes
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)

        def closer(s=s):
            c, _ = s.accept()
            c.recv(100)
            c.close()
        threading.Thread(target=closer, daemon=True).start()
        spec = "inet:127.0.0.1:%d" % s.getsockname()[1]
        f = None
    else:
        f = Filter(answer)
        spec = f.spec
    args = ["-t", "1", "-T", "1"]
    lines, took = drive([spec], *args)
    want = "%s tempfail failed 451 4.7.1 Service unavailable - try again " \
        "later" % at
    tap.ok(want in lines and took < (2.5 if timeout_flag else 1.0),
           "a filter that %s: tempfail in %.2fs" % (name, took),
           "\n".join(lines))
    if f:
        f.close()
    else:
        s.close()

# a filter silent at negotiation: the connect timeout
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
lines, took = drive(["inet:127.0.0.1:%d" % s.getsockname()[1]], "-t", "1")
tap.ok(lines and lines[0].startswith("connect tempfail failed") and
       took < 2.5, "a filter silent at negotiation: tempfail in %.2fs" % took,
       "\n".join(lines))
s.close()


# ---- rspamd --------------------------------------------------------------
def run_rspamd():
    started = milters.start_rspamd(os.path.join(work, "rspamd"))
    if isinstance(started, str):
        return started
    proc, port = started
    try:
        gtube = os.path.join(work, "gtube.eml")
        with open(gtube, "wb") as fh:
            fh.write(b"From: Alice <alice@example.org>\nTo: bob@example.net\n"
                     b"Subject: gtube\nMessage-ID: <2@example.org>\n\n"
                     b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-"
                     b"TEST-EMAIL*C.34X\n")
        spec = "inet:127.0.0.1:%d" % port
        r = subprocess.run([DRIVER, "-m", spec, "-T", "60", gtube],
                           capture_output=True, timeout=90)
        lines = r.stdout.decode().splitlines()
        tap.ok("eom reject custom 554 5.7.1 Gtube pattern" in lines,
               "rspamd rejects GTUBE with its reply", "\n".join(lines))
        out = os.path.join(work, "rspamd-out.eml")
        lines, _ = drive([spec], "-T", "60", out=out, timeout=90)
        tap.ok(lines and lines[-1].split()[:2] in (["eom", "accept"],
                                                  ["eom", "continue"])
               or any(x in ("eom accept", "eom continue") for x in lines),
               "rspamd lets a clean message through", "\n".join(lines))
        with open(out, "rb") as fh:
            edited = fh.read()
        tap.ok(b"\nX-Rspamd-Queue-Id: 01k177h582jc\n" in edited and
               b"\nX-Spamd-Result: default: False" in edited and
               edited.endswith(MSG[MSG.index(b"\n\n"):]),
               "rspamd's headers (the queue id from the i macro) are on the "
               "message", edited.decode("utf-8", "replace"))
    finally:
        milters.stop(proc)
    return None


# ---- OpenDKIM ------------------------------------------------------------
def run_opendkim():
    import dkim
    started = milters.start_opendkim(os.path.join(work, "opendkim"),
                                     "example.org", "sel")
    if isinstance(started, str):
        return started
    proc, port, record = started
    try:
        out = os.path.join(work, "signed.eml")
        lines, _ = drive(["inet:127.0.0.1:%d" % port], out=out)
        tap.ok(any(x.startswith("mod inshdr 0 DKIM-Signature:") or
                   x.startswith("mod addhdr 0 DKIM-Signature:")
                   for x in lines), "OpenDKIM asks for a DKIM-Signature",
               "\n".join(lines))
        with open(out, "rb") as fh:
            signed = fh.read()

        def dnsfunc(name, timeout=5):
            if name in (b"sel._domainkey.example.org.",
                        "sel._domainkey.example.org."):
                return record.encode()
            return None
        ok = dkim.verify(signed.replace(b"\n", b"\r\n"), dnsfunc=dnsfunc)
        tap.ok(ok, "the signature verifies over the edited message",
               signed.decode("utf-8", "replace"))
        tampered = signed.replace(b"see you tomorrow", b"see you today")
        tap.ok(not dkim.verify(tampered.replace(b"\n", b"\r\n"),
                               dnsfunc=dnsfunc),
               "and fails over a changed body (the check has teeth)")
        tap.ok(signed.startswith(b"DKIM-Signature:") and
               signed.endswith(MSG), "the signature is on top of the "
               "message, which is otherwise unchanged",
               signed.decode("utf-8", "replace"))
    finally:
        milters.stop(proc)
    return None


for name, run in (("rspamd", run_rspamd), ("OpenDKIM", run_opendkim)):
    why = run()
    if why:
        tap.skip(name, why)

shutil.rmtree(work, ignore_errors=True)
tap.done()
