"""Privileges: started as root with the conf key user set, smtpd becomes
that user before it reads from its client (and still works); without the
key it stays whoever started it (and warns in the log when it serves a
network client as root); a user that does not exist stops it
with a 421, not a session run as root."""
import os
import pwd
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
if os.geteuid() != 0:
    tap.skip("privilege drop", "not running as root")
    tap.done()

user = "nobody"
uid = pwd.getpwnam(user).pw_uid
# queued takes the word of that user (handler_user) for its clients
inst = pombo.Instance({"user": user, "handler_user": user})
# the handlers' lines, where no syslog daemon takes them (log_file)
syslog = os.path.exists("/dev/log")
inst.set_conf(log_file=os.path.join(inst.dir, "handlers.log"))
with open(os.path.join(inst.dir, "handlers.log"), "w"):
    pass
os.chmod(os.path.join(inst.dir, "handlers.log"), 0o666)
inst.start()
# the queue socket must be reachable by the unprivileged handler
os.chmod(inst.dir, 0o755)


def handler_log(inst):
    try:
        with open(os.path.join(inst.dir, "handlers.log")) as f:
            return f.read()
    except OSError:
        return ""


def uid_of_smtpd(port):
    """Open a session, and while it is open find the smtpd serving it."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = s.makefile("rb")
    greeting = f.readline()
    found = pombo.server_uids(s)
    s.sendall(b"EHLO c.test\r\nMAIL FROM:<a@c.test>\r\n"
              b"RCPT TO:<bob@example.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n")
    rest = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        rest += chunk
    s.close()
    return greeting, found, rest


sa = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c", inst.conf_path],
                           inst.env())
try:
    greeting, ids, rest = uid_of_smtpd(sa.port)
    tap.ok(greeting.startswith(b"220 "), "smtpd greets")
    tap.eq(ids, [uid] * 4, "real, effective, saved and fs uid are %s's" %
           user)
    tap.ok(b"250 2.0.0 Ok: queued as" in rest,
           "and as that user it still queues mail", rest)
finally:
    sa.stop()

if syslog:
    tap.skip("the handlers' log", "a syslog daemon takes their lines here")
else:
    tap.ok("smtpd[" in handler_log(inst) and
           "as root" not in handler_log(inst),
           "dropped to %s: no warning about root in the log" % user,
           handler_log(inst)[-500:])

# without the key, started as root: it stays root, and says so in the
# log when a network client is served (not for a session on a pipe)
plain = pombo.Instance()
plain.set_conf(log_file=os.path.join(plain.dir, "handlers.log"))
plain.start()
try:
    r = subprocess.run([pombo.prog("smtpd/smtpd"), "-c", plain.conf_path],
                       input=b"QUIT\n", capture_output=True, timeout=10,
                       env=plain.env())
    if syslog:
        tap.skip("as root on a pipe: no warning", "a syslog daemon takes "
                 "the handlers' lines here")
    else:
        tap.ok(r.stdout.startswith(b"220 ") and
               "smtpd[" in handler_log(plain) and
               "as root" not in handler_log(plain),
               "as root on a pipe: no warning", handler_log(plain)[-500:])
    sa = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c",
                                plain.conf_path], plain.env())
    try:
        greeting, ids, rest = uid_of_smtpd(sa.port)
    finally:
        sa.stop()
    tap.eq(ids, [0] * 4, "without user it stays root")
    if syslog:
        tap.skip("the warning", "a syslog daemon takes it here")
    else:
        want = "serving 127.0.0.1 as root: set user in " + plain.conf_path
        tap.ok(pombo.wait_for(lambda: want in handler_log(plain), 10, 0.05),
               "and warns that it serves a network client as root",
               handler_log(plain)[-1000:])
    plain.check_clean(tap)
finally:
    plain.cleanup()

bad = pombo.Instance({"user": "no-such-user-here"})
try:
    r = subprocess.run([pombo.prog("smtpd/smtpd"), "-c", bad.conf_path],
                       input=b"QUIT\n", capture_output=True, timeout=10)
    tap.eq(r.stdout, b"421 4.3.0 Service not available\r\n",
           "an unknown user: 421 and nothing else")
    tap.ok(r.returncode != 0, "and a failure status")
finally:
    bad.cleanup()
inst.check_clean(tap)
inst.cleanup()
tap.done()
