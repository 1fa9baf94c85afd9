"""Milters following a session through several messages and with
policy servers (issue 17): what a filter said at one step holds for the
steps after it, in that message and in the session.

- a filter's DISCARD at MAIL ends the filters' part in the message, as
  Postfix does: the filters after the one that discarded never saw that
  MAIL, and libmilter ignores a RCPT without a MAIL (it never answers):
  the recipient must not wait for a timeout and get 451.
- a filter that asks for the session's end (SMFIR_SHUTDOWN: 421) is not
  bypassed by the client's next MAIL: one milter session now lasts the
  queue connection, and what the filter said holds for all of it (it
  let every later message through unseen); smtpd passes the 421 on and
  closes the connection, as RFC 5321 3.8 has it (it went on, and the
  client met the same 421 at every later MAIL).
- the macros of a message are its own: at the second MAIL of a session
  the queue id (i) is not the first message's.
- a filter named by a host name without an address counts as a filter
  that is down (pombo.conf(5)): milter_default_action for it, the other
  filters as usual (every session got 451 "cannot filter the session",
  whatever the default action, the other filters never asked).
- a DISCARD at connect or HELO is no answer there (Postfix takes it for
  a broken filter: the default action): the filters after it still get
  the session (they were never connected, and with the default action
  accept let every message through unseen)."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from milters import pkt, Filter  # noqa: E402

tap = pombo.Tap()
CLIENT = {"TCPREMOTEIP": "192.0.2.1"}


def libmilter_like(flt, verdict=lambda cmd, data: None):
    """libmilter's state machine (engine.c): a command of a message
    (RCPT, DATA, header...) that comes outside one (no MAIL since the
    last end or abort) is ignored: no reply at all."""
    def answer(cmd, data):
        last = [c for c, d in flt.got[:-1] if c in (b"C", b"H", b"M", b"A",
                                                   b"E")]
        in_mail = bool(last) and last[-1] == b"M"
        if cmd in (b"R", b"T", b"L", b"N", b"B", b"E") and not in_mail:
            return b""
        v = verdict(cmd, data)
        if v is not None:
            return v
        return pkt(b"c") if cmd != b"E" else pkt(b"a")
    return answer


def orphans(flt):
    """The message commands a filter got outside a message."""
    n, in_mail = 0, False
    for c, d in flt.got:
        if c == b"M":
            in_mail = True
        elif c in (b"A", b"E", b"C", b"H"):
            in_mail = False
        elif c in (b"R", b"T", b"L", b"N", b"B") and not in_mail:
            n += 1
    return n


def first_verdict(cmd, data):
    if cmd == b"M" and b"<drop@" in data:
        return pkt(b"d")
    if cmd == b"M" and b"<shut@" in data:
        return pkt(b"4")
    return None


f1 = Filter(None)
f1.answer = libmilter_like(f1, first_verdict)
f2 = Filter(None)
f2.answer = libmilter_like(f2)
A = pombo.Instance({"milters": "%s, %s" % (f1.spec, f2.spec),
                    "relay_networks": "192.0.2.0/24",
                    "milter_command_timeout": "3s"}, name="pombo-msteps")
A.start()
try:
    # --- a filter's DISCARD at MAIL
    before = A.queue_files()
    t0 = time.monotonic()
    out = A.smtpd(b"EHLO c.test\nMAIL FROM:<drop@example.org>\nRCPT TO:"
                  b"<bob@example.test>\nDATA\nSubject: x\n\nhi\n.\nQUIT\n",
                  env=CLIENT)
    took = time.monotonic() - t0
    tap.ok(b"\r\n250 2.1.5" in out and b"Ok: queued as" in out and
           took < 2.5, "a filter's DISCARD at MAIL: the RCPT passes at "
           "once, the message gets 250 (%.2fs)" % took, out)
    tap.eq(A.queue_files(), before, "and nothing is queued")
    tap.eq(orphans(f2), 0, "the next filter got no RCPT or DATA without "
           "its MAIL")

    # --- a filter's SHUTDOWN: the session is over for it
    before = A.queue_files()
    out = A.smtpd(b"EHLO c.test\nMAIL FROM:<shut@example.org>\n"
                  b"MAIL FROM:<a@example.org>\nRCPT TO:<bob@example.test>\n"
                  b"DATA\nSubject: x\n\nhi\n.\nQUIT\n", env=CLIENT)
    tap.ok(out.count(b"\r\n421 4.7.0 ") == 1 and b"queued as" not in out
           and out.endswith(b"\r\n") and b"\r\n221 " not in out and
           out.rstrip(b"\r\n").split(b"\r\n")[-1].startswith(b"421 4.7.0 "),
           "a filter's SHUTDOWN: smtpd passes the 421 on and closes "
           "(RFC 5321 3.8), nothing answered after it", out)
    tap.eq(A.queue_files(), before, "nothing queued past it")

    # --- two messages, one session: the second MAIL's macros
    n0 = len(f2.got)
    out = A.smtpd(b"EHLO c.test\n" + b"MAIL FROM:<a@example.org>\nRCPT TO:"
                  b"<bob@example.test>\nDATA\nSubject: one\n\nhi\n.\n" * 2 +
                  b"QUIT\n", env=CLIENT)
    qids = re.findall(rb"250 2.0.0 Ok: queued as (\w+)", out)
    tap.eq(len(qids), 2, "two messages in one session")
    mail_macros = [d for c, d in f2.got[n0:] if c == b"D" and
                   d.startswith(b"M")]
    tap.ok(len(mail_macros) == 2 and qids and
           all(b"i\0" + q + b"\0" not in d for d in mail_macros
               for q in qids),
           "no queue id at MAIL: not the last message's", mail_macros)
    A.check_clean(tap)

    # --- a name without an address, default action accept
    A.set_conf(milters="inet:no-such-milter.invalid:8891, %s" % f2.spec,
               milter_default_action="accept")
    A.start()
    n0 = len(f2.got)
    out = A.smtpd(b"EHLO c.test\nMAIL FROM:<a@example.org>\nRCPT TO:"
                  b"<bob@example.test>\nDATA\nSubject: x\n\nhi\n.\nQUIT\n",
                  env=CLIENT)
    tap.ok(b"Ok: queued as" in out, "a filter whose name has no address: "
           "milter_default_action (accept)", out)
    tap.ok(any(c == b"E" for c, d in f2.got[n0:]),
           "the other filter gets the message")
    tap.ok("no-such-milter.invalid:8891 has no address" in A.log(),
           "the name without an address is logged")
    A.check_clean(tap)

    # --- a DISCARD at connect, default action accept
    f3 = Filter(lambda cmd, data: pkt(b"d") if cmd == b"C" else
                pkt(b"c") if cmd != b"E" else pkt(b"a"))
    A.set_conf(milters="%s, %s" % (f3.spec, f2.spec))
    A.start()
    n0 = len(f2.got)
    out = A.smtpd(b"EHLO c.test\nMAIL FROM:<a@example.org>\nRCPT TO:"
                  b"<bob@example.test>\nDATA\nSubject: x\n\nhi\n.\nQUIT\n",
                  env=CLIENT)
    tap.ok(b"Ok: queued as" in out, "a DISCARD at connect: the default "
           "action (accept)", out)
    got = [c for c, d in f2.got[n0:]]
    tap.ok(b"C" in got and b"E" in got, "the next filter still gets the "
           "session and the message", got)
    A.check_clean(tap)
    f3.close()
finally:
    A.cleanup()
    f1.close()
    f2.close()
tap.done()
