"""DKIM signing of what leaves (RFC 6376, RFC 8463): mail of Pombo's own
users (authenticated submission, pombo-sendmail, a relay_networks
client) goes out through pombo-remote to a test peer and the received
octets verify with python3-dkim, independently of libopendkim, against
the records a local dnsmasq publishes: an Ed25519 and an RSA signature,
on the 8BITMIME path and on the path converted to quoted-printable for
a peer without it. Mail forwarded for an Internet client is not signed
and passes unchanged; a From: domain without a key is not signed. A
missing, foreign or weak key stops queued at start, naming
pombo.conf:line."""
import base64
import os
import smtplib
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

import dkim  # noqa: E402  python3-dkim (dkimpy), with python3-nacl

tap = pombo.Tap()
P = pombo.free_port()
work = tempfile.mkdtemp(prefix="pombo-dkim-")
pombo.libopendkim_leak_ok(work)


def openssl(*args):
    return subprocess.run(["openssl"] + list(args), check=True,
                          capture_output=True).stdout


def keypair(name, *genargs):
    return pombo.openssl_keypair(work, name, *genargs)


ed_key, ed_der = keypair("ed", "-algorithm", "ed25519")
rsa_key, rsa_der = keypair("rsa", "-algorithm", "rsa", "-pkeyopt",
                           "rsa_keygen_bits:2048")
# RFC 8463 4.2: p= of an Ed25519 key is the raw 32 octets (the SPKI's end)
RECORDS = {
    "ed._domainkey.example.test": "v=DKIM1; k=ed25519; p=" +
    base64.b64encode(ed_der[-32:]).decode(),
    "rsa._domainkey.example.test": "v=DKIM1; k=rsa; p=" +
    base64.b64encode(rsa_der).decode(),
}


def txt_option(name, text):
    # a TXT string holds at most 255 octets: split as DNS zones do
    parts = [text[i:i + 250] for i in range(0, len(text), 250)]
    # dnsmasq's command line takes the strings bare, comma-separated
    return "--txt-record=%s,%s" % (name, ",".join(parts))


dns = pombo.Dnsmasq(
    ["--mx-host=eight.test,mx.eight.test,10",
     "--host-record=mx.eight.test,127.0.0.2",
     "--mx-host=seven.test,mx.seven.test,10",
     "--host-record=mx.seven.test,127.0.0.3"] +
    [txt_option(n, t) for n, t in RECORDS.items()], work)
dns_port = dns.port
eight = Peer("127.0.0.2", P, "mx.eight.test")
seven = Peer("127.0.0.3", P, "mx.seven.test", ext=["PIPELINING",
                                                   "SIZE 10000000"])

conf = {"hold_deliveries": "no", "dns_servers": "127.0.0.1:%d" % dns.port,
        "remote_port": str(P), "retry_interval": "1h",
        "delay_warning": "0", "remote_timeout": "10s",
        "remote_connect_timeout": "2s",
        # 127.0.0.5 relays; 127.0.0.1 is the Internet, unless it logs in
        "relay_networks": "127.0.0.5/32", "allow_plaintext_auth": "yes",
        "dkim_keys": "example.test:ed:%s, Example.Test:rsa:%s" %
        (ed_key, rsa_key)}
A = pombo.Instance(conf, name="pombo-dkim")
with open(os.path.join(A.dir, "aliases"), "w") as f:
    f.write("fwd: far@eight.test\n")
A.start()
smtpd = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c",
                               A.conf_path], A.env())


_, dnsfunc = pombo.oracle_resolver(dns_port)


def message(subject, frm="Alice <alice@example.test>", body8=False):
    body = ("Grüße aus Lissabon: olá, ação!\r\n" if body8 else
            "hello\r\n") + "..a dot line\r\n" + "x" * 990 + "\r\n"
    return ("From: %s\r\nTo: Far <far@eight.test>\r\nSubject: %s\r\n"
            "Date: Wed, 02 Dec 2026 01:00:00 +0000\r\n"
            "Message-ID: <%s@example.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: %s\r\n\r\n%s" %
            (frm, subject, subject.replace(" ", "."),
             "8bit" if body8 else "7bit", body)).encode()


def submit(rcpt, data, auth=False, source=None, mail_options=()):
    with smtplib.SMTP("127.0.0.1", smtpd.port, timeout=20,
                      source_address=(source, 0) if source else None) as s:
        s.ehlo("client.test")
        if auth:
            s.login("bob@example.test", "secret")
        return s.sendmail("alice@example.test", [rcpt], data,
                          mail_options=list(mail_options))


def received(peer, subject):
    def find():
        for m in peer.messages:
            if ("Subject: %s\r\n" % subject).encode() in m["data"]:
                return m["data"]
        return None
    pombo.wait_for(lambda: find() is not None, 20)
    return find()


def signatures(data):
    """The a= of each DKIM-Signature on top, and whether each verifies."""
    d = dkim.DKIM(data)
    heads = [v for k, v in d.headers if k.lower() == b"dkim-signature"]
    out = []
    for i, v in enumerate(heads):
        tags = dkim.util.parse_tag_value(v)
        try:
            ok = d.verify(idx=i, dnsfunc=dnsfunc)
        except dkim.DKIMException as e:
            ok = "error: %s" % e
        out.append((tags[b"a"].decode(), tags[b"h"].decode().lower(), ok))
    return out


def check_signed(data, what):
    if data is None:
        tap.ok(False, what + ": received")
        return
    sigs = signatures(data)
    algs = sorted(a for a, _, _ in sigs)
    tap.eq(algs, ["ed25519-sha256", "rsa-sha256"],
           what + ": an Ed25519 and an RSA signature")
    tap.ok(all(ok is True for _, _, ok in sigs),
           what + ": both verify with python3-dkim", sigs)
    tap.ok(all(h.split(":").count("from") == 2 for _, h, _ in sigs),
           what + ": From signed twice (oversigned)", sigs)
    tap.ok(all(b"c=relaxed/relaxed" in data.split(b"\r\n\r\n")[0]
               .replace(b"\r\n\t", b" ") for _ in sigs),
           what + ": relaxed/relaxed")


try:
    # authenticated submission, to a peer with 8BITMIME: sent as is
    submit("far@eight.test", message("auth eight", body8=True), auth=True,
           mail_options=["BODY=8BITMIME"])
    data = received(eight, "auth eight")
    check_signed(data, "authenticated, 8BITMIME peer")
    tap.ok(data is not None and "Grüße".encode() in data,
           "8BITMIME peer: the body went 8-bit")
    h = signatures(data)[0][1].split(":") if data and signatures(data) \
        else []
    tap.ok("subject" in h and "date" in h and "to" in h,
           "Subject, Date and To are signed (RFC 6376 5.4.1)", h)

    # the same to a peer without 8BITMIME: converted, then signed
    submit("far@seven.test", message("auth seven", body8=True), auth=True,
           mail_options=["BODY=8BITMIME"])
    data = received(seven, "auth seven")
    check_signed(data, "authenticated, converted to quoted-printable")
    tap.ok(data is not None and b"quoted-printable" in data and
           not any(b > 127 for b in data),
           "peer without 8BITMIME: 7-bit quoted-printable")

    # a client in relay_networks
    submit("far@eight.test", message("relay client"), source="127.0.0.5")
    check_signed(received(eight, "relay client"), "relay_networks client")

    # local injection: pombo-sendmail
    r = subprocess.run([pombo.prog("queued/pombo-sendmail"), "-C",
                        A.conf_path, "-f", "alice@example.test",
                        "far@eight.test"],
                       input=message("local sendmail", body8=True)
                       .replace(b"\r\n", b"\n"),
                       capture_output=True, timeout=30)
    tap.eq(r.returncode, 0, "pombo-sendmail: exit 0")
    check_signed(received(eight, "local sendmail"), "pombo-sendmail")

    # a From: domain without a key: sent, unsigned
    submit("far@eight.test", message("other domain",
                                     frm="x@other.test"), auth=True)
    data = received(eight, "other domain")
    tap.ok(data is not None and b"DKIM-Signature" not in data,
           "a From: domain without a key is not signed")

    # an Internet client's mail forwarded by an alias: not ours to sign
    sent = message("forwarded")
    submit("fwd@example.test", sent)
    data = received(eight, "forwarded")
    tap.ok(data is not None and b"DKIM-Signature" not in data,
           "mail forwarded for an Internet client is not signed")
    tap.ok(data is not None and data.endswith(sent),
           "and passes unchanged")

    # keys checked at start: the config line and the file named
    def start_fails(keys, want, name):
        b = pombo.Instance({"dkim_keys": keys}, name="pombo-dkim-bad")
        try:
            r = subprocess.run([pombo.prog("queued/queued"), "-d", "-c",
                                b.conf_path], capture_output=True,
                               text=True, timeout=20)
            line = [i + 1 for i, l in enumerate(open(b.conf_path))
                    if l.startswith("dkim_keys")][0]
            tap.ok(r.returncode != 0 and ("%s:%d: dkim_keys: " %
                                          (b.conf_path, line)) + want
                   in r.stderr, name, r.stderr)
        finally:
            b.cleanup()

    missing = os.path.join(work, "missing.pem")
    start_fails("example.test:ed:" + missing,
                missing + ": No such file or directory",
                "a missing key stops queued at start, naming file:line")
    cert = os.path.join(work, "notkey.pem")
    with open(cert, "w") as f:
        f.write("hello\n")
    start_fails("example.test:ed:" + cert, cert + ": not a PEM private key",
                "a file without a key stops queued at start")
    weak, _ = keypair("weak", "-algorithm", "rsa", "-pkeyopt",
                      "rsa_keygen_bits:1024")
    start_fails("example.test:w:" + weak, weak + ": an RSA key of 1024 bits",
                "an RSA key under 2048 bits stops queued at start")
    ec, _ = keypair("ec", "-algorithm", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256")
    start_fails("example.test:e:" + ec, ec + ": a EC key",
                "a key of another type stops queued at start")
    start_fails("example.test:d:" + work, work + ": ",
                "an unreadable key (a folder) stops queued at start")

    # a key gone after the start: the message waits, never goes unsigned
    gone = os.path.join(work, "gone.pem")
    with open(ed_key, "rb") as f, open(gone, "wb") as g:
        g.write(f.read())
    C = pombo.Instance(dict(conf, dkim_keys="example.test:ed:" + gone),
                       name="pombo-dkim-gone").start()
    try:
        os.unlink(gone)

        def inject(subject, frm):
            subprocess.run([pombo.prog("queued/pombo-sendmail"), "-C",
                            C.conf_path, "-f", frm, "far@eight.test"],
                           input=message(subject, frm=frm)
                           .replace(b"\r\n", b"\n"),
                           capture_output=True, timeout=30)
        # mail of a domain without a key needs none: it goes
        inject("key gone other", "x@other.test")
        tap.ok(received(eight, "key gone other") is not None,
               "a key gone since the start: other domains' mail goes")
        inject("key gone", "alice@example.test")
        pombo.wait_for(lambda: "Cannot DKIM-sign" in C.log(), 20)
        tap.ok("451 4.3.5 Cannot DKIM-sign the message: the key ed of "
               "example.test could not be loaded" in C.log() and
               len(C.queue_files()) == 1 and
               not any(b"Subject: key gone\r\n" in m["data"]
                       for m in eight.messages),
               "and its own domain's mail waits (451 4.3.5), never "
               "unsigned", C.log()[-2000:])
    finally:
        C.cleanup()
    A.check_clean(tap)
finally:
    smtpd.stop()
    A.cleanup()
    eight.stop()
    seven.stop()
    dns.stop()
tap.done()
