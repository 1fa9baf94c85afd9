"""pombo-verify as a pipe program (issue 16, checking what arrives): a
job on stdin, a spool's incoming/ on fd 3, an empty output file on fd
4, one verdict line on stdout. A local dnsmasq publishes the SPF, DKIM
and DMARC records of the test domains; python3-spf (pyspf) and
python3-dkim (dkimpy), asking the same dnsmasq, are the independent
oracles for the SPF and DKIM results. The output file is checked octet
for octet: our Authentication-Results: on top, forged ones of our
authserv-id gone, every other octet as it came. Hostile input (broken
or a thousand DKIM-Signature fields, oversized TXT records, SPF records
past the 10 lookups or in a loop of includes) gets a result in bounded
time, and a DNS server that never answers gives temperror within the
job's timeout."""
import base64
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

import dkim  # noqa: E402  python3-dkim (dkimpy)
import nacl.signing  # noqa: E402  python3-nacl, for Ed25519 keys
import spf  # noqa: E402  python3-spf (pyspf)

tap = pombo.Tap()
work = tempfile.mkdtemp(prefix="pombo-verify-")
incoming = os.path.join(work, "incoming")
os.mkdir(incoming)
HOST = "mx.verify.test"
CLIENT = "192.0.2.10"	# TEST-NET-1: libspf2 passes loopback by itself


def openssl(*args):
    return subprocess.run(["openssl"] + list(args), check=True,
                          capture_output=True).stdout


def keypair(name):
    path = os.path.join(work, name + ".pem")
    openssl("genpkey", "-out", path, "-algorithm", "rsa", "-pkeyopt",
            "rsa_keygen_bits:2048")
    der = openssl("pkey", "-in", path, "-pubout", "-outform", "DER")
    with open(path, "rb") as f:
        return f.read(), der


signed_key, signed_der = keypair("signed")
third_key, third_der = keypair("third")
# Ed25519 (RFC 8463), as dkimpy takes it: the raw 32-octet seed
ed_sk = nacl.signing.SigningKey.generate()
ed_key = base64.b64encode(bytes(ed_sk))
ed_pub = base64.b64encode(bytes(ed_sk.verify_key)).decode()


def txt_option(name, text):
    # a TXT string holds at most 255 octets: split as DNS zones do
    parts = [text[i:i + 250] for i in range(0, len(text), 250)]
    return "--txt-record=%s,%s" % (name, ",".join(parts))


# 2 includes of 6 "a" terms each: 14 DNS terms in all, though no one
# record has more than 6 (libspf2 alone counts per record); every name
# exists, so that the void lookup limit plays no part
deep = {"deep.test": "v=spf1 include:d1.test include:d2.test -all"}
hosts = []
for k in (1, 2):
    deep["d%d.test" % k] = "v=spf1 " + " ".join(
        "a:h%d-%d.test" % (k, i) for i in range(6)) + " -all"
    hosts += ["--host-record=h%d-%d.test,198.51.100.%d" % (k, i, 10 * k + i)
              for i in range(6)]
RECORDS = dict({
    "pass.test": "v=spf1 ip4:192.0.2.10 -all",
    # an mx term: the MX's address, a lookup the term includes
    "mxsender.test": "v=spf1 mx -all",
    "six.test": "v=spf1 ip6:2001:db8::/32 -all",
    # ptr: the client's name (--host-record gives the PTR too), checked
    # forward, ends in sender.test
    "sender.test": "v=spf1 ptr -all",
    # a key record of 5000 octets (DNS_TXT_MAX is 4096)
    "sel._domainkey.bigkey.test": "v=DKIM1; k=rsa; p=" + "A" * 4990,
    "fail.test": "v=spf1 ip4:198.51.100.1 -all",
    "mx.sender.test": "v=spf1 a -all",
    "many.test": "v=spf1 " + " ".join("a:m%d.test" % i for i in range(12)) +
    " -all",
    # three names that do not exist: past the 2 void lookups
    "void.test": "v=spf1 a:v1.test a:v2.test a:v3.test ip4:192.0.2.10 -all",
    # a term of 300 octets, macros in it (libspf2 1.2.10's compiler
    # underflows near 511 compiled octets: CVE-2023-42118)
    "longterm.test": "v=spf1 a:" + "%{d}x" * 60 + ".test ip4:192.0.2.10 "
    "-all",
    # 10 terms, then a fail whose explanation needs no 11th lookup
    "exp.test": "v=spf1 " + " ".join("a:h1-%d.test" % (i % 6)
                                     for i in range(10)) +
    " -all exp=explain.test",
    "explain.test": "no mail from %{i}",
    "loop1.test": "v=spf1 include:loop2.test -all",
    "loop2.test": "v=spf1 include:loop1.test -all",
    # longer than any SPF record should be (RFC 7208 3.4): 5000 octets
    "big.test": "v=spf1 " + " ".join("ip4:198.51.100.%d" % (i % 250)
                                     for i in range(300)) + " -all",
    "sel._domainkey.signed.test": "v=DKIM1; k=rsa; p=" +
    base64.b64encode(signed_der).decode(),
    "ed._domainkey.third.test": "v=DKIM1; k=ed25519; p=" + ed_pub,
    "sel._domainkey.third.test": "v=DKIM1; k=rsa; p=" +
    base64.b64encode(third_der).decode(),
    "_dmarc.reject.test": "v=DMARC1; p=reject",
    "_dmarc.quar.test": "v=DMARC1; p=quarantine",
    "_dmarc.none.test": "v=DMARC1; p=none",
    "_dmarc.signed.test": "v=DMARC1; p=reject; adkim=s",
    "_dmarc.pass.test": "v=DMARC1; p=reject",
    # siblings under a listed suffix: aligned only by the public suffix
    # list (libopendmarc knows no organization under .test)
    "_dmarc.news.example.com": "v=DMARC1; p=reject",
    "bounce.example.com": "v=spf1 ip4:192.0.2.10 -all",
}, **deep)
dnsmasq = pombo.Dnsmasq(["--host-record=mx.sender.test,192.0.2.10",
                         "--mx-host=mxsender.test,mx.sender.test,10",
                         # other addresses' names: NXDOMAIN, not REFUSED
                         "--local=/2.0.192.in-addr.arpa/"] + hosts +
                        [txt_option(n, t) for n, t in RECORDS.items()],
                        work)
DNS = "127.0.0.1:%d" % dnsmasq.port

# the oracles ask the same dnsmasq
_, dnsfunc = pombo.oracle_resolver(dnsmasq.port)


def spf_oracle(sender, helo="mx.sender.test", client=CLIENT):
    return spf.check2(i=client, s=sender, h=helo)[0]


qids = iter("01k177h582%02d" % i for i in range(10, 100))


def message(frm, subject="hello", extra=b"", body=b"hello\r\n"):
    """A message with CRLF ends, as it is signed and sent."""
    return (extra + b"From: " + frm.encode() + b"\r\nTo: bob@verify.test"
            b"\r\nSubject: " + subject.encode() + b"\r\nDate: Wed, 02 Dec "
            b"2026 01:00:00 +0000\r\nMessage-ID: <" + subject.encode() +
            b"@x.test>\r\n\r\n" + body)


def sign(msg, domain, key, selector=b"sel", alg=b"rsa-sha256"):
    sig = dkim.sign(msg, selector, domain.encode(), key,
                    include_headers=[b"from", b"to", b"subject", b"date"],
                    signature_algorithm=alg)
    return sig + msg


def lf(msg):
    return msg.replace(b"\r\n", b"\n")


def run(data, sender="<x@pass.test>", helo="mx.sender.test",
        dns_servers=None, timeout=20, reject="yes", job=None, client=CLIENT):
    """The agent on one message (LF ends, as the spool holds it): the
    verdict line, the output file's octets, the exit code, seconds."""
    qid = next(qids)
    head = b"POMBO-QF 1\nsome envelope\ndata\n"
    with open(os.path.join(incoming, qid), "wb") as f:
        f.write(head + data)
    if job is None:
        job = ("POMBO-JOB 1\nhost %s\ndns %s\ntimeout %d\nclient %s %s\n"
               "dmarc-reject %s\nmsg %s 1795751098 %d %d %s\nend\n" %
               (HOST, dns_servers or DNS, timeout, client, helo, reject,
                qid, len(head), len(data), sender))
    out_path = os.path.join(work, qid + ".out")
    dirfd = os.open(incoming, os.O_RDONLY | os.O_DIRECTORY)
    # the output file as queued gives it: open, empty past its offset
    outfd = os.open(out_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(outfd, b"PREFIX")

    def fds():
        # by way of fresh numbers: either may be 3 or 4 already
        a, b = os.dup(dirfd), os.dup(outfd)
        os.dup2(a, 3)
        os.dup2(b, 4)
    t0 = time.monotonic()
    try:
        p = subprocess.run([pombo.prog("queued/pombo-verify")],
                           input=job.encode(), capture_output=True,
                           timeout=120, close_fds=False, preexec_fn=fds)
    finally:
        os.close(dirfd)
        os.close(outfd)
    took = time.monotonic() - t0
    with open(out_path, "rb") as f:
        out = f.read()
    rep = pombo.sanitizer_report(p.stderr)
    if rep:
        tap.ok(False, "no sanitizer report", rep)
    tap.ok(out.startswith(b"PREFIX") or p.returncode != 0,
           "the agent writes at the output file's offset", out[:80])
    if p.returncode != 0:
        print("# stderr: " + p.stderr.decode("utf-8", "replace")[:300])
    return p.stdout.decode(), out[6:], p.returncode, took


def ar_of(out):
    """Our Authentication-Results: field (unfolded) and the rest."""
    m = re.match(rb"Authentication-Results: [^\n]*\n(?:[ \t][^\n]*\n)*", out)
    if not m:
        return None, out
    return re.sub(rb"\n[ \t]+", b" ", m.group(0)).decode(), out[m.end():]


def check(name, data, want_verdict, want_in_ar=(), **kw):
    line, out, rc, took = run(data, **kw)
    ar, rest = ar_of(out)
    ok = tap.ok(rc == 0 and re.match(want_verdict, line) is not None,
                name + ": verdict", "rc=%d line=%r ar=%r" %
                (rc, line, ar))
    for w in want_in_ar:
        tap.ok(ar is not None and w in ar, name + ": header has " + w, ar)
    if ok:
        tap.eq(rest, data, name + ": the message follows, octet for octet")
    return line, ar, took


# ---- SPF, against pyspf ----
plain = lf(message("a@nodmarc.test", "spf"))
tap.eq(spf_oracle("x@pass.test"), "pass", "oracle: pyspf says pass")
check("SPF pass", plain, r"verdict \S+ ok spf=pass dkim=none dmarc=none\n$",
      ["spf=pass smtp.mailfrom=x@pass.test",
       "spf=pass smtp.helo=mx.sender.test"])
tap.eq(spf_oracle("x@fail.test"), "fail", "oracle: pyspf says fail")
check("SPF -all mismatch", plain, r"verdict \S+ ok spf=fail ",
      ["spf=fail smtp.mailfrom=x@fail.test"], sender="<x@fail.test>")
check("null sender: the HELO identity (RFC 7208 2.4)", plain,
      r"verdict \S+ ok spf=pass ",
      ["spf=pass smtp.mailfrom=postmaster@mx.sender.test"], sender="<>")
tap.eq(spf_oracle("x@mxsender.test"), "pass", "oracle: the mx term passes")
check("SPF: an mx term", plain, r"verdict \S+ ok spf=pass ",
      sender="<x@mxsender.test>")
tap.eq(spf_oracle("x@sender.test"), "pass", "oracle: the ptr term passes")
check("SPF: a ptr term", plain, r"verdict \S+ ok spf=pass ",
      sender="<x@sender.test>")
tap.eq(spf_oracle("x@sender.test", client="192.0.2.11"), "fail",
       "oracle: another address fails it")
check("SPF: a ptr term, another address", plain,
      r"verdict \S+ ok spf=fail ", sender="<x@sender.test>",
      client="192.0.2.11")
tap.eq(spf_oracle("x@six.test", client="2001:db8::10"), "pass",
       "oracle: an IPv6 client passes ip6:")
check("SPF: an IPv6 client", plain, r"verdict \S+ ok spf=pass ",
      sender="<x@six.test>", client="2001:db8::10")
tap.eq(spf_oracle("x@six.test"), "fail", "oracle: an IPv4 one fails")
tap.eq(spf_oracle("x@many.test"), "permerror",
       "oracle: 12 lookups in one record are permerror")
check("SPF: more than 10 lookups in one record", plain,
      r"verdict \S+ ok spf=permerror ", sender="<x@many.test>")
tap.eq(spf_oracle("x@deep.test"), "permerror",
       "oracle: 14 lookups across two includes are permerror")
check("SPF: more than 10 lookups across includes (RFC 7208 4.6.4)", plain,
      r"verdict \S+ ok spf=permerror ", sender="<x@deep.test>")
tap.eq(spf_oracle("x@void.test"), "permerror",
       "oracle: a third void lookup is permerror")
check("SPF: more than 2 void lookups (RFC 7208 4.6.4)", plain,
      r"verdict \S+ ok spf=permerror ", sender="<x@void.test>")
check("SPF: a term of 300 octets", plain, r"verdict \S+ ok spf=permerror ",
      ["spf=permerror (an SPF term too long)"], sender="<x@longterm.test>")
tap.eq(spf_oracle("x@exp.test"), "fail",
       "oracle: 10 terms and exp= are a fail")
check("SPF: 10 terms and exp= (the explanation is no term)", plain,
      r"verdict \S+ ok spf=fail ", sender="<x@exp.test>")
tap.eq(spf_oracle("x@loop1.test"), "permerror",
       "oracle: a loop of includes is permerror")
check("SPF: a loop of includes", plain, r"verdict \S+ ok spf=permerror ",
      sender="<x@loop1.test>")
line, ar, took = check("SPF: an oversized TXT record", plain,
                       r"verdict \S+ ok spf=(none|permerror) ",
                       sender="<x@big.test>")

# ---- DKIM, against dkimpy ----
third = sign(message("a@nodmarc.test", "third"), "third.test", third_key)
tap.ok(dkim.verify(third, dnsfunc=dnsfunc), "oracle: dkimpy verifies the "
       "third-party signature")
check("a valid third-party signature", lf(third),
      r"verdict \S+ ok spf=pass dkim=pass dmarc=none\n$",
      ["dkim=pass header.d=third.test header.s=sel header.b="])
ed = sign(message("a@nodmarc.test", "ed25519"), "third.test", ed_key,
          selector=b"ed", alg=b"ed25519-sha256")
tap.ok(dkim.verify(ed, dnsfunc=dnsfunc), "oracle: dkimpy verifies the "
       "Ed25519 signature")
check("an Ed25519 signature (RFC 8463)", lf(ed),
      r"verdict \S+ ok spf=pass dkim=pass dmarc=none\n$",
      ["dkim=pass header.d=third.test header.s=ed"])
bad = third.replace(b"Subject: third", b"Subject: thirD")
tap.ok(not dkim.verify(bad, dnsfunc=dnsfunc),
       "oracle: dkimpy fails the changed message")
check("a signature over a changed header", lf(bad),
      r"verdict \S+ ok spf=pass dkim=fail ", ["dkim=fail"])

bigkey = sign(message("a@nodmarc.test", "bigkey"), "bigkey.test",
              third_key)
check("a key record of 5000 octets", lf(bigkey),
      r"verdict \S+ ok spf=pass dkim=permerror ", ["header.d=bigkey.test"])

# ---- DMARC ----
forged = lf(message("ceo@reject.test", "forged"))
line, ar, took = check("p=reject, forged From:", forged,
                       r"verdict \S+ reject 550 5\.7\.1 .*reject\.test.*\n$",
                       ["dmarc=fail", "header.from=reject.test"],
                       sender="<x@fail.test>")
tap.ok("DMARC" in line, "the refusal names DMARC", line)
check("p=reject, forged From:, dmarc-reject no", forged,
      r"verdict \S+ junk spf=fail dkim=none dmarc=fail\n$",
      sender="<x@fail.test>", reject="no")
check("p=reject: a subdomain takes the organizational domain's policy",
      lf(message("ceo@sub.reject.test", "sub")),
      r"verdict \S+ reject 550 5\.7\.1 ", sender="<x@fail.test>")
# RFC 7489 6.6.1: every author domain is checked, the strictest wins
for name, frm in (("two From: fields", "a@nodmarc.test\r\nFrom: ceo@reject.test"),
                  ("From : (obsolete blank)", "a@nodmarc.test\r\nFrom : "
                   "ceo@reject.test"),
                  ("two mailboxes in From:", "a@nodmarc.test, ceo@reject.test")):
    check("p=reject: " + name, lf(message(frm, "authors")),
          r"verdict \S+ reject 550 5\.7\.1 .*reject\.test", sender="<x@fail.test>")
check("p=quarantine", lf(message("a@quar.test", "quar")),
      r"verdict \S+ junk spf=pass dkim=none dmarc=fail\n$",
      ["dmarc=fail (p=quarantine) header.from=quar.test"])
check("p=none failure", lf(message("a@none.test", "none")),
      r"verdict \S+ ok spf=pass dkim=none dmarc=fail\n$",
      ["dmarc=fail (p=none) header.from=none.test"])
check("SPF aligned (relaxed)", lf(message("a@pass.test", "aligned")),
      r"verdict \S+ ok spf=pass dkim=none dmarc=pass\n$",
      sender="<bounce@pass.test>")
# the From: domain has its record, the MAIL FROM domain is another: the
# agent reads the list for this alignment though it needs no
# organizational domain's record (it reads it only when it must)
check("SPF aligned (relaxed) by the public suffix list",
      lf(message("a@news.example.com", "sibling")),
      r"verdict \S+ ok spf=pass dkim=none dmarc=pass\n$",
      ["dmarc=pass header.from=news.example.com"],
      sender="<b@bounce.example.com>")
own = sign(message("a@signed.test", "own"), "signed.test", signed_key)
tap.ok(dkim.verify(own, dnsfunc=dnsfunc), "oracle: dkimpy verifies it")
check("DKIM aligned (strict), SPF failing", lf(own),
      r"verdict \S+ ok spf=fail dkim=pass dmarc=pass\n$",
      sender="<x@fail.test>")
check("an unaligned signature does not pass p=reject",
      lf(sign(message("ceo@reject.test", "third2"), "third.test",
              third_key)),
      r"verdict \S+ reject 550 5\.7\.1 ", sender="<x@fail.test>")

# ---- our Authentication-Results: removed, others kept (RFC 8601 5) ----
fields = (b"Authentication-Results: MX.Verify.Test;\n\tspf=pass "
          b"smtp.mailfrom=ceo@reject.test;\n\tdmarc=pass\n")
other = b"Authentication-Results: other.test; dkim=pass header.d=x.test\n"
quoted = b'Authentication-Results: (forged) "mx.verify.test"; dmarc=pass\n'
body = lf(message("a@none.test", "forged-ar"))
data = fields + other + quoted + body + fields
line, out, rc, took = run(data)
ar, rest = ar_of(out)
tap.eq(rest, other + body + fields, "A-R fields with our authserv-id are "
       "removed from the header section, other ones and the body kept")
tap.eq(out.count(b"Authentication-Results: mx.verify.test;"), 1,
       "ours is on top, alone")

# ---- no answer from DNS ----
silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
silent.bind(("127.0.0.1", 0))
line, ar, took = check(
    "a DNS server that does not answer", lf(own),
    r"verdict \S+ ok spf=temperror dkim=temperror dmarc=temperror\n$",
    ["spf=temperror", "dkim=temperror", "dmarc=temperror"],
    dns_servers="127.0.0.1:%d" % silent.getsockname()[1], timeout=4)
tap.ok(took < 4, "within the job's timeout (4 s): %.2f s" % took)
silent.close()

# ---- hostile DKIM-Signature fields ----
broken = [b"DKIM-Signature: garbage\n",
          b"DKIM-Signature: v=1; a=rsa-sha256; d=third.test; s=sel; "
          b"h=from; bh=; b=\n",
          b"DKIM-Signature: v=1; a=rsa-sha256; d=; s=; h=; bh=!!; b=%%%\n",
          b"DKIM-Signature: v=1; a=rsa-sha256; d=nokey.test; s=sel; c=relaxed;"
          b" h=from:to; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; "
          b"b=AAAA\n",
          b"DKIM-Signature:" + b" x" * 3000 + b"\n",
          b"DKIM-Signature: v=1; l=99999999999999999999; a=rsa-sha256; "
          b"d=third.test; s=sel; h=from; bh=AAAA; b=AAAA\n"]
for i, f in enumerate(broken):
    check("malformed DKIM-Signature %d" % i, f + plain,
          r"verdict \S+ ok spf=pass dkim=(permerror|fail|neutral) ")

# a thousand signatures, one of them good: bounded work, the From:
# domain's first
good = sign(message("a@signed.test", "many"), "signed.test", signed_key)
junk = b"".join(b"DKIM-Signature: v=1; a=rsa-sha256; d=j%d.test; s=sel; "
                b"h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;"
                b" b=AAAA\r\n" % i for i in range(999))
line, ar, took = check("a thousand signatures", lf(junk + good),
                       r"verdict \S+ ok spf=fail dkim=pass dmarc=pass\n$",
                       ["dkim=pass header.d=signed.test",
                        "992 more signatures not evaluated"],
                       sender="<x@fail.test>")
tap.ok(took < 5, "a thousand signatures take %.2f s" % took)
tap.ok(ar is not None and ar.count("dkim=") <= 9, "at most 8 evaluated", ar)
# libopendkim's work grows with the square of the signatures it sees:
# 20,000 took it 25 s; the agent gives it 8
junk = b"".join(b"DKIM-Signature: v=1; a=rsa-sha256; d=j%d.test; s=sel; "
                b"h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;"
                b" b=AAAA\r\n" % i for i in range(20000))
line, ar, took = check("twenty thousand signatures", lf(junk + good),
                       r"verdict \S+ ok spf=fail dkim=pass dmarc=pass\n$",
                       ["19993 more signatures not evaluated"],
                       sender="<x@fail.test>")
tap.ok(took < 5, "twenty thousand signatures take %.2f s" % took)

# ---- a job it cannot read ----
line, out, rc, took = run(plain, job="POMBO-JOB 1\nhost x\nbogus\nend\n")
tap.eq(rc, 75, "a job it cannot read: EX_TEMPFAIL")
tap.eq(line, "", "and no verdict")

dnsmasq.stop()
tap.done()
