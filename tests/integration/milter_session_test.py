"""Milters in queued's sessions (issue 17): with `milters` set, the
filters follow each queue connection's session step by step (connect
and HELO, MAIL, each RCPT, DATA), then see the message's content (after
its checks) before its commit; what the client is told and what is on
disk are the filters' word. Scripted filters (tests/lib/milters.py) try
every outcome; rspamd and OpenDKIM are the real ones.

- a filter's changes: a header added, the body replaced, a recipient
  added, are in the queued file (its length recorded) and its envelope;
- a refusal at connect or HELO answers every MAIL of the session; one
  at MAIL that MAIL (the next one may pass); one at RCPT that recipient
  alone (the others get the message); one at DATA or at the end of the
  message reaches the client after the data; nothing is queued then; a
  discard gets 250, nothing queued; a quarantine queues the message
  held;
- one milter session per SMTP session: two messages, one connect;
- two filters in a chain: the second sees the message as the first
  changed it (as Postfix does);
- a filter that is down: milter_default_action (tempfail: 451);
- local injection (pombo-sendmail) meets the filters too;
- rspamd refuses GTUBE with its reply and adds its headers to a clean
  message; OpenDKIM's signature on a client's message verifies."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
import milters  # noqa: E402
from milters import pkt, Filter  # noqa: E402

tap = pombo.Tap()
work = tempfile.mkdtemp(prefix="pombo-msess-")
CLIENT = {"TCPREMOTEIP": "192.0.2.1"}


def session(inst, subject, body=b"hello\n", rcpt=b"bob@example.test",
            env=CLIENT, frm=b"alice@example.org"):
    return inst.smtpd(b"EHLO c.test\nMAIL FROM:<" + frm + b">\nRCPT TO:<" +
                      rcpt + b">\nDATA\nFrom: <" + frm + b">\nTo: <" + rcpt +
                      b">\nSubject: " + subject + b"\n\n" + body +
                      b".\nQUIT\n", env=env)


def queued_as(out):
    m = re.search(rb"250 2.0.0 Ok: queued as (\w+)", out)
    return m.group(1).decode() if m else None


def last_reply(out):
    return [x for x in out.split(b"\r\n") if x[:3] not in (b"", b"221")][-1]


def subject_of(data):
    m = re.search(rb"\nSubject: (\S+)", data)
    return m.group(1) if m else b""


def answer(cmd, data):
    """By the Subject of the message (seen at the header step), and by
    the client, HELO name and sender at their steps."""
    if cmd == b"C" and b"192.0.2.66" in data:
        return pkt(b"y", b"554 5.7.1 Not from you\0")
    if cmd == b"H" and data.startswith(b"bad.test"):
        return pkt(b"y", b"550 5.7.1 Bad HELO name\0")
    if cmd == b"M" and b"<spammer@" in data:
        return pkt(b"y", b"553 5.7.1 Not this sender\0")
    if cmd == b"T" and answer.last_from == b"late":
        return pkt(b"y", b"451 4.7.1 Not now\0")
    if cmd == b"M":
        answer.last_from = data.split(b"@")[0].lstrip(b"<")
    if cmd == b"L":
        if data.startswith(b"Subject\0"):
            answer.subject = data.split(b"\0")[1].strip()
        return pkt(b"c")
    s = getattr(answer, "subject", b"")
    if cmd == b"R" and b"dave@" in data:
        return pkt(b"y", b"550 5.1.1 <dave@example.test>: not here\0")
    if cmd != b"E":
        return pkt(b"c")
    answer.subject = b""
    if s == b"refuse":
        return pkt(b"y", b"554 5.7.1 Not this one\0")
    if s == b"drop":
        return pkt(b"d")
    if s == b"hold":
        return pkt(b"q", b"looks odd\0") + pkt(b"c")
    if s == b"edit":
        return (pkt(b"h", b"X-Filtered\0yes\0") +
                pkt(b"b", b"new body\r\n") +
                pkt(b"+", b"<carol@example.test>\0") + pkt(b"c"))
    if s == b"dup":
        return (pkt(b"+", b"<BOB@example.test>\0") +
                pkt(b"+", b"<carol@example.test>\0") +
                pkt(b"+", b"<carol@example.test>\0") + pkt(b"c"))
    return pkt(b"a")


answer.last_from = b""
flt = Filter(answer)
A = pombo.Instance({"milters": flt.spec, "relay_networks": "192.0.2.0/24"},
                   name="pombo-msess")
A.start()
try:
    # --- changes: header, body, a recipient
    out = session(A, b"edit")
    qid = queued_as(out)
    tap.ok(qid is not None, "filtered message accepted", out)
    if qid:
        q = A.queue_file(qid)
        head, msg = q.split(b"\ndata\n", 1)
        tap.ok(b"\nX-Filtered: yes\n" in msg, "the filter's header is in "
               "the queued message", msg)
        tap.ok(msg.endswith(b"\n\nnew body\n"), "the body is the filter's",
               msg)
        tap.ok(b"\nrcpt <carol@example.test>" in head and
               b"\nrcpt <bob@example.test>" in head,
               "the added recipient is in the envelope", head)
        length = int(re.search(rb"\nlength (\d+)", head).group(1))
        tap.eq(length, len(msg), "the recorded length is the new message's")
        ok, diag = A.sum_matches(qid)
        tap.ok(ok, "and so is the sum (its CRC-32C)", diag)
        tap.eq(A.incoming_files(), [], "nothing left in incoming/")
    # --- a recipient added that is there already: delivered once
    qid = queued_as(session(A, b"dup"))
    head = A.queue_file(qid).split(b"\ndata\n", 1)[0] if qid else b""
    rcpts = [l.split()[1].lower() for l in head.split(b"\n")
             if l.startswith(b"rcpt ")]
    tap.eq(sorted(rcpts), [b"<bob@example.test>", b"<carol@example.test>"],
           "a recipient a filter adds twice, or the client gave, is in the "
           "envelope once")
    macros = b"".join(d for c, d in flt.got if c == b"D")
    tap.ok(b"{daemon_name}\0pombo" in macros and b"j\0mx.test" in macros,
           "the filter got the macros", macros[:300])
    tap.ok(any(c == b"C" and b"192.0.2.1" in d for c, d in flt.got),
           "the filter got the client's address at connect")

    # --- refusals, discard, hold
    before = A.queue_files()
    out = session(A, b"refuse")
    tap.eq(last_reply(out), b"554 5.7.1 Not this one",
           "a filter's refusal reaches the client as it wrote it")
    out = A.smtpd(b"EHLO c.test\nMAIL FROM:<a@example.org>\nRCPT TO:"
                  b"<dave@example.test>\nRCPT TO:<bob@example.test>\nDATA\n"
                  b"Subject: x\n\nhi\n.\nQUIT\n", env=CLIENT)
    tap.ok(b"\r\n550 5.1.1 <dave@example.test>: not here\r\n250 2.1.5" in
           out, "a refusal at RCPT answers that RCPT, the next passes", out)
    qid = queued_as(out)
    tap.ok(qid is not None, "the message goes to the others", out)
    if qid:
        head = A.queue_file(qid).split(b"\ndata\n", 1)[0]
        tap.ok(b"\nrcpt <bob@example.test>" in head and b"dave@" not in
               head, "to bob alone", head)
    out = A.smtpd(b"EHLO c.test\nMAIL FROM:<spammer@example.org>\n"
                  b"MAIL FROM:<a@example.org>\nRCPT TO:<bob@example.test>\n"
                  b"DATA\nSubject: x\n\nhi\n.\nQUIT\n", env=CLIENT)
    tap.ok(b"\r\n553 5.7.1 Not this sender\r\n250 2.1.0" in out and
           queued_as(out) is not None,
           "a refusal at MAIL answers that MAIL; the next sender passes",
           out)
    out = session(A, b"x", frm=b"late@example.org")
    tap.eq(last_reply(out), b"451 4.7.1 Not now",
           "a refusal at DATA reaches the client after the data")
    out = A.smtpd(b"EHLO c.test\nMAIL FROM:<a@example.org>\nQUIT\n",
                  env={"TCPREMOTEIP": "192.0.2.66"})
    tap.ok(b"\r\n554 5.7.1 Not from you\r\n" in out,
           "a refusal at connect answers MAIL", out)
    out = A.smtpd(b"EHLO bad.test\nMAIL FROM:<a@example.org>\nRSET\n"
                  b"MAIL FROM:<b@example.org>\nQUIT\n", env=CLIENT)
    tap.ok(out.count(b"\r\n550 5.7.1 Bad HELO name\r\n") == 2,
           "a refusal at HELO answers every MAIL of the session", out)
    before = A.queue_files()
    out = session(A, b"drop")
    tap.ok(queued_as(out) is not None, "a discarded message gets 250", out)
    tap.eq(A.queue_files(), before, "refused and discarded: nothing queued")
    tap.eq(A.incoming_files(), [], "incoming/ empty")
    out = session(A, b"hold")
    qid = queued_as(out)
    tap.ok(qid is not None, "a quarantined message is accepted", out)
    r = subprocess.run([pombo.prog("queued/pombo-queue"), "-c", A.conf_path,
                        "list"], capture_output=True, text=True, timeout=30)
    tap.ok(qid and any(qid in x and "held" in x.split()
                       for x in r.stdout.splitlines()),
           "and held (pombo-queue list)", r.stdout)

    # --- one milter session per SMTP session
    n0 = sum(1 for c, d in flt.got if c == b"C")
    out = A.smtpd(b"EHLO c.test\n" + b"MAIL FROM:<a@example.org>\nRCPT TO:"
                  b"<bob@example.test>\nDATA\nSubject: one\n\nhi\n.\n" * 2 +
                  b"QUIT\n", env=CLIENT)
    tap.ok(out.count(b"250 2.0.0 Ok: queued as") == 2,
           "two messages in one session", out)
    tap.eq(sum(1 for c, d in flt.got if c == b"C") - n0, 1,
           "the filter had one connect for both")

    # --- local injection meets the filters
    r = subprocess.run([pombo.prog("queued/pombo-sendmail"), "-C",
                        A.conf_path, "-f", "alice@example.test",
                        "bob@example.test"],
                       input=b"Subject: refuse\n\nhi\n", capture_output=True,
                       timeout=30)
    tap.ok(r.returncode != 0 and b"Not this one" in r.stdout + r.stderr,
           "pombo-sendmail's message is refused by the filter too",
           r.stdout + r.stderr)
    A.stop()

    # --- a filter that is down: tempfail by default
    flt.close()
    A.start()
    out = session(A, b"edit")
    tap.ok(b"\r\n451 4.7.1 Service unavailable" in out and
           queued_as(out) is None,
           "a filter that is down: 451 (milter_default_action tempfail)",
           out)
    A.stop()

    # --- a filter named by host name (looked up when queued starts):
    # this machine's name, if its hosts file gives it a loopback address
    import socket
    name = socket.gethostname()
    try:
        addr = socket.getaddrinfo(name, 25, socket.AF_INET)[0][4][0]
    except OSError:
        addr = ""
    if not addr.startswith("127."):
        tap.skip("a filter named by host name", "%s is not on loopback" %
                 name)
    else:
        fn = Filter(answer, host=addr)
        A.set_conf(milters="inet:%s:%s" % (name, fn.spec.rsplit(":", 1)[1]))
        A.start()
        out = session(A, b"edit")
        tap.ok(queued_as(out) is not None and
               any(c == b"C" for c, d in fn.got),
               "a filter named by host name (%s) gets the session" % name,
               out)
        A.stop()
        fn.close()

    # --- a filter that never answers one session, and one that dies in
    # another: those get the default action within the timeout, and
    # queued serves everyone else meanwhile
    import threading
    import time

    def moody(cmd, data):
        if cmd == b"R" and b"<one@" in data:
            return b""              # never
        if cmd == b"R" and b"<two@" in data:
            return None             # closes the connection
        return pkt(b"c") if cmd != b"E" else pkt(b"a")
    fm = Filter(moody)
    A.set_conf(milters=fm.spec, milter_command_timeout="3s")
    A.start()
    stuck = {}

    def slow():
        t0 = time.monotonic()
        stuck["out"] = A.smtpd(b"EHLO c.test\nMAIL FROM:<a@example.org>\n"
                               b"RCPT TO:<one@example.test>\nQUIT\n",
                               env=CLIENT)
        stuck["took"] = time.monotonic() - t0
    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    out = session(A, b"meanwhile")
    took = time.monotonic() - t0
    tap.ok(queued_as(out) is not None and took < 2.5,
           "another session is served while a filter keeps one waiting "
           "(%.2fs)" % took, out)
    out = A.smtpd(b"EHLO c.test\nMAIL FROM:<a@example.org>\nRCPT TO:"
                  b"<two@example.test>\nQUIT\n", env=CLIENT)
    tap.ok(b"\r\n451 4.7.1 " in out,
           "a filter that dies mid-session: 451 (tempfail)", out)
    th.join(30)
    tap.ok(b"\r\n451 4.7.1 " in stuck.get("out", b"") and
           2.5 < stuck.get("took", 0) < 10,
           "the silent filter: 451 after milter_command_timeout (%.2fs)" %
           stuck.get("took", 0), stuck.get("out"))
    A.stop()
    fm.close()

    # --- a chain: the second filter sees the first one's changes
    def first(cmd, data):
        if cmd == b"E":
            return pkt(b"h", b"X-First\0was here\0") + pkt(b"c")
        return pkt(b"c")

    def second(cmd, data):
        if cmd == b"L" and data.startswith(b"X-First\0"):
            second.saw = True
        if cmd == b"E":
            saw, second.saw = second.saw, False
            return pkt(b"h", b"X-Second-Saw-First\0" +
                       (b"yes" if saw else b"no") + b"\0") + pkt(b"c")
        return pkt(b"c")
    second.saw = False
    f1, f2 = Filter(first), Filter(second)
    A.set_conf(milters="%s, %s" % (f1.spec, f2.spec))
    A.start()
    out = session(A, b"chain")
    qid = queued_as(out)
    tap.ok(qid is not None, "a chain of two passes the message", out)
    if qid:
        msg = A.queue_file(qid).split(b"\ndata\n", 1)[1]
        tap.ok(b"\nX-First: was here\n" in msg and
               b"\nX-Second-Saw-First: yes\n" in msg,
               "the second filter saw the first one's header", msg[:600])
    A.stop()
    f1.close()
    f2.close()

    # --- rspamd and OpenDKIM, in this order, like a real MX
    rs = milters.start_rspamd(os.path.join(work, "rspamd"))
    dk = milters.start_opendkim(os.path.join(work, "opendkim"),
                                "example.org", "sel")
    if isinstance(rs, str) or isinstance(dk, str):
        tap.skip("rspamd and OpenDKIM in a session", "%s %s" % (rs, dk))
    else:
        import dkim
        A.set_conf(milters="inet:127.0.0.1:%d, inet:127.0.0.1:%d" % (
            rs[1], dk[1]))
        A.start()
        out = session(A, b"gtube", body=b"XJS*C4JDBQADN1.NSBN3*2IDNEN*"
                      b"GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n")
        tap.eq(last_reply(out), b"554 5.7.1 Gtube pattern",
               "rspamd refuses GTUBE with its reply")
        out = session(A, b"clean", body=b"Hello Bob,\nsee you.\n")
        qid = queued_as(out)
        tap.ok(qid is not None, "a clean message passes both", out)
        if qid:
            msg = A.queue_file(qid).split(b"\ndata\n", 1)[1]
            tap.ok(b"\nX-Spamd-Result: " in msg and
                   ("\nX-Rspamd-Queue-Id: %s\n" % qid).encode() in msg,
                   "rspamd's headers, with queued's id", msg[:800])

            def dnsfunc(name, timeout=5):
                n = name.decode() if isinstance(name, bytes) else name
                return dk[2].encode() if n.startswith(
                    "sel._domainkey.example.org") else None
            tap.ok(b"DKIM-Signature:" in msg and
                   dkim.verify(msg.replace(b"\n", b"\r\n"),
                               dnsfunc=dnsfunc),
                   "OpenDKIM's signature verifies over the queued message",
                   msg[:800])
        A.stop()
    for x in (rs, dk):
        if not isinstance(x, str):
            milters.stop(x[0])
finally:
    if A.queued and A.queued.poll() is None:
        A.check_clean(tap)
    A.cleanup()
tap.done()
