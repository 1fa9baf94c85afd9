"""Privileges: started as root with the conf key user set, pop3d becomes
that user before it reads from its client, and as that user it reads,
deletes and moves the messages of a Maildir that user owns; a user that
does not exist stops it with -ERR, not a session run as root."""
import os
import pwd
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
if os.geteuid() != 0:
    tap.skip("privilege drop", "not running as root")
    tap.done()

user = "nobody"
pw = pwd.getpwnam(user)
inst = pombo.Instance({"user": user, "login_delay": "0"})
with open(inst.settings["users_file"], "w") as f:
    f.write("bob@example.test:%s\n" % subprocess.run(
        ["openssl", "passwd", "-6", "-salt", "pop3priv", "secret"],
        check=True, capture_output=True, text=True,
        timeout=30).stdout.strip())
# the handler, once unprivileged, must reach its config and users file
os.chmod(inst.dir, 0o755)
os.chmod(inst.conf_path, 0o644)
os.chmod(inst.settings["users_file"], 0o644)
md = os.path.join(inst.mail, "example.test", "bob")
for sub in ("new", "cur", "tmp"):
    os.makedirs(os.path.join(md, sub))
for name in ("1700000001.a.mx.test,S=14,W=17",
             "1700000002.b.mx.test,S=14,W=17"):
    with open(os.path.join(md, "new", name), "wb") as f:
        f.write(b"Subject: x\n\nX\n")
for root, dirs, files in os.walk(inst.mail):
    for n in [root] + [os.path.join(root, x) for x in dirs + files]:
        os.chown(n, pw.pw_uid, pw.pw_gid)


sa = pombo.SocketActivated([pombo.prog("pop3d/pop3d"), "-c", inst.conf_path],
                           inst.env())
try:
    s = socket.create_connection(("127.0.0.1", sa.port), timeout=10)
    f = s.makefile("rb")
    tap.ok(f.readline().startswith(b"+OK Pombo"), "pop3d greets")
    tap.eq(pombo.server_uids(s), [pw.pw_uid] * 4,
           "real, effective, saved and fs uid are %s's" % user)
    s.sendall(b"USER bob@example.test\r\nPASS secret\r\nRETR 1\r\n"
              b"DELE 2\r\nQUIT\r\n")
    rest = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        rest += chunk
    s.close()
    tap.ok(rest.endswith(b"+OK Pombo POP3 server signing off "
                         b"(1 messages left)\r\n"),
           "as that user it logs in, reads and deletes", rest)
    tap.eq((sorted(os.listdir(os.path.join(md, "new"))),
            sorted(os.listdir(os.path.join(md, "cur")))),
           ([], ["1700000001.a.mx.test,S=14,W=17:2,S"]),
           "the message read moved to cur/, the deleted one is gone")
    st = os.stat(os.path.join(md, ".pombo-pop3.lock"))
    tap.eq(st.st_uid, pw.pw_uid, "the lock file belongs to %s" % user)
finally:
    sa.stop()

bad = pombo.Instance({"user": "no-such-user-here"})
try:
    r = subprocess.run([pombo.prog("pop3d/pop3d"), "-c", bad.conf_path],
                       input=b"QUIT\n", capture_output=True, timeout=10)
    tap.eq(r.stdout, b"-ERR [SYS/TEMP] Service not available\r\n",
           "an unknown user: -ERR and nothing else")
    tap.ok(r.returncode != 0, "and a failure status")
finally:
    bad.cleanup()
inst.check_clean(tap)
inst.cleanup()
tap.done()
