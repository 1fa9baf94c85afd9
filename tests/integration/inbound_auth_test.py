"""The checks of arriving mail, end to end (issue 16): one Pombo instance
(A, example.test, DKIM keys) sends to another (B, the MX of dest.test,
inbound_auth on), 8-bit as it is and, through a server without
8BITMIME, converted (both verify at B), and Internet clients talk to B
directly. A local
dnsmasq publishes the SPF, DKIM and DMARC records. B's verdicts and its
Authentication-Results: field are compared with independent oracles
(python3-spf for SPF, python3-dkim for DKIM) where they apply:

- A's signed mail: dkim=pass, spf=pass, dmarc=pass at B;
- a forged From: of a p=reject domain: refused with 550 5.7.1, nothing
  queued (and with dmarc_reject = no: into .Junk/);
- a p=quarantine failure: delivered into the user's .Junk/;
- a p=none failure: delivered, dmarc=fail;
- a third party's valid signature: dkim=pass;
- an SPF -all mismatch: spf=fail;
- forged Authentication-Results: fields with B's authserv-id never reach
  the mailbox, another host's stay;
- a DNS server that does not answer: temperror, within the timeout."""
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
from peer import Peer  # noqa: E402

import dkim  # noqa: E402
import spf  # noqa: E402

tap = pombo.Tap()
work = tempfile.mkdtemp(prefix="pombo-inbound-")
pombo.libopendkim_leak_ok(work)


def openssl(*args):
    return subprocess.run(["openssl"] + list(args), check=True,
                          capture_output=True).stdout


def keypair(name, *genargs):
    return pombo.openssl_keypair(work, name, *genargs)


ed_key, ed_der = keypair("ed", "-algorithm", "ed25519")
rsa_key, rsa_der = keypair("rsa", "-algorithm", "rsa", "-pkeyopt",
                           "rsa_keygen_bits:2048")
third_key = os.path.join(work, "third.pem")
openssl("genrsa", "-traditional", "-out", third_key, "2048")
third_der = openssl("rsa", "-in", third_key, "-pubout", "-outform", "DER")

RECORDS = {
    "ed._domainkey.example.test": "v=DKIM1; k=ed25519; p=" +
    base64.b64encode(ed_der[-32:]).decode(),
    "rsa._domainkey.example.test": "v=DKIM1; k=rsa; p=" +
    base64.b64encode(rsa_der).decode(),
    "example.test": "v=spf1 ip4:127.0.0.0/8 -all",
    "_dmarc.example.test": "v=DMARC1; p=reject",
    # the forged, the quarantined and the lax: nothing of ours may send
    "bank.test": "v=spf1 ip4:192.0.2.1 -all",
    "_dmarc.bank.test": "v=DMARC1; p=reject",
    "quar.test": "v=spf1 ip4:192.0.2.1 -all",
    "_dmarc.quar.test": "v=DMARC1; p=quarantine",
    "lax.test": "v=spf1 ip4:192.0.2.1 -all",
    "_dmarc.lax.test": "v=DMARC1; p=none",
    # a third party that signs and may send from here
    "s1._domainkey.third.test": "v=DKIM1; k=rsa; p=" +
    base64.b64encode(third_der).decode(),
    "third.test": "v=spf1 ip4:%s -all" % "192.0.2.66",
    "_dmarc.third.test": "v=DMARC1; p=reject",
}


def txt_option(name, text):
    parts = [text[i:i + 250] for i in range(0, len(text), 250)]
    return "--txt-record=%s,%s" % (name, ",".join(parts))


dnsd = pombo.Dnsmasq(["--mx-host=dest.test,mx.dest.test,10",
                      "--host-record=mx.dest.test,127.0.0.2",
                      "--mx-host=seven.test,mx.seven.test,10",
                      "--host-record=mx.seven.test,127.0.0.3"] +
                     [txt_option(n, t) for n, t in RECORDS.items()], work)

# the oracles resolve through the same dnsmasq
_, dnsfunc = pombo.oracle_resolver(dnsd.port)


P = pombo.free_port()
B = pombo.Instance({"hostname": "mx.dest.test", "local_domains": "dest.test",
                    "relay_networks": "10.9.9.0/24", "inbound_auth": "yes",
                    "dns_servers": "127.0.0.1:%d" % dnsd.port,
                    "hold_deliveries": "no"},
                   name="pombo-inbound-b",
                   users=["%s@dest.test" % u for u in ("bob", "carol")])
B.start()
smtpd_b = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c",
                                 B.conf_path], B.env(), port=P,
                                addr="127.0.0.2")
# a server without 8BITMIME: A converts to quoted-printable, then signs
seven = Peer("127.0.0.3", P, "mx.seven.test", ext=["PIPELINING",
                                                   "SIZE 10000000"])
A = pombo.Instance({"hostname": "mx.example.test",
                    "dns_servers": "127.0.0.1:%d" % dnsd.port,
                    "remote_port": str(P), "hold_deliveries": "no",
                    "relay_networks": "127.0.0.0/8", "retry_interval": "1h",
                    "dkim_keys": "example.test:ed:%s, example.test:rsa:%s" %
                    (ed_key, rsa_key)}, name="pombo-inbound-a")
A.start()
for d in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(B.mail, "dest.test", "carol", ".Junk", d))


def message(subject, frm, extra=""):
    return ("From: %s\r\nTo: bob@dest.test\r\nSubject: %s\r\n"
            "Date: Wed, 02 Dec 2026 01:00:00 +0000\r\n"
            "Message-ID: <%s@x.test>\r\n%s\r\nhello\r\n" %
            (frm, subject, subject.replace(" ", "."), extra)).encode()


# An Internet client. libspf2 passes every loopback address ("localhost
# is always allowed"), so the clients whose SPF must fail come from a
# documentation address: smtpd over a pipe takes its client's address
# from TCPREMOTEIP, as under tcpserver.
CLIENT = "192.0.2.66"


def send_b(mailfrom, data, rcpt="bob@dest.test", helo="client.test"):
    """An Internet client (CLIENT) straight to B; the reply to DATA, as
    (code, text)."""
    out = B.smtpd(b"EHLO %s\r\nMAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                  % (helo.encode(), mailfrom.encode(), rcpt.encode()) +
                  data.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\nQUIT\r\n",
                  env={"TCPREMOTEIP": CLIENT}, timeout=60)
    last = [l for l in out.split(b"\r\n") if l[:3] not in (b"", b"221")][-1]
    return int(last[:3]), last[4:]


def delivered(user, subject, folder=""):
    d = os.path.join(B.mail, "dest.test", user, folder, "new")

    def find():
        for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            with open(os.path.join(d, n), "rb") as f:
                m = f.read()
            if ("\nSubject: %s\n" % subject).encode() in m:
                return m
        return None
    pombo.wait_for(lambda: find() is not None, 20)
    return find()


def ar_fields(m):
    """The Authentication-Results: fields of a delivered message, unfolded,
    in order."""
    head = m.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    head = re.sub(r"\n[ \t]+", " ", head)
    return [l.split(":", 1)[1].strip() for l in head.split("\n")
            if l.lower().startswith("authentication-results:")]


def result(ar, method):
    m = re.search(r"\b%s=(\w+)" % method, ar)
    return m.group(1) if m else None


def oracle_spf(ip, mailfrom, helo):
    return spf.check2(i=ip, s=mailfrom, h=helo)[0]


try:
    # --- A's users' mail, signed by A, checked by B
    subprocess.run([pombo.prog("queued/pombo-sendmail"), "-C", A.conf_path,
                    "-f", "alice@example.test", "bob@dest.test"],
                   input=message("from a", "Alice <alice@example.test>")
                   .replace(b"\r\n", b"\n"), timeout=30, check=True)
    m = delivered("bob", "from a")
    tap.ok(m is not None, "A's mail reaches B's mailbox")
    ars = ar_fields(m) if m else []
    tap.ok(len(ars) == 1 and ars[0].startswith("mx.dest.test;"),
           "one Authentication-Results: of B's, authserv-id mx.dest.test",
           ars)
    ar = ars[0] if ars else ""
    tap.eq(result(ar, "dkim"), "pass", "A's signature: dkim=pass at B")
    tap.ok("header.d=example.test" in ar, "dkim names header.d", ar)
    tap.eq(result(ar, "spf"), "pass", "A's address: spf=pass at B")
    tap.eq(result(ar, "spf"), oracle_spf("127.0.0.1", "alice@example.test",
                                         "mx.example.test"),
           "spf agrees with python3-spf")
    tap.eq(result(ar, "dmarc"), "pass", "dmarc=pass at B")
    if m:
        # the bytes as delivered, CRLF: python3-dkim verifies too
        tap.ok(dkim.verify(m.replace(b"\n", b"\r\n"), dnsfunc=dnsfunc),
               "python3-dkim verifies the delivered message")

    # --- 8-bit mail from A: to B as it is (8BITMIME), and to a server
    # without 8BITMIME converted and signed after; what that server got
    # is then handed to B by a client: both verify at B and with dkimpy
    body8 = ("From: Alice <alice@example.test>\nTo: bob@dest.test\n"
             "Subject: %s\nMIME-Version: 1.0\nContent-Type: text/plain; "
             "charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
             "Grüße, olá, ação!\n")
    for subject, rcpt in (("eight bit", "bob@dest.test"),
                          ("seven bit", "far@seven.test")):
        subprocess.run([pombo.prog("queued/pombo-sendmail"), "-C",
                        A.conf_path, "-f", "alice@example.test", rcpt],
                       input=(body8 % subject).encode(), timeout=30,
                       check=True)
    m = delivered("bob", "eight bit")
    ar = ar_fields(m)[0] if m else ""
    tap.ok(m is not None and "Grüße".encode() in m,
           "8BITMIME path: the body arrives 8-bit")
    tap.eq(result(ar, "dkim"), "pass", "8BITMIME path: dkim=pass at B")
    tap.ok(m is not None and dkim.verify(m.replace(b"\n", b"\r\n"),
                                         dnsfunc=dnsfunc),
           "8BITMIME path: python3-dkim verifies")

    def at_seven():
        for x in seven.messages:
            if b"Subject: seven bit\r\n" in x["data"]:
                return x["data"]
    pombo.wait_for(lambda: at_seven() is not None, 20)
    conv = at_seven()
    tap.ok(conv is not None and b"quoted-printable" in conv and
           not any(c > 127 for c in conv),
           "downgraded path: converted to 7-bit quoted-printable")
    if conv is not None:
        tap.ok(dkim.verify(conv, dnsfunc=dnsfunc),
               "downgraded path: python3-dkim verifies")
        code, _ = send_b("alice@example.test", conv)
        tap.eq(code, 250, "downgraded path: B accepts it")
        m = delivered("bob", "seven bit")
        ar = ar_fields(m)[0] if m else ""
        tap.eq(result(ar, "dkim"), "pass", "downgraded path: dkim=pass at B")
        tap.eq(result(ar, "dmarc"), "pass",
               "and dmarc=pass there by DKIM alone (spf=%s from %s)" % (
                   result(ar, "spf"), CLIENT))

    # --- forged From: of a p=reject domain: 550, nothing queued
    before = B.queue_files()
    code, text = send_b("ceo@bank.test", message("forged",
                                                  "CEO <ceo@bank.test>"))
    tap.eq(code, 550, "forged p=reject From: refused with 550")
    tap.ok(code == 550 and text.startswith(b"5.7.1") and b"bank.test" in
           text and b"DMARC" in text, "5.7.1, naming the domain and DMARC",
           code != 250 and text)
    # (what was queued before may have been delivered meanwhile)
    tap.eq(sorted(set(B.queue_files()) - set(before)), [],
           "refused message not queued")
    tap.eq(oracle_spf(CLIENT, "ceo@bank.test", "client.test"), "fail",
           "python3-spf: the forger fails SPF too")

    # --- p=quarantine failure: into the user's .Junk/
    send_b("x@quar.test", message("quarantined", "x@quar.test"),
           rcpt="carol@dest.test")
    m = delivered("carol", "quarantined", ".Junk")
    tap.ok(m is not None, "p=quarantine failure delivered into .Junk/")
    tap.eq(result(ar_fields(m)[0], "dmarc") if m else None, "fail",
           "with dmarc=fail")

    # --- p=none failure: delivered, dmarc=fail; spf=fail (-all)
    send_b("x@lax.test", message("lax", "x@lax.test"))
    m = delivered("bob", "lax")
    ar = ar_fields(m)[0] if m else ""
    tap.eq(result(ar, "dmarc"), "fail", "p=none failure: dmarc=fail")
    tap.eq(result(ar, "spf"), "fail", "SPF -all mismatch: spf=fail")
    tap.eq(result(ar, "spf"), oracle_spf(CLIENT, "x@lax.test",
                                         "client.test"),
           "spf=fail agrees with python3-spf")

    # --- a third party's valid signature
    with open(third_key, "rb") as f:
        pk = f.read()
    raw = message("third", "news@third.test")
    sig = dkim.sign(raw, b"s1", b"third.test", pk,
                    include_headers=[b"from", b"to", b"subject", b"date"])
    send_b("news@third.test", sig + raw)
    m = delivered("bob", "third")
    ar = ar_fields(m)[0] if m else ""
    tap.eq(result(ar, "dkim"), "pass", "a third party's signature: "
           "dkim=pass")
    tap.ok("header.d=third.test" in ar, "for header.d=third.test", ar)
    tap.eq(result(ar, "dmarc"), "pass", "and dmarc=pass (aligned)")
    tap.ok(dkim.verify(sig + raw, dnsfunc=dnsfunc),
           "python3-dkim: the signature is valid")

    # --- forged Authentication-Results: ours removed, others kept
    send_b("x@lax.test", message(
        "forged ar", "x@lax.test",
        "Authentication-Results: mx.dest.test; dkim=pass header.d=bank.test"
        "\r\nAuthentication-Results: MX.Dest.Test;\r\n\tspf=pass\r\n"
        "Authentication-Results: other.example; spf=pass\r\n"))
    m = delivered("bob", "forged ar")
    ars = ar_fields(m) if m else []
    tap.eq(len([a for a in ars if a.lower().startswith("mx.dest.test")]), 1,
           "only B's own field claims mx.dest.test")
    tap.ok(m is not None and b"header.d=bank.test" not in m,
           "the forged field never reaches the mailbox")
    tap.ok(any(a.startswith("other.example;") for a in ars),
           "another host's field is kept", ars)

    # --- dmarc_reject = no: the forgery goes to .Junk/ instead
    B.stop()
    B.set_conf(dmarc_reject="no")
    B.start()
    send_b("ceo@bank.test", message("forged again", "CEO <ceo@bank.test>"),
           rcpt="carol@dest.test")
    m = delivered("carol", "forged again", ".Junk")
    tap.ok(m is not None, "dmarc_reject = no: p=reject failure into .Junk/")
    B.stop()

    # --- a DNS server that never answers: temperror, within the timeout
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    B.set_conf(dns_servers="127.0.0.1:%d" % silent.getsockname()[1],
               inbound_auth_timeout="3s", dmarc_reject="yes")
    B.start()
    t0 = time.monotonic()
    code, _ = send_b("x@lax.test", message("no dns", "x@lax.test"))
    tap.eq(code, 250, "no DNS answer: accepted")
    took = time.monotonic() - t0
    m = delivered("bob", "no dns")
    ar = ar_fields(m)[0] if m else ""
    tap.ok(took < 3 + 5, "no DNS answer: accepted within the timeout "
           "(%.1f s)" % took)
    tap.eq(result(ar, "spf"), "temperror", "spf=temperror")
    tap.eq(result(ar, "dmarc"), "temperror", "dmarc=temperror")
    silent.close()
finally:
    smtpd_b.stop()
    seven.stop()
    for i in (A, B):
        if i.queued and i.queued.poll() is None:
            i.check_clean(tap)
        i.cleanup()
    dnsd.stop()
tap.done()
