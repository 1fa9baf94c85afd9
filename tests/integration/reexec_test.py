"""smtpd linked statically with musl (configure's default when musl-gcc
is there, smtpd/reexec.h): smtpd/smtpd is a static executable and
smtpd-full beside it the glibc build; STARTTLS and implicit TLS without
a pombo-tlsd are done by smtpd-full, exec'd for the rest of the session
(one connect and one disconnect line, the error counter and the HELO
name carried over: a certificate that does not load still gets 454 and
the session goes on as it was), with pombo-tlsd by smtpd itself; AUTH
through a smtpd-full --check-login child for yescrypt and SHA-512
hashes, a wrong password and an unknown user refused; the child's
protocol itself; and without smtpd-full, STARTTLS and AUTH answered
454, not a crash. The glibc build (--disable-musl-smtpd, sanitizers)
runs the same sessions and skips what only the static build has."""
import os
import pwd
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()


def musl_expected():
    """Would configure have built smtpd with musl here? musl-gcc there,
    neither --disable-musl-smtpd nor --enable-sanitizers given."""
    if shutil.which("musl-gcc") is None:
        return False
    try:
        with open(pombo.prog("config.status"), errors="replace") as f:
            status = f.read()
    except OSError:
        return False
    return ("--disable-musl-smtpd" not in status and
            "--enable-sanitizers" not in status)


def read_log(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def write_conf(inst, path, **changes):
    """A copy of inst's pombo.conf with these changes."""
    settings = dict(inst.settings)
    settings.update(changes)
    with open(path, "w") as f:
        for k, v in settings.items():
            if v is not None:
                f.write("%s = %s\n" % (k, v))
    return path


static = musl_expected()
full = pombo.prog("smtpd/smtpd-full")
certdir = tempfile.mkdtemp(prefix="pombo-reexec-")
ca, cert, key = pombo.make_certs(certdir, ("mx.test",))
badcert = os.path.join(certdir, "bad.pem")
with open(badcert, "w") as f:
    f.write("-----BEGIN CERTIFICATE-----\nnot one\n"
            "-----END CERTIFICATE-----\n")
inst = pombo.Instance({"tls_cert": cert, "tls_key": key, "login_delay": "0",
                       "max_errors": "3", "max_login_failures": "10"})
smtpd_log = os.path.join(inst.dir, "smtpd.log")
inst.set_conf(log_file=smtpd_log)
with open(inst.settings["users_file"], "a") as f:
    f.write("yc@example.test:%s\n" % pombo.yescrypt("ypass"))
inst.start()
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
SMTPD = [pombo.prog("smtpd/smtpd"), "-c", inst.conf_path]
plain = pombo.SocketActivated(SMTPD, inst.env())
implicit = pombo.SocketActivated(SMTPD + ["--implicit-tls"], inst.env())
bad_conf = write_conf(inst, os.path.join(inst.dir, "bad.conf"),
                      tls_cert=badcert)
badtls = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c", bad_conf],
                               inst.env())
others = []

try:
    # the build
    if static:
        tap.ok(not pombo.elf_dynamic(pombo.prog("smtpd/smtpd")),
               "smtpd/smtpd is a static executable (musl)")
        with open(pombo.prog("smtpd/smtpd"), "rb") as f:
            e_type = int.from_bytes(f.read(18)[16:18], "little")
        tap.eq(e_type, 3, "and position-independent (static-pie, ET_DYN): "
               "its addresses are random, as glibc's PIE build's are")
        tap.ok(os.path.exists(full) and pombo.elf_dynamic(full),
               "smtpd/smtpd-full beside it is the dynamic glibc build")
    else:
        tap.skip("smtpd/smtpd is a static executable (musl)",
                 "musl off (no musl-gcc, --disable-musl-smtpd or "
                 "sanitizers)")
        tap.ok(not os.path.exists(full),
               "without musl, no smtpd-full: smtpd does it all")

    # STARTTLS without tls_proxy: smtpd-full takes over
    with smtplib.SMTP("127.0.0.1", plain.port, timeout=20) as s:
        s.ehlo("client.test")
        s.starttls(context=ctx)
        s.ehlo("client.test")
        tap.eq(s.sock.version(), "TLSv1.3", "STARTTLS, no tls_proxy: TLS 1.3")
        # exec keeps the process: the same pid before and after
        pid = pombo.server_pid(s.sock)
        tap.eq(pombo.proc_comm(pid), pombo.smtpd_tls_comm(),
               "done by %s" % pombo.smtpd_tls_comm())
        s.sendmail("a@client.test", ["bob@example.test"],
                   "Subject: tls\r\n\r\nover TLS\r\n")
        tap.ok(True, "a message accepted over it")
    mine = "[%s]: " % pid
    pombo.wait_for(lambda: mine + "disconnect from" in read_log(smtpd_log),
                   5)
    new = "".join(ln for ln in read_log(smtpd_log).splitlines(True)
                  if mine in ln)
    tap.ok(new.count(mine + "connect from 127.0.0.1") == 1 and
           new.count(mine + "disconnect from 127.0.0.1") == 1,
           "one connect and one disconnect line for the session", new)
    tap.ok("TLS TLSv1.3" in new, "the TLS line is logged", new)

    # the error counter survives the hand-over (max_errors 3)
    with smtplib.SMTP("127.0.0.1", plain.port, timeout=20) as s:
        s.ehlo("client.test")
        codes = [s.docmd("BOGUS")[0] for _ in range(2)]
        s.starttls(context=ctx)
        s.ehlo("client.test")
        code, msg = s.docmd("BOGUS")
        # the 421 follows the 500 unasked: the next read has it
        try:
            last = s.noop()
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            last = e
        tap.ok(codes == [500, 500] and code == 500 and last[0] == 421 and
               b"Too many errors" in last[1],
               "two errors before STARTTLS and one after: closed at "
               "max_errors 3", (codes, code, last))

    # implicit TLS without tls_proxy
    with smtplib.SMTP_SSL("127.0.0.1", implicit.port, context=ctx,
                          timeout=20) as s:
        code, _ = s.ehlo("client.test")
        tap.eq(code, 250, "implicit TLS, no tls_proxy: EHLO inside TLS")
        tap.eq(pombo.proc_comm(pombo.server_pid(s.sock)), pombo.smtpd_tls_comm(),
               "implicit TLS done by %s" % pombo.smtpd_tls_comm())

    # a certificate that opens but does not load: smtpd-full says 454,
    # and the session goes on in the clear as it was (HELO kept)
    with smtplib.SMTP("127.0.0.1", badtls.port, timeout=20) as s:
        s.ehlo("client.test")
        code, _ = s.docmd("STARTTLS")
        tap.eq(code, 454, "a certificate that does not load: 454")
        code, msg = s.docmd("MAIL FROM:<a@client.test>")
        tap.eq(code, 250, "then MAIL without a new EHLO: the HELO was kept")
        s.docmd("RSET")

    # pombo-tlsd: smtpd does STARTTLS itself, nothing exec'd
    runas = []
    if os.geteuid() == 0:
        runas = ["-U", "daemon"]
        os.chown(key, pwd.getpwnam("daemon").pw_uid, -1)
        os.chmod(certdir, 0o711)
    tsock = os.path.join(certdir, "tlsd.sock")
    tlsd_log = open(os.path.join(certdir, "tlsd.log"), "ab")
    tlsd = subprocess.Popen([pombo.prog("tlsd/pombo-tlsd"), "-d", "-s",
                             tsock, "-w", "1"] + runas,
                            stdin=subprocess.DEVNULL, stdout=tlsd_log,
                            stderr=tlsd_log)
    others.append(tlsd)
    pombo.wait_for(lambda: pombo.accepts(tsock), 10)
    tlsd_conf = write_conf(inst, os.path.join(inst.dir, "tlsd.conf"),
                           tls_proxy=tsock)
    viatlsd = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c",
                                     tlsd_conf], inst.env())
    with smtplib.SMTP("127.0.0.1", viatlsd.port, timeout=20) as s:
        s.ehlo("client.test")
        s.starttls(context=ctx)
        s.ehlo("client.test")
        tap.eq(pombo.proc_comm(pombo.server_pid(s.sock)), "pombo-tlsd",
               "STARTTLS with pombo-tlsd: tlsd holds the client")
        code, _ = s.docmd("MAIL FROM:<a@client.test>")
        tap.eq(code, 250, "and the session goes on through it")
    viatlsd.stop()

    # AUTH: in a smtpd-full --check-login child when static
    def login(user, password):
        with smtplib.SMTP("127.0.0.1", plain.port, timeout=20) as s:
            s.ehlo("client.test")
            try:
                s.login(user, password)
                return 235
            except smtplib.SMTPAuthenticationError as e:
                return e.smtp_code
    tap.eq(login("yc@example.test", "ypass"), 235,
           "AUTH, a yescrypt ($y$) hash: 235")
    tap.eq(login("bob@example.test", "secret"), 235,
           "AUTH, a SHA-512 ($6$) hash: 235")
    tap.eq(login("bob@example.test", "wrong"), 535,
           "AUTH, a wrong password: 535")
    tap.eq(login("nobody@example.test", "secret"), 535,
           "AUTH, an unknown user: 535")
    log = read_log(smtpd_log)
    tap.ok("authenticated as yc@example.test" in log and
           "auth failed: client=127.0.0.1 user=nobody@example.test" in log,
           "logged by the handler as before", log[-2000:])

    # the check child's protocol, as smtpd drives it
    checker = full if static else pombo.prog("smtpd/smtpd")

    def check(req):
        r = subprocess.run([checker, "--check-login", "-c", inst.conf_path],
                           input=req, capture_output=True, timeout=30)
        return r.stdout
    tap.eq(check(b"\0yc@example.test\0ypass\0"), b"0 yc@example.test\n",
           "--check-login: right password: 0 and the address")
    tap.eq(check(b"\0yc@example.test\0nope\0"), b"1 \n",
           "--check-login: wrong password: 1")
    tap.eq(check(b"bob@example.test\0yc@example.test\0ypass\0"),
           b"3 yc@example.test\n",
           "--check-login: an authzid of someone else: 3")
    tap.eq(check(b"\0yc@example.test\0ypass"), b"2 \n",
           "--check-login: a request without its last NUL: 2, no check")
    tap.eq(check(b"\0yc@example.test\0" + b"p" * 5000 + b"\0"), b"2 \n",
           "--check-login: a request over its bound: 2")

    # --resume as the static smtpd passes it, run directly (every build:
    # the sanitizers see it too): no greeting, STARTTLS answered, then on
    resumer = "smtpd/smtpd-full" if static else "smtpd/smtpd"
    out = inst.smtpd(b"MAIL FROM:<a@client.test>\r\nQUIT\r\n",
                     socket_mode=True, handler=resumer,
                     args=["-c", bad_conf, "--resume=starttls:0:0:0:1",
                           "--resume-helo=client.test"])
    tap.ok(out.startswith(b"454 4.7.0 ") and b"\r\n250 2.1.0" in out and
           b"ESMTP Pombo" not in out,
           "--resume=starttls: no greeting, 454, then MAIL on the HELO "
           "carried", out)
    r = subprocess.run([pombo.prog(resumer), "-c", inst.conf_path,
                        "--resume=starttls:1:2"], input=b"QUIT\r\n",
                       capture_output=True, timeout=30)
    tap.eq((r.returncode, r.stdout), (1, b""),
           "a malformed --resume: nothing said, exit 1")
    r = subprocess.run([pombo.prog(resumer), "-c", inst.conf_path,
                        "--resume=starttls:0:0:0:1", "--resume-helo=a b"],
                       input=b"QUIT\r\n", capture_output=True, timeout=30)
    tap.eq((r.returncode, r.stdout), (1, b""),
           "a --resume-helo that HELO would refuse: exit 1")

    # without smtpd-full: 454 for STARTTLS and AUTH, the session goes on
    if static:
        lone = tempfile.mkdtemp(prefix="pombo-lone-")
        os.chmod(lone, 0o755)
        shutil.copy(pombo.prog("smtpd/smtpd"), os.path.join(lone, "smtpd"))
        alone = pombo.SocketActivated([os.path.join(lone, "smtpd"), "-c",
                                       inst.conf_path], inst.env())
        others.append(alone)
        before = read_log(smtpd_log)
        with smtplib.SMTP("127.0.0.1", alone.port, timeout=20) as s:
            s.ehlo("client.test")
            code, msg = s.docmd("STARTTLS")
            tap.ok(code == 454 and msg.startswith(b"4.7.0"),
                   "no smtpd-full: STARTTLS gets 454 4.7.0", (code, msg))
            code, msg = s.docmd("AUTH",
                                "PLAIN AGJvYkBleGFtcGxlLnRlc3QAc2VjcmV0")
            tap.ok(code == 454 and msg.startswith(b"4.7.0"),
                   "no smtpd-full: AUTH gets 454 4.7.0", (code, msg))
            tap.eq(s.noop()[0], 250, "and the session goes on")
        new = read_log(smtpd_log)[len(before):]
        tap.ok("cannot run %s/smtpd-full" % lone in new,
               "the missing smtpd-full is logged", new)
    else:
        tap.skip("no smtpd-full: STARTTLS and AUTH get 454", "musl off")
finally:
    for p in (plain, implicit, badtls):
        p.stop()
    for o in others:
        if isinstance(o, subprocess.Popen):
            o.terminate()
            o.wait(10)
        else:
            o.stop()
inst.check_clean(tap)
inst.cleanup()
shutil.rmtree(certdir, ignore_errors=True)
tap.done()
