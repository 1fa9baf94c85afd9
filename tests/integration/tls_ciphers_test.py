"""The TLS 1.2 suites the handlers offer, tried with a real client
(openssl s_client) on smtpd's STARTTLS (submission, and an MX's port 25)
and implicit TLS (465) and pop3d's STLS and implicit TLS (995), with an
RSA certificate: static-RSA key exchange is refused everywhere, CBC
suites everywhere but on port 25 (opportunistic: a forward-secret CBC
suite beats plaintext, and comes after every AEAD one), ECDHE and DHE
with AES-GCM work, the server's order wins over the client's, and TLS 1.3
still works."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
certdir = tempfile.mkdtemp(prefix="pombo-certs-")
cert, key = (os.path.join(certdir, n) for n in ("rsa.pem", "rsa.key"))
# static-RSA key exchange needs an RSA key (make_certs makes P-256 ones)
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", key, "-out", cert, "-days", "2",
                "-subj", "/CN=mx.test"], check=True, capture_output=True,
               timeout=120)
inst = pombo.Instance({"tls_cert": cert, "tls_key": key})
SMTPD = [pombo.prog("smtpd/smtpd"), "-c", inst.conf_path]
POP3D = [pombo.prog("pop3d/pop3d"), "-c", inst.conf_path]
servers = {
    "smtpd STARTTLS (MX)": (pombo.SocketActivated(SMTPD, inst.env()),
                            "smtp"),
    "smtpd STARTTLS (submission)": (pombo.SocketActivated(
        SMTPD + ["--submission"], inst.env()), "smtp"),
    "smtpd implicit TLS": (pombo.SocketActivated(
        SMTPD + ["--submission", "--implicit-tls"], inst.env()), None),
    "pop3d STLS": (pombo.SocketActivated(POP3D, inst.env()), "pop3"),
    "pop3d implicit TLS": (pombo.SocketActivated(POP3D + ["--implicit-tls"],
                                                 inst.env()), None),
}


def s_client(port, starttls, *args):
    """The cipher s_client agreed on, or None if the handshake failed."""
    argv = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
            "-servername", "mx.test"] + list(args)
    if starttls:
        argv += ["-starttls", starttls]
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30)
    out = r.stdout.decode(errors="replace")
    m = re.search(r"Cipher is (\S+)", out)
    if r.returncode != 0 or m is None or m.group(1) == "(NONE)":
        return None
    return m.group(1)


try:
    for name, (srv, starttls) in servers.items():
        mx = name.endswith("(MX)")
        for refused in ("AES128-SHA256", "AES256-GCM-SHA384", "AES128-SHA"):
            got = s_client(srv.port, starttls, "-tls1_2", "-cipher", refused)
            tap.eq(got, None, "%s: TLS 1.2 %s is refused" % (name, refused))
        for cbc in ("ECDHE-RSA-AES128-SHA256", "DHE-RSA-AES256-SHA256",
                    "ECDHE-RSA-AES256-SHA"):
            got = s_client(srv.port, starttls, "-tls1_2", "-cipher", cbc)
            tap.eq(got, cbc if mx else None, "%s: TLS 1.2 %s is %s" %
                   (name, cbc, "taken" if mx else "refused"))
        if mx:
            # a CBC suite only when the client has no AEAD one
            got = s_client(srv.port, starttls, "-tls1_2", "-cipher",
                           "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256")
            tap.eq(got, "ECDHE-RSA-AES128-GCM-SHA256",
                   "%s: AEAD before CBC, whatever the client's order" % name)
        for ok in ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                   "ECDHE-RSA-CHACHA20-POLY1305", "DHE-RSA-AES128-GCM-SHA256"):
            got = s_client(srv.port, starttls, "-tls1_2", "-cipher", ok)
            tap.eq(got, ok, "%s: TLS 1.2 %s works" % (name, ok))
        # the client prefers ChaCha20 then AES-256: the server's order
        # (AES-128-GCM first) wins
        got = s_client(srv.port, starttls, "-tls1_2", "-cipher",
                       "ECDHE-RSA-CHACHA20-POLY1305:"
                       "ECDHE-RSA-AES256-GCM-SHA384:"
                       "ECDHE-RSA-AES128-GCM-SHA256")
        tap.eq(got, "ECDHE-RSA-AES128-GCM-SHA256",
               "%s: the server's cipher order wins" % name)
        got = s_client(srv.port, starttls, "-tls1_3")
        tap.ok(got is not None and got.startswith("TLS_"),
               "%s: TLS 1.3 works" % name, got)
        got = s_client(srv.port, starttls, "-tls1_1")
        tap.eq(got, None, "%s: TLS 1.1 is refused" % name)
    inst.check_clean(tap)
finally:
    for srv, _ in servers.values():
        srv.stop()
    inst.cleanup()
tap.done()
