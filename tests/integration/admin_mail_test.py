"""The admin's mail out of the box, on the setup `./bootstrap run` writes
(hostname mx.pombo.test, local domain pombo.test, one user demo and the
alias "postmaster: demo"): cron's mail to root through pombo-sendmail
exactly as cron sends it, a bare user name to pombo-sendmail, abuse@ and
MAILER-DAEMON@ of the local domain, and a double bounce, all land in
the Maildir of the user the postmaster alias names by a bare name.
Without any alias, root's mail goes to the hostname's postmaster."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402
from peer import Peer  # noqa: E402

tap = pombo.Tap()
SM = pombo.prog("queued/pombo-sendmail")


def sendmail(inst, args, data):
    return subprocess.run([SM, "-C", inst.conf_path] + args, input=data,
                          capture_output=True, timeout=30)


def mailbox(inst, user, domain):
    return inst.delivered(user, domain)


P = pombo.free_port()
peer = Peer("127.0.0.1", P, "mx.far.test",
            replies={"RCPT": "550 5.1.1 unknown"})
A = pombo.Instance({"hostname": "mx.pombo.test",
                    "local_domains": "pombo.test",
                    "hold_deliveries": "no",
                    "relayhost": "[127.0.0.1]:%d" % P,
                    "delay_warning": "0"}, name="pombo-admin",
                   users=["demo@pombo.test", "bob@pombo.test"])
with open(os.path.join(A.dir, "aliases"), "w") as f:
    f.write("postmaster: demo\n")
try:
    A.start()
    # cron(8): "To: root" in the header, -t, no recipient argument
    r = sendmail(A, ["-FCronDaemon", "-i", "-oem", "-t"],
                 b"To: root\nSubject: Cron <root@mx> run-parts\n\n"
                 b"cron output\n")
    tap.eq(r.returncode, 0, "cron's mail to root: exit 0")
    tap.eq(r.stderr, b"", "and nothing on stderr")
    tap.ok(pombo.wait_for(lambda: any(b"cron output" in m for m in
                                      mailbox(A, "demo", "pombo.test")), 10),
           "it lands in the Maildir of the postmaster alias's bare user",
           A.log()[-2000:])
    cron = [m for m in mailbox(A, "demo", "pombo.test") if b"cron output"
            in m]
    head = cron[0].split(b"\n\n", 1)[0] + b"\n" if cron else b""
    tap.ok(b"\nTo: root@mx.pombo.test\n" in head and
           b"\nSubject: Cron <root@mx> run-parts\n" in head,
           "its To: root is root@ the hostname, as a reader replies to it; "
           "the Subject is left alone", head)

    # "echo hi | sendmail bob": bob is a user of the one local domain
    r = sendmail(A, ["bob"], b"hi\n")
    tap.eq(r.returncode, 0, "a bare user name: exit 0")
    tap.ok(pombo.wait_for(lambda: mailbox(A, "bob", "pombo.test"), 10),
           "it lands in bob's Maildir", A.log()[-2000:])

    # RFC 2142's abuse@ and MAILER-DAEMON@ of the local domain, over SMTP
    out = A.smtpd(b"EHLO c.test\nMAIL FROM:<x@far.test>\n"
                  b"RCPT TO:<abuse@pombo.test>\n"
                  b"RCPT TO:<MAILER-DAEMON@pombo.test>\nDATA\n"
                  b"Subject: abuse report\n\nspam\n.\nQUIT\n")
    tap.ok(len(re.findall(rb"\n250 2\.1\.5", out)) == 2,
           "abuse@ and MAILER-DAEMON@ are accepted", out)
    tap.ok(pombo.wait_for(lambda: any(b"abuse report" in m for m in
                                      mailbox(A, "demo", "pombo.test")), 10),
           "and reach the admin", A.log()[-2000:])

    # a bounce that bounces: the double bounce goes to postmaster@hostname,
    # whose alias names demo by a bare name
    out = A.smtpd(b"EHLO c.test\nMAIL FROM:<>\nRCPT TO:<nobody@far.test>\n"
                  b"DATA\nSubject: a bounce\n\nhi\n.\nQUIT\n")
    tap.ok(b"queued as" in out, "a message from <> is accepted", out)
    tap.ok(pombo.wait_for(lambda: any(b"nobody@far.test" in m for m in
                                      mailbox(A, "demo", "pombo.test")), 10),
           "its double bounce lands in demo's Maildir", A.log()[-2000:])
    tap.ok("undeliverable double bounce" not in A.log(),
           "it is not discarded")
    tap.ok("No such mailbox" not in A.log(), "no delivery failed",
           A.log()[-2000:])
    tap.eq(mailbox(A, "postmaster", "mx.pombo.test"), [],
           "nothing in a postmaster Maildir of the hostname")
    A.check_clean(tap)
finally:
    peer.stop()
    A.cleanup()

# --- no alias at all: root's mail is the hostname's postmaster's -------
B = pombo.Instance({"hold_deliveries": "no"}, name="pombo-admin")
try:
    B.start()
    r = sendmail(B, ["-FCronDaemon", "-i", "-oem", "-t"],
                 b"To: root\nSubject: cron\n\nno alias\n")
    tap.eq(r.returncode, 0, "without aliases cron's mail to root: exit 0")
    tap.ok(pombo.wait_for(lambda: mailbox(B, "postmaster", "mx.test"), 10),
           "it lands in the hostname's postmaster Maildir", B.log()[-2000:])
    # a name no domain has is still refused
    r = sendmail(B, ["nosuchuser"], b"hi\n")
    tap.eq(r.returncode, 67, "an unknown bare name: exit 67 (EX_NOUSER)")
    B.check_clean(tap)
finally:
    B.cleanup()
tap.done()
