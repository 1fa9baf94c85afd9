"""Hostile input to the checks of arriving mail (pombo-verify): an
Internet client sends straight to an instance with inbound_auth on, a
local dnsmasq publishes the records.

- Authentication-Results: fields claiming our authserv-id in odd forms
  (folded, other case, a comment or quotes before the id, blanks before
  the colon, several): none but ours reaches the mailbox; ones in the
  body are the body's.
- From: fields the DMARC check cannot read (a trailing dot, a local
  part no mailbox parser takes, an unclosed comment, a second such
  field beside a readable one): the author domain is unknown, so the
  message is junk with dmarc=permerror, never the inbox with a
  p=reject domain on show; readable forms (groups, folded lists, two
  fields) meet the policy.
- A DKIM signature with l= (a body length): pass as it was signed; with
  a line appended after, dkim=policy, so that DMARC does not pass by it
  (a p=reject domain's message, appended to, is refused).
- SPF records that loop, ask too much, come back void, or expand
  macros far: permerror, within the timeout, and the agent lives."""
import base64
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

import dkim  # noqa: E402

tap = pombo.Tap()
work = tempfile.mkdtemp(prefix="pombo-authhostile-")
pombo.libopendkim_leak_ok(work)

third_key, third_der = pombo.openssl_keypair(work, "third", "-algorithm",
                                             "rsa", "-pkeyopt",
                                             "rsa_keygen_bits:2048")

RECORDS = {
    "s1._domainkey.third.test": "v=DKIM1; k=rsa; p=" +
    base64.b64encode(third_der).decode(),
    "_dmarc.third.test": "v=DMARC1; p=reject",
    "bank.test": "v=spf1 ip4:192.0.2.1 -all",
    "_dmarc.bank.test": "v=DMARC1; p=reject",
    "lax.test": "v=spf1 ip4:192.0.2.1 -all",
    "_dmarc.lax.test": "v=DMARC1; p=none",
    # hostile SPF
    "loop.test": "v=spf1 include:loop.test -all",
    "ping.test": "v=spf1 redirect=pong.test",
    "pong.test": "v=spf1 redirect=ping.test",
    "many.test": "v=spf1 " + " ".join("a:h%d.many.test" % i
                                      for i in range(12)) + " -all",
    "wide.test": "v=spf1 " + " ".join("include:i%d.wide.test" % i
                                      for i in range(9)) + " -all",
    "void.test": "v=spf1 a:n1.void.test a:n2.void.test a:n3.void.test "
    "a:n4.void.test -all",
    "macro.test": "v=spf1 exists:%{l}%{l}%{l}%{l}.%{d}%{d}%{d}%{d} "
    "exists:%{i}.%{ir}.%{v}.%{h}.%{h}.%{h} -all",
    "macro2.test": "v=spf1 exists:%{l1r-}.%{d99r}.%{s}.%{s}.%{s} "
    "a:%{h}%{h}%{h}%{h}%{h}%{h} -all",
    "ptr.test": "v=spf1 ptr ptr:ptr.test mx:ptr.test -all",
}
for i in range(9):
    RECORDS["i%d.wide.test" % i] = "v=spf1 " + " ".join(
        "a:x%d.i%d.wide.test" % (k, i) for k in range(9)) + " ?all"
for i in range(12):
    RECORDS["h%d.many.test" % i] = "v=spf1 -all"  # a TXT, no A: voids


def txt_option(name, text):
    parts = [text[i:i + 250] for i in range(0, len(text), 250)]
    return "--txt-record=%s,%s" % (name, ",".join(parts))


dnsd = pombo.Dnsmasq([txt_option(n, t) for n, t in RECORDS.items()] +
                     ["--ptr-record=66.2.0.192.in-addr.arpa,c.ptr.test",
                      "--host-record=c.ptr.test,192.0.2.66"], work)

B = pombo.Instance({"hostname": "mx.dest.test", "local_domains": "dest.test",
                    "inbound_auth": "yes", "inbound_auth_timeout": "10s",
                    "dns_servers": "127.0.0.1:%d" % dnsd.port,
                    "hold_deliveries": "no"},
                   name="pombo-authhostile", users=["bob@dest.test"])
B.start()
for d in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(B.mail, "dest.test", "bob", ".Junk", d))

CLIENT = "192.0.2.66"


def message(subject, frm, extra="", body="hello\r\n"):
    return (("From: %s\r\n" % frm if frm is not None else "") +
            "To: bob@dest.test\r\nSubject: %s\r\n"
            "Date: Wed, 02 Dec 2026 01:00:00 +0000\r\n"
            "Message-ID: <%s@x.test>\r\n%s\r\n%s" %
            (subject, subject.replace(" ", "."), extra, body)).encode()


def send(mailfrom, data, helo="client.test"):
    out = B.smtpd(b"EHLO %s\r\nMAIL FROM:<%s>\r\nRCPT TO:<bob@dest.test>\r\n"
                  b"DATA\r\n" % (helo.encode(), mailfrom.encode()) +
                  data.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\nQUIT\r\n",
                  env={"TCPREMOTEIP": CLIENT}, timeout=60)
    last = [l for l in out.split(b"\r\n") if l[:3] not in (b"", b"221")][-1]
    return int(last[:3]), last[4:]


def find(subject):
    """(folder, message) of the delivered message with subject, waiting."""
    want = ("\nSubject: %s\n" % subject).encode()

    def look():
        for folder in ("", ".Junk"):
            d = os.path.join(B.mail, "dest.test", "bob", folder, "new")
            for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                with open(os.path.join(d, n), "rb") as f:
                    m = f.read()
                if want in m:
                    return folder, m
        return None
    pombo.wait_for(lambda: look() is not None, 20)
    return look() or (None, None)


def header(m):
    head = m.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    return re.sub(r"\n[ \t]+", " ", head).split("\n")


def ar_ids(m):
    """The authserv-id of each Authentication-Results: field (any case,
    blanks before the colon), comments and quotes taken off."""
    ids = []
    for line in header(m):
        name, _, value = line.partition(":")
        if name.strip().lower() != "authentication-results":
            continue
        value = re.sub(r"\([^)]*\)", " ", value).strip()
        ids.append(value.split(";")[0].strip().strip('"').lower())
    return ids


def ours(m):
    for line in header(m):
        if line.lower().startswith("authentication-results: mx.dest.test;"):
            return line
    return ""


def result(m, method):
    r = re.search(r"\b%s=(\w+)" % method, ours(m))
    return r.group(1) if r else None


try:
    # --- forged Authentication-Results: in odd forms
    forged = ("Authentication-Results:\r\n mx.dest.test;\r\n dkim=pass "
              "header.d=bank.test\r\n"
              "AUTHENTICATION-RESULTS: MX.DEST.TEST; dmarc=pass\r\n"
              "Authentication-Results: (trust me) mx.dest.test; spf=pass\r\n"
              "Authentication-Results: \"mx.dest.test\"; dkim=pass\r\n"
              "Authentication-Results : mx.dest.test; dkim=pass\r\n"
              "authentication-results:mx.dest.test 1; dkim=pass\r\n"
              "Authentication-Results:\tmx.dest.test\r\n\t;dkim=pass\r\n"
              "Authentication-Results: other.test; dkim=pass\r\n")
    code, _ = send("x@lax.test", message(
        "odd ar", "x@lax.test", forged, "Authentication-Results: "
        "mx.dest.test; dkim=pass\r\n"))
    tap.eq(code, 250, "forged fields: accepted")
    _, m = find("odd ar")
    ids = ar_ids(m) if m else []
    tap.eq(ids.count("mx.dest.test"), 1,
           "forged fields in odd forms: only ours claims mx.dest.test")
    tap.ok(m is not None and m.split(b"\n\n", 1)[0].lower().startswith(
        b"return-path:") and b"\nauthentication-results: mx.dest.test;" in
        m.split(b"\n\n", 1)[0].lower(), "ours is on top", m)
    tap.ok("other.test" in ids, "another host's field is kept", ids)
    tap.ok(m is not None and m.split(b"\n\n", 1)[1].startswith(
        b"Authentication-Results: mx.dest.test; dkim=pass\n"),
        "a field-like line in the body is the body's", m)

    # --- From: fields the check cannot read: junk, dmarc=permerror
    for i, frm in enumerate(("ceo@bank.test.",
                             "CEO <ceo.@bank.test>",
                             "ceo@bank.test (unclosed",
                             "=?us-ascii?q?ceo=40bank.test?=",
                             "x@lax.test\r\nFrom: ceo@bank.test.")):
        subject = "unreadable %d" % i
        code, text = send("x@lax.test", message(subject, frm))
        folder, m = find(subject) if code == 250 else (None, None)
        tap.ok(code == 550 or folder == ".Junk",
               "From: %r: not in the inbox" % frm, (code, text, folder))
        if m and folder == ".Junk":
            tap.ok("dmarc=permerror" in ours(m),
                   "From: %r: dmarc=permerror" % frm, ours(m))

    # --- readable forms meet bank.test's p=reject
    for i, frm in enumerate(("Bank: ceo@bank.test;",
                             "x@lax.test,\r\n ceo@bank.test",
                             "x@lax.test\r\nFrom: CEO <CEO@BANK.TEST>",
                             "\"ceo@bank.test\" <ceo@bank.test>")):
        code, text = send("x@lax.test", message("readable %d" % i, frm))
        tap.eq(code, 550, "From: %r: refused by p=reject" % frm)

    # --- no From: at all: permerror, checked without an author
    code, _ = send("x@lax.test", message("no from", None))
    folder, m = find("no from")
    tap.eq(result(m, "dmarc") if m else None, "permerror",
           "no From: dmarc=permerror")

    # --- hostile SPF records: permerror in time, the agent alive
    for dom in ("loop.test", "ping.test", "many.test", "wide.test",
                "void.test", "macro.test", "macro2.test", "ptr.test"):
        t0 = time.monotonic()
        code, text = send("someone@" + dom, message("spf " + dom,
                                                    "x@lax.test"),
                          helo=dom)
        took = time.monotonic() - t0
        folder, m = find("spf " + dom) if code == 250 else (None, None)
        tap.ok(code == 250 and took < 10, "SPF of %s: accepted in %.1f s"
               % (dom, took), (code, text))
        tap.ok(result(m, "spf") in ("permerror", "fail", "pass")
               if m else False, "SPF of %s: %s" % (dom, result(m, "spf")
                                                   if m else None))
        if dom in ("loop.test", "ping.test", "many.test", "wide.test",
                   "void.test"):
            tap.eq(result(m, "spf") if m else None, "permerror",
                   "SPF of %s: permerror" % dom)

    # --- DKIM l=: the signed length passes, more appended does not
    with open(third_key, "rb") as f:
        pk = f.read()
    for appended in (b"", b"<a href=x>appended by anyone</a>\r\n"):
        subject = "length %d" % len(appended)
        raw = message(subject, "news@third.test")
        sig = dkim.sign(raw, b"s1", b"third.test", pk, length=True,
                        include_headers=[b"from", b"to", b"subject",
                                         b"date"])
        # SPF says nothing for third.test: DMARC stands on DKIM alone
        code, text = send("x@lax.test", sig + raw + appended)
        if not appended:
            folder, m = find(subject)
            tap.eq(result(m, "dkim") if m else None, "pass",
                   "l= covering the whole body: dkim=pass")
            tap.eq(folder, "", "and the inbox (dmarc=%s)" % (
                result(m, "dmarc") if m else None))
        else:
            tap.eq(code, 550, "l= and a line appended: p=reject refuses it",
                   )
            tap.ok(b"third.test" in text, "naming third.test", text)

    # l= counts octets of the canonical body (RFC 6376 3.5), which is
    # neither the body as it came nor as it is spooled (LF line ends):
    # blanks and empty lines at the end that canonicalization takes off
    # leave l= covering all; a line appended to a body of many short
    # lines (each one octet longer canonical, CRLF for LF) does not.
    bodies = (("relaxed", "hello  world \t\r\n-- \r\nme\r\n" +
               "\r\n" * 8),
              ("simple", "hello\r\n" + "\r\n" * 8),
              ("relaxed", " \t \r\n" * 8))
    for i, (canon, body) in enumerate(bodies):
        subject = "whole length %d" % i
        raw = message(subject, "news@third.test", body=body)
        sig = dkim.sign(raw, b"s1", b"third.test", pk, length=True,
                        canonicalize=(b"relaxed", canon.encode()),
                        include_headers=[b"from", b"to", b"subject",
                                         b"date"])
        code, text = send("x@lax.test", sig + raw)
        folder, m = find(subject) if code == 250 else (None, None)
        tap.ok(m is not None and result(m, "dkim") == "pass",
               "l= of a %s body all its ends stripped: dkim=pass" % canon,
               (code, text, ours(m) if m else None))
    for canon in ("relaxed", "simple"):
        subject = "many lines " + canon
        raw = message(subject, "news@third.test",
                      body="".join("line %d\r\n" % k for k in range(80)))
        sig = dkim.sign(raw, b"s1", b"third.test", pk, length=True,
                        canonicalize=(b"relaxed", canon.encode()),
                        include_headers=[b"from", b"to", b"subject",
                                         b"date"])
        code, text = send("x@lax.test", sig + raw +
                          b"<a href=x>pay here</a>\r\n")
        tap.ok(code == 550, "l= of 80 lines (%s), a short line appended: "
               "refused" % canon, (code, text))
finally:
    for i in (B,):
        if i.queued and i.queued.poll() is None:
            i.check_clean(tap)
        i.cleanup()
    dnsd.stop()
tap.done()
