"""pop3d beside Dovecot's IMAP server on the same Maildir, as the README
sets them up (same user, mail_location = maildir:<the Maildir>): a
private Dovecot on 127.0.0.1 (its own config, never the system service)
and Python's imaplib and poplib. While a POP3 session is open, IMAP
SELECT moves new/ to cur/ and STORE renames with new flags: RETR and TOP
still send the right bytes, DELE removes the renamed file, and what
pop3d read is \\Seen for IMAP afterwards. A message Dovecot APPENDed
without a final newline (its name says W=48; RETR sends 50): LIST says
what RETR sends."""
import imaplib
import os
import poplib
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
if os.geteuid() != 0 or shutil.which("dovecot") is None or \
        not os.path.exists("/usr/lib/dovecot/imap"):
    tap.skip("pop3d beside Dovecot IMAP", "needs root and dovecot-imapd")
    tap.done()

DOVECOT_CONF = """\
# a private instance for this test: IMAP on loopback, passwd-file
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:~/
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {dir}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%d/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""

pw = pwd.getpwnam("nobody")
inst = pombo.Instance({"user": "nobody", "login_delay": "0"})
# pop3d, once it is nobody, must reach its config and users file
os.chmod(inst.dir, 0o755)
os.chmod(inst.conf_path, 0o644)
with open(inst.settings["users_file"], "w") as f:
    f.write("bob@example.test:%s\n" % inst.password_hash())
os.chmod(inst.settings["users_file"], 0o644)
md = os.path.join(inst.mail, "example.test", "bob")
new, cur = os.path.join(md, "new"), os.path.join(md, "cur")
for sub in ("new", "cur", "tmp"):
    os.makedirs(os.path.join(md, sub))


def pop3_form(data):
    """The octets RETR sends for data (before the terminating dot)."""
    out = data.replace(b"\n", b"\r\n")
    return out if out.endswith(b"\r\n") or not out else out + b"\r\n"


# three messages as the local agent names them: <time>.<qid>_<hash>.<host>
MSGS = [b"Subject: one\n\nfirst\n",
        b"Subject: two\n\n..dotted\nsecond\n",
        b"Subject: three\nX-A: b\n\nthird\nline 2\n"]
for i, m in enumerate(MSGS):
    name = "17000000%02d.01k177h582j%d_%016x.mx.test,S=%d,W=%d" % (
        i + 1, i + 1, i + 1, len(m), len(pop3_form(m)))
    with open(os.path.join(new, name), "wb") as f:
        f.write(m)
for root, dirs, files in os.walk(inst.mail):
    for n in [root] + [os.path.join(root, x) for x in dirs + files]:
        os.chown(n, pw.pw_uid, pw.pw_gid)

ddir = tempfile.mkdtemp(prefix="pombo-dovecot-")
os.chmod(ddir, 0o755)   # its auth process reads users as user dovecot
for d in ("run", "state"):
    os.makedirs(os.path.join(ddir, d))
port = pombo.free_port()
with open(os.path.join(ddir, "dovecot.conf"), "w") as f:
    f.write(DOVECOT_CONF.format(dir=ddir, mail=inst.mail, port=port,
                                uid=pw.pw_uid, gid=pw.pw_gid))
with open(os.path.join(ddir, "users"), "w") as f:
    f.write("bob@example.test:{SHA512-CRYPT}%s\n" % inst.password_hash())
os.chmod(os.path.join(ddir, "users"), 0o644)


def dovecot_log():
    try:
        with open(os.path.join(ddir, "dovecot.log")) as f:
            return f.read()[-3000:]
    except OSError:
        return ""


def listens():
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def cmd(f, *args):
    """A POP3 command's (response, lines, octets), its -ERR in place of
    the response if it failed."""
    try:
        return f(*args)
    except poplib.error_proto as e:
        return e.args[0], [], 0


dovecot = subprocess.Popen(["dovecot", "-F", "-c",
                            os.path.join(ddir, "dovecot.conf")],
                           stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL,
                           stderr=open(os.path.join(ddir, "stderr"), "wb"))
pop = None
try:
    if not pombo.wait_for(listens, 20):
        raise RuntimeError("dovecot does not listen: " + dovecot_log())
    pop = pombo.SocketActivated(
        [pombo.prog("pop3d/pop3d"), "-c", inst.conf_path], inst.env())

    imap = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    imap.login("bob@example.test", "secret")
    # Dovecot APPENDs a message without a final newline: S=46, W=48
    APPENDED = b"Subject: no newline\r\n\r\nlast line without newline"
    typ, _ = imap.append("INBOX", None, None, APPENDED)
    tap.eq(typ, "OK", "IMAP APPEND")
    dove = [n for n in os.listdir(cur) + os.listdir(new) if "_" not in n]
    tap.ok(len(dove) == 1 and ",S=46,W=48" in dove[0],
           "Dovecot named it with its own W= (no CRLF for the last line)",
           "cur: %r new: %r" % (os.listdir(cur), os.listdir(new)))

    c = poplib.POP3("127.0.0.1", pop.port, timeout=30)
    c.user("bob@example.test")
    c.pass_("secret")
    _, listing, _ = c.list()
    sizes = [int(x.split()[1]) for x in listing]
    tap.eq(len(sizes), 4, "POP3 sees the three messages and the APPENDed one")
    uidls = [x.split()[1] for x in c.uidl()[1]]

    # meanwhile, on the same Maildir: IMAP SELECT (new/ -> cur/) and flags
    typ, data = imap.select("INBOX")
    tap.eq((typ, data), ("OK", [b"4"]), "IMAP SELECT INBOX: 4 messages")
    imap.store("2", "+FLAGS", "(\\Flagged)")
    imap.store("3", "+FLAGS", "(\\Answered)")
    imap.store("4", "+FLAGS", "(\\Flagged)")
    imap.noop()
    tap.eq(os.listdir(new), [], "Dovecot moved every message to cur/")
    tap.ok(any(n.endswith(":2,F") for n in os.listdir(cur)),
           "and renamed for the flags", os.listdir(cur))

    for i, m in enumerate(MSGS):
        _, lines, _ = cmd(c.retr, i + 1)
        got = b"".join(l + b"\r\n" for l in lines)
        # poplib takes the stuffed dots out again
        tap.eq(got, pop3_form(m),
               "RETR %d after the rename: the right bytes" % (i + 1))
    _, lines, _ = cmd(c.top, 3, 0)
    tap.eq(lines, [b"Subject: three", b"X-A: b", b""],
           "TOP 3 0 after the rename: the header")
    _, lines, _ = cmd(c.top, 2, 1)
    tap.eq(lines, [b"Subject: two", b"", b"..dotted"],
           "TOP 2 1 after the rename: header, one line, dot-stuffed")

    # the APPENDed message: LIST's size is what RETR sends
    resp, lines, _ = cmd(c.retr, 4)
    sent = b"".join(l + b"\r\n" for l in lines)
    tap.eq(sent, APPENDED + b"\r\n", "RETR 4: the APPENDed message and "
           "the CRLF its last line needs")
    tap.eq(sizes[3], len(sent), "LIST 4 is the octets RETR 4 sends")
    tap.eq(resp, b"+OK %d octets" % len(sent), "RETR 4's +OK says as much")
    tap.eq([x.split()[1] for x in c.uidl()[1]], uidls,
           "UIDLs unchanged by the renames")

    c.dele(1)
    tap.ok(c.quit().startswith(b"+OK"), "QUIT: +OK")
    left = sorted(os.listdir(cur))
    tap.ok(len(left) == 3, "DELE 1 removed the renamed file", left)
    tap.ok(not any("_%016x." % 1 in n for n in left),
           "message 1 is gone from cur/", left)

    # what POP3 retrieved is read for IMAP too (the NOOP's news dropped)
    imap.noop()
    imap.response("FETCH")
    typ, data = imap.fetch("1:*", "(FLAGS)")
    flags = b" ".join(data)
    tap.eq(typ, "OK", "IMAP FETCH FLAGS")
    tap.ok(flags.count(b"\\Seen") == 3, "the three RETR'd messages are "
           "\\Seen for IMAP", flags)
    tap.ok(flags.count(b"\\Flagged") == 2, "and keep their flags", flags)
    imap.logout()
finally:
    if pop is not None:
        pop.stop()
    dovecot.terminate()
    try:
        dovecot.wait(20)
    except subprocess.TimeoutExpired:
        dovecot.kill()
        dovecot.wait()
    report = pombo.sanitizer_report(inst.handler_errors().decode(
        errors="replace"))
    tap.ok(report is None, "no sanitizer report", report)
    if tap.failed:
        print("# dovecot.log: " + dovecot_log().replace("\n", "\n# "))
    shutil.rmtree(ddir, ignore_errors=True)
    inst.cleanup()
tap.done()
