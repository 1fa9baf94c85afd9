"""Milters in queued's sessions (issue 17): with `milters` set, every
message meets the filters between the end of its data (and its checks)
and its commit; what the client is told and what is on disk are the
filters' word. Scripted filters (tests/lib/milters.py) try every
outcome; rspamd and OpenDKIM are the real ones.

- a filter's changes: a header added, the body replaced, a recipient
  added, are in the queued file (its length recorded) and its envelope;
- a refusal at RCPT or at the end (custom reply) reaches the client at
  the end of data, nothing queued; a discard gets 250, nothing queued;
  a quarantine queues the message held;
- a filter that is down: milter_default_action (tempfail: 451);
- local injection (pombo-sendmail) meets the filters too;
- rspamd refuses GTUBE with its reply and adds its headers to a clean
  message; OpenDKIM's signature on a client's message verifies.

Limitation tested as such: the filters see the whole transaction at its
end, so a refusal of one recipient refuses the message."""
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
    """By the Subject of the message (seen at the header step)."""
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
    return pkt(b"a")


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
        tap.eq(A.incoming_files(), [], "nothing left in incoming/")
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
    tap.ok(last_reply(out).startswith(b"550 5.1.1"),
           "a refusal at RCPT refuses the message at its end", out)
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
    tap.ok(last_reply(out).startswith(b"451 4."),
           "a filter that is down: 451 (milter_default_action tempfail)",
           out)
    A.stop()

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
