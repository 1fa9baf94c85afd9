"""TLS for POP3 against real clients: STLS (RFC 2595) with poplib, the
USER command refused in clear text to a remote client and offered once
in TLS, input pipelined after STLS discarded (never read as encrypted),
a failed handshake closing cleanly, implicit TLS (RFC 8314, pop3s) with
POP3_SSL, and mpop fetching through STLS with certificate checks."""
import os
import poplib
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
certdir = tempfile.mkdtemp(prefix="pombo-certs-")
ca, cert, key = pombo.make_certs(certdir, ("mx.test",))
inst = pombo.Instance({"tls_cert": cert, "tls_key": key, "login_delay": "0"})
with open(inst.settings["users_file"], "w") as f:
    f.write("bob@example.test:%s\n" % subprocess.run(
        ["openssl", "passwd", "-6", "-salt", "pop3tls", "secret"],
        check=True, capture_output=True, text=True,
        timeout=30).stdout.strip())
md = os.path.join(inst.mail, "example.test", "bob")
for sub in ("new", "cur", "tmp"):
    os.makedirs(os.path.join(md, sub))
MSG = b"Subject: over TLS\n\n.dot\ncaf\xc3\xa9\nno newline"
with open(os.path.join(md, "new", "1700000001.tls.mx.test,S=%d,W=%d" %
                       (len(MSG), len(MSG) + MSG.count(b"\n") + 2)),
          "wb") as f:
    f.write(MSG)
WANT = MSG.replace(b"\n", b"\r\n") + b"\r\n"

POP3D = [pombo.prog("pop3d/pop3d"), "-c", inst.conf_path]
# a client from elsewhere: systemd-socket-activate passes -E to pop3d
REMOTE = ["-E", "TCPREMOTEIP=198.51.100.7"]
stls = pombo.SocketActivated(REMOTE + POP3D, inst.env())
implicit = pombo.SocketActivated(REMOTE + POP3D + ["--implicit-tls"],
                                 inst.env())
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False


def closes(sock, timeout=10):
    """Does the server close the connection within timeout?"""
    sock.settimeout(timeout)
    end = time.time() + timeout
    try:
        while time.time() < end:
            if not sock.recv(4096):
                return True
    except (OSError, ssl.SSLError):
        return True
    return False


try:
    c = poplib.POP3("127.0.0.1", stls.port, timeout=20)
    capa = c.capa()
    tap.ok("STLS" in capa, "STLS is offered", capa)
    tap.ok("USER" not in capa, "USER is not offered in clear text to a "
           "remote client", capa)
    try:
        c.user("bob@example.test")
        tap.ok(False, "USER in clear text refused")
    except poplib.error_proto as e:
        tap.ok(str(e).startswith("b'-ERR [AUTH]"),
               "USER in clear text: -ERR [AUTH]", e)
    c.stls(context=ctx)
    tap.eq(c.sock.version(), "TLSv1.3", "TLS 1.3 negotiated")
    capa = c.capa()
    tap.ok("USER" in capa and "STLS" not in capa,
           "in TLS: USER offered, STLS no more", capa)
    try:
        c._shortcmd("STLS")
        tap.ok(False, "no STLS twice")
    except poplib.error_proto as e:
        tap.eq(str(e), "b'-ERR TLS already active'", "no STLS twice")
    c.user("bob@example.test")
    c.pass_("secret")
    _, lines, _ = c.retr(1)
    tap.eq(b"".join(l + b"\r\n" for l in lines), WANT,
           "RETR over TLS byte for byte")
    c.quit()

    # pipelined after STLS: thrown away, not read as if encrypted
    s = socket.create_connection(("127.0.0.1", stls.port), 20)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"STLS\r\nUSER bob@example.test\r\n")
    tap.eq(f.readline(), b"+OK Begin TLS negotiation\r\n", "STLS answered")
    t = ctx.wrap_socket(s, server_hostname="mx.test")
    tf = t.makefile("rb")
    t.sendall(b"PASS secret\r\nQUIT\r\n")
    got = tf.readline()
    tap.eq(got, b"-ERR Send USER first\r\n",
           "the USER pipelined before the handshake was discarded")
    t.close()

    # a failed handshake ends the session cleanly
    s = socket.create_connection(("127.0.0.1", stls.port), 20)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"STLS\r\n")
    f.readline()
    s.sendall(b"this is no TLS client hello\r\n" * 4)
    tap.ok(closes(s), "garbage instead of a handshake: the server closes")
    s.close()

    # implicit TLS: the handshake first, then the greeting
    c = poplib.POP3_SSL("127.0.0.1", implicit.port, context=ctx,
                        timeout=20)
    tap.ok(c.getwelcome().startswith(b"+OK Pombo"), "pop3s greeting in TLS")
    capa = c.capa()
    tap.ok("USER" in capa and "STLS" not in capa,
           "pop3s: USER offered, no STLS", capa)
    c.user("bob@example.test")
    c.pass_("secret")
    tap.eq(c.stat(), (1, len(WANT)), "pop3s STAT")
    c.quit()
    s = socket.create_connection(("127.0.0.1", implicit.port), 20)
    s.sendall(b"USER bob@example.test\r\n")
    tap.ok(closes(s), "pop3s: a clear-text client is closed")
    s.close()

    # mpop through STLS, checking the certificate
    if shutil.which("mpop"):
        work = os.path.join(inst.dir, "mpop")
        out_md = os.path.join(work, "Maildir")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(out_md, sub))
        rc = os.path.join(work, "mpoprc")
        with open(rc, "w") as f:
            f.write("account default\nhost 127.0.0.1\nport %d\n"
                    "user bob@example.test\npassword secret\nauth user\n"
                    "tls on\ntls_starttls on\ntls_trust_file %s\n" %
                    (stls.port, ca))
        os.chmod(rc, 0o600)
        p = subprocess.run(
            ["mpop", "-C", rc, "--deliver=maildir," + out_md,
             "--uidls-file=" + os.path.join(work, "uidls"),
             "--received-header=off", "--timeout=20"],
            capture_output=True, timeout=120, env=dict(os.environ, HOME=work))
        tap.eq(p.returncode, 0, "mpop with STLS succeeded",)
        got = [open(os.path.join(out_md, "new", n), "rb").read()
               for n in os.listdir(os.path.join(out_md, "new"))]
        tap.eq(got, [MSG + b"\n"], "mpop got the message over TLS")
        tap.eq(os.listdir(os.path.join(md, "new")) +
               os.listdir(os.path.join(md, "cur")), [],
               "and deleted it on the server")
    else:
        tap.skip("mpop", "mpop is not installed")
finally:
    stls.stop()
    implicit.stop()
    inst.check_clean(tap)
    inst.cleanup()
    shutil.rmtree(certdir, ignore_errors=True)
tap.done()
