"""tls_proxy's default (runstatedir/pombo/tlsd.sock) is tried by every
TLS session: where no pombo-tlsd is set up there is no socket file at
all, and the handler does its TLS itself as it did when the setting was
empty, without a log line for it in every session (one at debug). A
socket file that nobody accepts on (pombo-tlsd.socket there, the
service stopped or broken) is still logged: that is worth an admin's
look."""
import os
import smtplib
import socket
import ssl
import sys
import tempfile
import shutil

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
certdir = tempfile.mkdtemp(prefix="pombo-tlsq-")
ca, cert, key = pombo.make_certs(certdir, ("mx.test",))
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
absent = os.path.join(certdir, "absent.sock")
stale = os.path.join(certdir, "stale.sock")
s = socket.socket(socket.AF_UNIX)
s.bind(stale)
s.close()               # the file stays; connect() is refused

inst = pombo.Instance({"tls_cert": cert, "tls_key": key,
                       "tls_proxy": absent})
smtpd_log = os.path.join(inst.dir, "smtpd.log")
inst.set_conf(log_file=smtpd_log)
inst.start()
SMTPD = [pombo.prog("smtpd/smtpd"), "-c", inst.conf_path]
sa = pombo.SocketActivated(SMTPD, inst.env())


def read_log():
    try:
        with open(smtpd_log, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def session():
    """One STARTTLS session; what it added to the log."""
    before = len(read_log())
    with smtplib.SMTP("127.0.0.1", sa.port, timeout=20) as c:
        c.ehlo("client.test")
        c.starttls(context=ctx)
        code, _ = c.ehlo("client.test")
        ok = code == 250 and c.sock.version() is not None
    pombo.wait_for(lambda: "disconnect from" in read_log()[before:], 5)
    return ok, read_log()[before:]


try:
    ok, new = session()
    tap.ok(ok, "no socket file at tls_proxy: TLS in the handler")
    tap.ok("TLS in-process" not in new and "absent.sock" not in new,
           "and no line about the missing socket in every session", new)
    tap.ok(" TLS TLSv1." in new, "the session's TLS line is there", new)

    inst.set_conf(tls_proxy=stale)
    ok, new = session()
    tap.ok(ok, "a socket file nobody accepts on: TLS in the handler")
    tap.ok("TLS in-process" in new and "stale.sock" in new,
           "and that is logged (a pombo-tlsd that should be there)", new)
finally:
    sa.stop()
inst.check_clean(tap)
inst.cleanup()
shutil.rmtree(certdir, ignore_errors=True)
tap.done()
