"""TLS and authentication against real clients: STARTTLS with smtplib and
swaks, input pipelined after STARTTLS discarded (never read as encrypted),
a failed handshake closing cleanly, implicit TLS (RFC 8314), AUTH only
under TLS for a remote client, relaying only when authenticated, the
Received: line naming the TLS version and cipher, a renewed certificate
used without a restart, and the remote agent's STARTTLS under each
tls_policy (may, encrypt, verify) toward a second Pombo instance."""
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()
certdir = tempfile.mkdtemp(prefix="pombo-certs-")
ca, cert, key = pombo.make_certs(certdir, ("mx.test", "mx.b.test"))
inst = pombo.Instance({"tls_cert": cert, "tls_key": key, "login_delay": "0",
                       "hold_deliveries": "yes"}).start()
SMTPD = [pombo.prog("smtpd/smtpd"), "-c", inst.conf_path]
# a client from elsewhere: systemd-socket-activate passes -E to smtpd
remote = pombo.SocketActivated(["-E", "TCPREMOTEIP=198.51.100.7"] + SMTPD,
                               inst.env())
implicit = pombo.SocketActivated(SMTPD + ["--implicit-tls"], inst.env())
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
AUTH = ("bob@example.test", "secret")

try:
    with smtplib.SMTP("127.0.0.1", remote.port, timeout=20) as s:
        s.ehlo("client.test")
        tap.ok(s.has_extn("starttls"), "STARTTLS is offered")
        tap.ok(not s.has_extn("auth"), "AUTH is not offered in the clear "
               "to a remote client")
        code, msg = s.docmd("AUTH", "PLAIN AGJvYkBleGFtcGxlLnRlc3QAc2VjcmV0")
        tap.eq(code, 538, "AUTH in the clear: 538 5.7.11")
        refused = None
        try:
            s.sendmail("a@client.test", ["x@remote.test"], "x")
        except smtplib.SMTPRecipientsRefused as e:
            refused = e.recipients["x@remote.test"][0]
        tap.eq(refused, 554, "relaying unauthenticated: 554")
        s.starttls(context=ctx)
        s.ehlo("client.test")
        tap.ok(not s.has_extn("starttls"), "no STARTTLS once in TLS")
        tap.ok(s.has_extn("auth"), "AUTH offered under TLS")
        tap.eq(s.sock.version(), "TLSv1.3", "TLS 1.3 negotiated")
        s.login(*AUTH)
        s.sendmail("bob@example.test", ["x@remote.test"],
                   "Subject: tls\r\n\r\nsecret\r\n")
        tap.ok(True, "authenticated, it may relay")
    q = inst.queue_files()
    data = inst.queue_file(q[-1]) if q else b""
    tap.ok(re.search(rb"with ESMTPSA id \w+\n\t\(using TLSv1\.3/TLS_\w+/\d+\)",
                     data) is not None,
           "Received: says ESMTPSA and the TLS version and cipher", data[:400])
    tap.ok(b"client ESMTPSA 198.51.100.7 client.test auth=bob@example.test "
           b"tls=TLSv1.3/" in data, "the envelope records auth and tls")

    # pipelined plaintext after STARTTLS is discarded, not decrypted
    sock = socket.create_connection(("127.0.0.1", remote.port), timeout=10)
    f = sock.makefile("rb")
    f.readline()
    sock.sendall(b"EHLO c.test\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    sock.sendall(b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n")
    tap.ok(f.readline().startswith(b"220 2.0.0"), "220 to STARTTLS")
    tls = ctx.wrap_socket(sock, server_hostname="mx.test")
    tls.sendall(b"RCPT TO:<bob@example.test>\r\n")
    reply = tls.recv(1000)
    tap.ok(reply.startswith(b"503 5.5.1"), "the injected MAIL was never "
           "run: RCPT after TLS gets 503", reply)
    tls.sendall(b"QUIT\r\n")
    tls.close()
    tap.ok(pombo.wait_for(lambda: True, 0) and True, "session closed")

    # a broken handshake: garbage after STARTTLS closes the session
    sock = socket.create_connection(("127.0.0.1", remote.port), timeout=10)
    f = sock.makefile("rb")
    f.readline()
    sock.sendall(b"EHLO c.test\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    sock.sendall(b"STARTTLS\r\n")
    f.readline()
    sock.sendall(b"this is not a TLS client hello\r\n" * 4)
    sock.settimeout(10)
    rest = b""
    try:
        while True:
            chunk = sock.recv(1000)
            if not chunk:
                break
            rest += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    sock.close()
    tap.ok(b"250" not in rest, "a failed handshake ends the session",
           rest)

    # implicit TLS (RFC 8314)
    with smtplib.SMTP_SSL("127.0.0.1", implicit.port, timeout=20,
                          context=ctx) as s:
        code, _ = s.ehlo("client.test")
        tap.eq(code, 250, "implicit TLS: EHLO inside TLS")
        tap.ok(not s.has_extn("starttls"), "without STARTTLS")
        s.login(*AUTH)
        tap.ok(True, "and AUTH")

    # swaks, STARTTLS and AUTH
    r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % remote.port,
                        "--tls", "--auth", "LOGIN", "--auth-user", AUTH[0],
                        "--auth-password", AUTH[1], "--from",
                        "bob@example.test", "--to", "y@remote.test",
                        "--timeout", "20"], capture_output=True, text=True,
                       timeout=60)
    tap.eq(r.returncode, 0, "swaks --tls --auth LOGIN")

    # a client silent after STARTTLS: the handshake times out and ends
    inst.set_conf(smtp_timeout="2s")
    sock = socket.create_connection(("127.0.0.1", remote.port), timeout=10)
    f = sock.makefile("rb")
    f.readline()
    sock.sendall(b"EHLO c.test\r\nSTARTTLS\r\n")
    while not f.readline().startswith(b"220 2.0.0"):
        pass
    t0 = time.time()
    sock.settimeout(15)
    try:
        rest = sock.recv(1000)
    except (ConnectionResetError, socket.timeout):
        rest = None
    waited = time.time() - t0
    sock.close()
    inst.set_conf(smtp_timeout=None)
    tap.ok(rest == b"" and 1.5 < waited < 10, "no ClientHello within "
           "smtp_timeout (2 s): the handler closes", (rest, waited))

    # a renewed certificate is used by the next connection
    ca2, cert2, key2 = pombo.make_certs(tempfile.mkdtemp(dir=certdir),
                                        ("mx.test",), "Renewed CA")
    shutil.copy(cert2, cert)
    shutil.copy(key2, key)
    ctx2 = ssl.create_default_context(cafile=ca2)
    ctx2.check_hostname = False
    with smtplib.SMTP("127.0.0.1", remote.port, timeout=20) as s:
        s.ehlo("client.test")
        s.starttls(context=ctx2)
        tap.ok(True, "the renewed certificate verifies, no restart")
finally:
    remote.stop()
    implicit.stop()
    inst.check_clean(tap)
    inst.cleanup()

# the remote agent: STARTTLS toward another Pombo, under tls_policy
P = pombo.free_port()
# B has a certificate of its own, from a CA of its own
ca_b, cert_b, key_b = pombo.make_certs(tempfile.mkdtemp(dir=certdir),
                                       ("mx.b.test",), "B's CA")
policy_ca = ca_b

dns = pombo.Dnsmasq(["--mx-host=b.test,mx.b.test,10",
                     "--host-record=mx.b.test,127.0.2.2",
                     "--mx-host=plain.test,mx.plain.test,10",
                     "--host-record=mx.plain.test,127.0.2.3"], certdir)
plain = Peer("127.0.2.3", P, "mx.plain.test")
B = pombo.Instance({"hostname": "mx.b.test", "local_domains": "b.test",
                    "hold_deliveries": "no", "tls_cert": cert_b,
                    "tls_key": key_b}, name="pombo-b",
                   users=["carol@b.test"]).start()
sa_b = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c", B.conf_path],
                             B.env(), port=P, addr="127.0.2.2")
A = pombo.Instance({"hold_deliveries": "no", "dns_servers":
                    "127.0.0.1:%d" % dns.port, "remote_port": str(P),
                    "retry_interval": "1h", "tls_ca_file": policy_ca,
                    "tls_policy": "plain.test:encrypt, b.test:verify"},
                   name="pombo-a").start()


def carol():
    d = os.path.join(B.mail, "b.test", "carol", "new")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


try:
    out = A.smtpd(b"EHLO c.test\nMAIL FROM:<bob@example.test>\n"
                  b"RCPT TO:<carol@b.test>\nDATA\nSubject: over tls\n\nx\n.\n"
                  b"MAIL FROM:<bob@example.test>\nRCPT TO:<p@plain.test>\n"
                  b"DATA\nSubject: must be encrypted\n\nx\n.\nQUIT\n")
    tap.eq(out.count(b"250 2.0.0 Ok"), 2, "both accepted")
    tap.ok(pombo.wait_for(lambda: carol(), 10),
           "verify: delivered to mx.b.test over verified TLS",
           A.log()[-1500:])
    if carol():
        data = open(os.path.join(B.mail, "b.test", "carol", "new",
                                 carol()[0]), "rb").read()
        tap.ok(re.search(rb"by mx\.b\.test \(Pombo\) with ESMTPS id \w+\n"
                         rb"\t\(using TLSv1\.3/", data) is not None,
               "the receiving side saw ESMTPS", data[:500])
    tap.ok(pombo.wait_for(lambda: "offers no STARTTLS and tls_policy is "
                          "encrypt" in A.log(), 10),
           "encrypt: a server without STARTTLS defers the mail")
    tap.eq(plain.messages, [], "and gets nothing")
finally:
    sa_b.stop()
    plain.stop()
    A.check_clean(tap)
    B.check_clean(tap)
    A.cleanup()
    B.cleanup()
    dns.stop()

# verify with a CA that did not sign the certificate: deferred
dns = pombo.Dnsmasq(["--mx-host=b.test,mx.b.test,10",
                     "--host-record=mx.b.test,127.0.2.2"], certdir)
B = pombo.Instance({"hostname": "mx.b.test", "local_domains": "b.test",
                    "hold_deliveries": "no", "tls_cert": cert_b,
                    "tls_key": key_b}, name="pombo-b",
                   users=["carol@b.test"]).start()
sa_b = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c", B.conf_path],
                             B.env(), port=P, addr="127.0.2.2")
A = pombo.Instance({"hold_deliveries": "no", "dns_servers":
                    "127.0.0.1:%d" % dns.port, "remote_port": str(P),
                    "retry_interval": "1h", "tls_ca_file": ca,
                    "tls_policy": "b.test:verify"}, name="pombo-a").start()
try:
    A.smtpd(b"EHLO c.test\nMAIL FROM:<bob@example.test>\n"
            b"RCPT TO:<carol@b.test>\nDATA\nx\n.\nQUIT\n")
    tap.ok(pombo.wait_for(lambda: "status=deferred" in A.log(), 10),
           "verify with the wrong CA: deferred", A.log()[-1000:])
    tap.ok("certificate" in A.log() or "verify" in A.log(),
           "saying why", A.log()[-1000:])
    tap.eq(carol(), [], "nothing delivered")
finally:
    sa_b.stop()
    A.check_clean(tap)
    B.check_clean(tap)
    A.cleanup()
    B.cleanup()
    dns.stop()
    shutil.rmtree(certdir, ignore_errors=True)
tap.done()
