"""DELE of a message another Maildir reader renamed during the session
(an IMAP server moving new/X to cur/X:2,S, or changing flags in cur/):
QUIT finds it by its unique name and removes it, so a leave-on-server
client does not get it again. A message that cannot be removed makes
QUIT answer -ERR (RFC 1939 6), never +OK. poplib over TCP, pop3d
spawned by systemd-socket-activate on 127.0.0.1."""
import os
import poplib
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
inst = pombo.Instance({"login_delay": "0"})
pop = pombo.SocketActivated(
    [pombo.prog("pop3d/pop3d"), "-c", inst.conf_path], inst.env())
md = os.path.join(inst.mail, "example.test", "bob")
new, cur = os.path.join(md, "new"), os.path.join(md, "cur")
NAMES = ["17000000%02d.x%d.mx.test,S=14,W=17" % (i, i) for i in range(1, 5)]


def files(d):
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def fill():
    for d in (new, cur, os.path.join(md, "tmp")):
        os.makedirs(d, exist_ok=True)
    for n in NAMES:
        with open(os.path.join(new, n), "wb") as f:
            f.write(b"Subject: x\n\nX\n")


def login():
    c = poplib.POP3("127.0.0.1", pop.port, timeout=20)
    c.user("bob@example.test")
    c.pass_("secret")
    return c


try:
    fill()
    c = login()
    c.dele(2)
    c.dele(3)
    # meanwhile an IMAP server reads 2 and flags 3 in cur/
    os.rename(os.path.join(new, NAMES[1]), os.path.join(cur, NAMES[1] +
                                                        ":2,S"))
    os.rename(os.path.join(new, NAMES[2]), os.path.join(cur, NAMES[2] +
                                                        ":2,FS"))
    tap.ok(c.quit().startswith(b"+OK"), "QUIT says +OK")
    tap.eq(files(cur), [], "the renamed messages were removed from cur/")
    tap.eq(files(new), [NAMES[0], NAMES[3]], "the others stay in new/")

    c = login()
    c.dele(1)
    os.rename(os.path.join(new, NAMES[0]), os.path.join(cur, NAMES[0] +
                                                        ":2,S"))
    # something unlink cannot remove, where the message went
    os.unlink(os.path.join(cur, NAMES[0] + ":2,S"))
    os.mkdir(os.path.join(cur, NAMES[0] + ":2,S"))
    try:
        c.quit()
        tap.ok(False, "QUIT says -ERR when a deleted message stays")
    except poplib.error_proto as e:
        tap.ok(str(e).startswith("b'-ERR [SYS/TEMP]"),
               "QUIT says -ERR when a deleted message stays", str(e))
finally:
    pop.stop()
    inst.check_clean(tap)
    inst.cleanup()
tap.done()
