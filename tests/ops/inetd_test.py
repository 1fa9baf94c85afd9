"""The inetd.conf sample under a real openbsd-inetd: each line of
units/inetd.conf.sample, with its service moved to 127.0.0.1 and a free
port, its user to ours and its program to this build's, is what inetd
runs. smtplib sends through smtpd (the smtp line), the submission line
(AUTH first) and the submissions line (implicit TLS); the messages reach
bob's Maildir through queued, and poplib reads them through pop3d over
implicit TLS (pop3s) and deletes them in clear text on loopback (pop3).
inetd takes the sample's abuse limit (nowait.N) as it is written.
"""
import os
import poplib
import pwd
import shlex
import shutil
import signal
import smtplib
import ssl
import subprocess
import tempfile

import ops

pombo = ops.pombo
tap = pombo.Tap()
SAMPLE = os.path.join(ops.BUILD, "units", "inetd.conf.sample")

certdir = tempfile.mkdtemp(prefix="pombo-inetd-tls-")
ca, cert, key = pombo.make_certs(certdir)
tls = ssl.create_default_context(cafile=ca)
inst = pombo.Instance({"hold_deliveries": "no", "login_delay": "0",
                       "tls_cert": cert, "tls_key": key},
                      name="pombo-inetd")
inst.start()
me = pwd.getpwuid(os.getuid()).pw_name
ports, rates, lines = {}, {}, []
with open(SAMPLE) as f:
    for line in f:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        service, stype, proto, wait, user, server, argv = line.split(None, 6)
        argv = shlex.split(argv)
        port = pombo.free_port()
        ports[service] = port
        rates[service] = wait.partition(".")[2]
        name = os.path.basename(server)
        prog = pombo.prog(ops.PROGRAMS.get(name, name))
        if "-c" in argv:
            argv[argv.index("-c") + 1] = inst.conf_path
        lines.append(" ".join(["127.0.0.1:%d" % port, stype, proto, wait,
                               me, prog] + argv))
tap.eq(sorted(ports), ["pop3", "pop3s", "smtp", "submission",
                       "submissions"],
       "the sample has lines for smtp, submission(s) and pop3(s)")
conf = os.path.join(inst.dir, "inetd.conf")
with open(conf, "w") as f:
    f.write("\n".join(lines) + "\n")

log_path = os.path.join(inst.dir, "inetd.log")
log = open(log_path, "wb")
inetd = subprocess.Popen(["inetd", "-d", "-R", "1000", conf],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)


def inetd_log():
    with open(log_path, errors="replace") as f:
        return f.read()


def listening():
    """A LISTEN socket (state 0A in /proc/net/tcp) on each port: looked
    up rather than connected to, which would start a handler."""
    with open("/proc/net/tcp") as f:
        rows = [l.split() for l in f.readlines()[1:]]
    found = {int(r[1].split(":")[1], 16) for r in rows if r[3] == "0A"}
    return all(p in found for p in ports.values())


new = os.path.join(inst.mail, "example.test", "bob", "new")
cur = os.path.join(inst.mail, "example.test", "bob", "cur")


def files(d):
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


try:
    tap.ok(pombo.wait_for(listening, 10), "inetd listens on every port",
           inetd_log())
    # inetd's debug output: "ADD: 127.0.0.1:PORT proto=tcp, wait.max=0.N"
    for service, port in sorted(ports.items()):
        tap.ok(("127.0.0.1:%d proto=tcp, wait.max=0.%s " %
                (port, rates[service])) in inetd_log(),
               "%s: inetd takes the sample's limit of %s a minute" %
               (service, rates[service]), inetd_log()[-2000:])

    with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=10) as s:
        code, banner = s.ehlo("client.test")
        tap.eq(code, 250, "smtp: EHLO answered by smtpd under inetd")
        refused = s.sendmail("alice@example.test", ["bob@example.test"],
                             b"Subject: via inetd\r\n\r\nport 25\r\n")
        tap.eq(refused, {}, "smtp: message accepted")
        tap.eq(s.quit()[0], 221, "smtp: QUIT")
    tap.ok(pombo.wait_for(lambda: len(files(new)) == 1, 10),
           "the message reached bob's Maildir", inst.log()[-2000:])
    data = b""
    for name in files(new):
        with open(os.path.join(new, name), "rb") as f:
            data = f.read()
    tap.ok(b"Subject: via inetd" in data and b"[127.0.0.1]" in data,
           "with its Received: line naming the client 127.0.0.1",
           data[:800])

    with smtplib.SMTP("127.0.0.1", ports["submission"], timeout=10) as s:
        s.ehlo("client.test")
        code, _ = s.mail("bob@example.test")
        tap.eq(code, 530, "submission: MAIL before AUTH refused")
        s.rset()
        s.login("bob@example.test", "secret")
        refused = s.sendmail("bob@example.test", ["bob@example.test"],
                             b"Subject: submitted\r\n\r\nport 587\r\n")
        tap.eq(refused, {}, "submission: accepted after AUTH")
    tap.ok(pombo.wait_for(lambda: len(files(new)) == 2, 10),
           "the submitted message reached bob's Maildir", inst.log()[-2000:])

    # the test CA's certificate names 127.0.0.1: verified, not just on
    with smtplib.SMTP_SSL("127.0.0.1", ports["submissions"], timeout=10,
                          context=tls) as s:
        s.ehlo("client.test")
        s.login("bob@example.test", "secret")
        refused = s.sendmail("bob@example.test", ["bob@example.test"],
                             b"Subject: over TLS\r\n\r\nport 465\r\n")
        tap.eq(refused, {}, "submissions: accepted over implicit TLS")
    tap.ok(pombo.wait_for(lambda: len(files(new)) == 3, 10),
           "the message over TLS reached bob's Maildir", inst.log()[-2000:])

    c = poplib.POP3_SSL("127.0.0.1", ports["pop3s"], timeout=10,
                        context=tls)
    tap.ok(c.getwelcome().startswith(b"+OK"),
           "pop3s: greeting from pop3d over implicit TLS")
    c.user("bob@example.test")
    c.pass_("secret")
    tap.eq(c.stat()[0], 3, "pop3s: the three messages in the mailbox")
    bodies = [b"\r\n".join(c.retr(i)[1]) for i in (1, 2, 3)]
    tap.ok(b"port 25" in bodies[0] and b"port 587" in bodies[1] and
           b"port 465" in bodies[2], "pop3s: RETR gives them back", bodies)
    tap.ok(c.quit().startswith(b"+OK"), "pop3s: QUIT")

    c = poplib.POP3("127.0.0.1", ports["pop3"], timeout=10)
    tap.ok(c.getwelcome().startswith(b"+OK"), "pop3: greeting from pop3d")
    c.user("bob@example.test")
    c.pass_("secret")
    tap.eq(c.stat()[0], 3, "pop3: the same three messages")
    for i in (1, 2, 3):
        c.dele(i)
    tap.ok(c.quit().startswith(b"+OK"), "pop3: QUIT")
    tap.eq(files(new) + files(cur), [], "pop3: DELE+QUIT emptied the Maildir")
finally:
    inetd.send_signal(signal.SIGTERM)
    try:
        inetd.wait(10)
    except subprocess.TimeoutExpired:
        inetd.kill()
        inetd.wait()
    log.close()
    inst.check_clean(tap)
    inst.cleanup()
    shutil.rmtree(certdir, ignore_errors=True)
tap.done()
