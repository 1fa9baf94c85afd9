"""pombo-tlsd (tls_proxy): the handlers' TLS done by a long-lived proxy.
smtplib STARTTLS delivering a large message byte-exact, with the TLS
version and cipher in Received:, while the smtpd process never loads
libssl and pombo-tlsd holds the client's socket; pop3d STLS with
poplib (RETR byte-exact); implicit TLS for both; input pipelined after
STARTTLS discarded; a flood of NOOPs after it answered to the last
421; a session ticket resumed, also by another worker
process than the one that issued it; a renewed certificate served
without a restart; an unusable certificate answered 454; a peer of
another uid refused; 50 concurrent sessions; and the fallbacks: no
tlsd at the socket, and tlsd killed mid-session (the session ends, the
next one does TLS in-process), a hung one (answered within 2 s);
through a fake handler: a handler's last reply after it exits with
input unread, a 221 after a client's bare FIN, a client that stops
reading dropped (-T drain, timeout without progress), a FIFO as the
certificate refused; tlsd as root only with -U."""
import base64
import os
import poplib
import pwd
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
certdir = tempfile.mkdtemp(prefix="pombo-tlsd-")
ca, cert, key = pombo.make_certs(certdir, ("mx.test",))
TLSD = pombo.prog("tlsd/pombo-tlsd")
# as root, tlsd must be told whom to become (-U): daemon, which may read
# the key
RUNAS = ["-U", "daemon"] if os.geteuid() == 0 else []
if RUNAS:
    os.chown(key, pwd.getpwnam("daemon").pw_uid, -1)
    os.chmod(certdir, 0o711)


class Tlsd:
    """pombo-tlsd -d -s SOCK -w N, its stderr in a file."""

    def __init__(self, workers=1, name="tlsd", args=(), pass_fds=()):
        self.sock = os.path.join(certdir, name + ".sock")
        self.log_path = os.path.join(certdir, name + ".log")
        self.logf = open(self.log_path, "ab")
        self.p = subprocess.Popen([TLSD, "-d", "-s", self.sock, "-w",
                                   str(workers)] + RUNAS + list(args),
                                  stdin=subprocess.DEVNULL,
                                  pass_fds=pass_fds,
                                  stdout=self.logf, stderr=self.logf)
        if not pombo.wait_for(lambda: pombo.accepts(self.sock), 10):
            raise RuntimeError("pombo-tlsd did not start: " + self.log())
        self.workers = workers

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def pids(self):
        """The parent and its workers."""
        out = [self.p.pid]
        try:
            with open("/proc/%d/task/%d/children" % (self.p.pid,
                                                     self.p.pid)) as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
        return out

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logf.close()
        return self.p.returncode


def handlers(sa, name):
    """The handler processes systemd-socket-activate started."""
    try:
        with open("/proc/%d/task/%d/children" % (sa.p.pid, sa.p.pid)) as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        return []
    out = []
    for k in kids:
        try:
            if os.readlink("/proc/%d/exe" % k).endswith("/" + name):
                out.append(k)
        except OSError:
            pass
    return out


def maps_have_libssl(pid):
    """(A handler gone meanwhile had none when it went.)"""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libssl" in f.read()
    except OSError:
        return False


tlsd = Tlsd(workers=2)
inst = pombo.Instance({"tls_cert": cert, "tls_key": key, "login_delay": "0",
                       "hold_deliveries": "no", "tls_proxy": tlsd.sock})
inst.start()
SMTPD = [pombo.prog("smtpd/smtpd"), "-c", inst.conf_path]
POP3D = [pombo.prog("pop3d/pop3d"), "-c", inst.conf_path]
smtp = pombo.SocketActivated(SMTPD, inst.env())
smtps = pombo.SocketActivated(SMTPD + ["--implicit-tls"], inst.env())
pop3 = pombo.SocketActivated(POP3D, inst.env())
pop3s = pombo.SocketActivated(POP3D + ["--implicit-tls"], inst.env())
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
AUTH = ("bob@example.test", "secret")


def raw_starttls(port, junk=b"", session=None, context=ctx):
    """EHLO, STARTTLS (and junk after it), the handshake: the TLS socket
    and the plain reader's last line."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = sock.makefile("rb")
    f.readline()
    sock.sendall(b"EHLO c.test\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    sock.sendall(b"STARTTLS\r\n" + junk)
    ready = f.readline()
    return context.wrap_socket(sock, server_hostname="mx.test",
                               session=session), ready


def reply(tls):
    data = b""
    while not re.search(rb"(^|\n)\d{3} [^\n]*\n$", data):
        chunk = tls.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


try:
    # ---- STARTTLS through tlsd: a large message, byte-exact
    body = b"".join(b"line %06d \xc3\xa9 %s\r\n" % (i, b"x" * (i % 97))
                    for i in range(6000))
    msg = b"Subject: through tlsd\r\n\r\n" + body
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=30) as s:
        s.ehlo("client.test")
        s.starttls(context=ctx)
        s.ehlo("client.test")
        tap.eq(s.sock.version(), "TLSv1.3", "STARTTLS through pombo-tlsd: "
               "TLS 1.3")
        holders = pombo.server_pids(s.sock)
        tap.eq([pombo.proc_comm(h) for h in holders], ["pombo-tlsd"],
               "pombo-tlsd alone holds the client's socket: the handler "
               "let go of its copies")
        hs = handlers(smtp, "smtpd")
        # (the one of the session before may still be exiting)
        tap.ok(hs and not any(maps_have_libssl(h) for h in hs),
               "the smtpd handler has not loaded libssl", hs)
        s.sendmail("alice@client.test", ["bob@example.test"], msg)
    tap.ok(pombo.wait_for(lambda: inst.delivered("bob"), 20),
           "delivered", inst.log()[-1500:])
    got = inst.delivered("bob")[0] if inst.delivered("bob") else b""
    tap.ok(got.endswith(msg.replace(b"\r\n", b"\n")),
           "the message arrived byte-exact (%d octets)" % len(msg),
           got[-300:])
    tap.ok(re.search(rb"with ESMTPS id \w+\n\t\(using TLSv1\.3/TLS_\w+/\d+\)",
                     got) is not None,
           "Received: names the TLS version and cipher", got[:500])
    tap.ok(re.search(r"tls=TLSv1\.3/TLS_\w+/\d+", inst.log()) is not None,
           "queued's log line has tls=")

    # ---- pop3d STLS through tlsd, RETR byte-exact
    p = poplib.POP3("127.0.0.1", pop3.port, timeout=30)
    p.stls(context=ctx)
    tap.eq(pombo.proc_comm(pombo.server_pid(p.sock)), "pombo-tlsd",
           "STLS: pombo-tlsd holds the client's socket")
    hs = handlers(pop3, "pop3d")
    tap.ok(hs and not any(maps_have_libssl(h) for h in hs),
           "the pop3d handler has not loaded libssl", hs)
    p.user(AUTH[0])
    p.pass_(AUTH[1])
    _, lines, _ = p.retr(1)
    tap.eq(b"\n".join(lines) + b"\n", got, "RETR through tlsd, byte-exact")
    p.quit()

    # ---- implicit TLS through tlsd
    with smtplib.SMTP_SSL("127.0.0.1", smtps.port, timeout=20,
                          context=ctx) as s:
        code, _ = s.ehlo("client.test")
        tap.eq(code, 250, "implicit TLS (smtpd): EHLO inside TLS")
        tap.eq(pombo.proc_comm(pombo.server_pid(s.sock)), "pombo-tlsd",
               "implicit TLS (smtpd): through pombo-tlsd")
        s.login(*AUTH)
    p = poplib.POP3_SSL("127.0.0.1", pop3s.port, timeout=20, context=ctx)
    tap.eq(pombo.proc_comm(pombo.server_pid(p.sock)), "pombo-tlsd",
           "implicit TLS (pop3d): through pombo-tlsd")
    p.user(AUTH[0])
    p.pass_(AUTH[1])
    tap.eq(p.stat()[0], 1, "pop3s: the mailbox")
    p.quit()

    # ---- a password passed on leaves nothing in pombo-tlsd, which
    # outlives the session: its buffers and OpenSSL's are cleared
    if os.geteuid() == 0:
        secret = b"ZqTlsdResidue-Pa55word-%d" % os.getpid()
        token = base64.b64encode(b"\0bob@example.test\0" + secret)
        tls, _ = raw_starttls(smtp.port)
        tls.sendall(b"EHLO c.test\r\n")
        reply(tls)
        tls.sendall(b"AUTH PLAIN " + token + b"\r\n")
        r = reply(tls)
        tap.ok(r.startswith(b"535"), "AUTH through tlsd: 535", r)
        mem = b"".join(pombo.writable_memory(p) for p in tlsd.pids())
        tap.ok(len(mem) > 65536 and secret not in mem and token not in mem,
               "with the session open, pombo-tlsd holds neither the "
               "password nor its AUTH line (%d KB read)" % (len(mem) // 1024))
        tls.sendall(b"QUIT\r\n")
        reply(tls)
        tls.close()

    # ---- RFC 3207: what is pipelined after STARTTLS is not run
    tls, ready = raw_starttls(smtp.port,
                              junk=b"MAIL FROM:<injected@evil.test>\r\n")
    tap.ok(ready.startswith(b"220 2.0.0"), "220 to STARTTLS")
    tls.sendall(b"RCPT TO:<bob@example.test>\r\n")
    r = reply(tls)
    tap.ok(r.startswith(b"503 5.5.1"), "the injected MAIL was never run "
           "(RCPT after TLS: 503)", r)
    tls.sendall(b"QUIT\r\n")
    tls.close()

    # ---- a flood of NOOPs after TLS: smtpd's replies, and its 421 when it
    # gives up with input unread, all reach the client
    tls, _ = raw_starttls(smtp.port)
    tls.sendall(b"NOOP\r\n" * 5000)
    data = b""
    try:
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
    except (OSError, ssl.SSLError):
        pass
    tls.close()
    tap.ok(data.count(b"250 ") >= 10 and
           re.search(rb"\n421 [^\n]*\n$", data) is not None,
           "NOOPs pipelined after STARTTLS: smtpd's replies and its last "
           "421 reach the client (%d replies)" % data.count(b"\n"),
           data[-200:])

    # ---- resumption, by another worker than the one that issued it
    tls, _ = raw_starttls(smtp.port)
    tls.sendall(b"EHLO c.test\r\n")
    reply(tls)
    first = pombo.server_pid(tls)
    sess = tls.session
    tls.sendall(b"QUIT\r\n")
    reply(tls)
    tls.close()
    tls, _ = raw_starttls(smtp.port, session=sess)
    tap.ok(tls.session_reused, "a session ticket is resumed")
    tls.sendall(b"QUIT\r\n")
    reply(tls)
    tls.close()
    # the worker that issued it goes; the parent starts another
    workers = tlsd.pids()[1:]
    tap.ok(first in workers and len(workers) == 2, "two workers", workers)
    os.kill(first, signal.SIGKILL)
    pombo.wait_for(lambda: len(tlsd.pids()) == 3 and
                   first not in tlsd.pids(), 10)
    tls, _ = raw_starttls(smtp.port, session=sess)
    # the handler lets go of its copy once tlsd said OK: a moment after
    pombo.wait_for(lambda: pombo.server_pid(tls) is not None, 5)
    other = pombo.server_pid(tls)
    tap.ok(other is not None and other != first and other in tlsd.pids(),
           "served by another worker process", (first, other))
    tap.ok(tls.session_reused, "which resumes the first worker's ticket")
    tls.sendall(b"QUIT\r\n")
    reply(tls)
    tls.close()

    # ---- 50 concurrent sessions
    results = []
    before = len(inst.delivered("bob"))

    def one(i):
        try:
            with smtplib.SMTP("127.0.0.1", smtp.port, timeout=60) as s:
                s.ehlo("client.test")
                s.starttls(context=ctx)
                s.ehlo("client.test")
                s.sendmail("a@client.test", ["bob@example.test"],
                           "Subject: %d\r\n\r\nconcurrent %d\r\n" % (i, i))
            results.append(True)
        except Exception as e:   # noqa: BLE001 - counted and shown
            results.append(repr(e))
    log0 = len(tlsd.log())
    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    tap.eq(results.count(True), 50, "50 concurrent STARTTLS sessions",)
    tap.ok(pombo.wait_for(lambda: len(inst.delivered("bob")) - before == 50,
                          60), "and 50 messages delivered")
    # a handler waits 2 s for tlsd's first answer, then does its TLS
    # itself: on a loaded machine (a sanitizer build) a few may
    done = len(re.findall(r"TLS TLSv1\.3", tlsd.log()[log0:]))
    tap.ok(45 <= done <= 50, "the 50 handshakes done by pombo-tlsd (a few "
           "in-process if it was slow to answer)", done)

    # ---- a renewed certificate, no restart
    ca2, cert2, key2 = pombo.make_certs(tempfile.mkdtemp(dir=certdir),
                                        ("mx.test",), "Renewed CA")
    shutil.copy(cert2, cert)
    shutil.copy(key2, key)
    ctx2 = ssl.create_default_context(cafile=ca2)
    ctx2.check_hostname = False
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=20) as s:
        s.ehlo("client.test")
        s.starttls(context=ctx2)
        tap.eq(pombo.proc_comm(pombo.server_pid(s.sock)), "pombo-tlsd",
               "the renewed certificate is served by pombo-tlsd, no "
               "restart")
    tap.ok("reloaded %s" % cert in tlsd.log(), "tlsd says it reloaded it")

    # ---- a certificate that cannot be loaded: 454, on in the clear
    inst.set_conf(tls_cert=os.path.join(certdir, "missing.pem"))
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=20) as s:
        s.ehlo("client.test")
        code, text = s.docmd("STARTTLS")
        tap.eq(code, 454, "an unusable certificate: 454")
        code, _ = s.docmd("NOOP")
        tap.eq(code, 250, "the session goes on in the clear")
        h = pombo.server_pid(s.sock)
        tap.ok(pombo.proc_comm(h) == "smtpd" and not maps_have_libssl(h),
               "tlsd said so: the handler never loaded libssl", h)
    tap.ok("missing.pem" in tlsd.log(), "tlsd logs why")
    inst.set_conf(tls_cert=cert)

    # ---- a handler's bad requests: ERR, and the connection closed
    def ask(line, fds=None):
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(10)
        c.connect(tlsd.sock)
        try:
            c.sendall(line)
            got = b""
            while not got.endswith(b"\n"):
                chunk = c.recv(200)
                if not chunk:
                    break
                got += chunk
            if fds is not None and got == b"OK\n":
                socket.send_fds(c, [b"F"], fds)
                got = c.recv(200)
            c.settimeout(5)
            closed = c.recv(10) == b""
        except OSError as e:
            return repr(e).encode(), False
        finally:
            c.close()
        return got, closed
    tap.eq(ask(b"HELLO\n"), (b"ERR not a TLSPROXY 1 request\n", True),
           "tlsd: a line that is no request: ERR, closed")
    tap.eq(ask(b"TLSPROXY 1 1 10000 x " + b"/" * 9000 + b"\n"),
           (b"ERR request too long\n", True),
           "tlsd: a request too long: ERR, closed")
    got, closed = ask(b"TLSPROXY 1 1 10000 x %s %s\n" % (cert.encode(),
                                                         cert.encode()))
    tap.ok(got.startswith(b"NOCERT ") and closed,
           "tlsd: a certificate for a key: NOCERT, closed", got)
    rd, wr = os.pipe()
    got, closed = ask(b"TLSPROXY 1 1 10000 x %s %s\n" % (
        cert.encode(), key.encode()), fds=[rd])
    os.close(rd)
    os.close(wr)
    tap.eq((got, closed), (b"ERR one socket expected\n", True),
           "tlsd: a pipe passed instead of a socket: ERR, closed")

    # ---- a peer of another uid is refused
    if os.geteuid() != 0:
        tap.skip("a peer of another uid is refused", "not root")
    else:
        nobody = pwd.getpwnam("nobody").pw_uid
        os.chmod(tlsd.sock, 0o666)
        os.chmod(certdir, 0o711)     # the key stays 0600
        rd, wr = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rd)
            try:
                os.setgid(65534)
                os.setuid(nobody)
                c = socket.socket(socket.AF_UNIX)
                c.settimeout(10)
                c.connect(tlsd.sock)
                try:
                    c.sendall(b"TLSPROXY 1 1 10000 x %s %s\n" % (
                        cert.encode(), key.encode()))
                    got_back = c.recv(100)
                except (BrokenPipeError, ConnectionResetError):
                    got_back = b""
                os.write(wr, b"got:" + got_back)
            except Exception as e:   # noqa: BLE001 - reported to the parent
                os.write(wr, repr(e).encode())
            os._exit(0)
        os.close(wr)
        os.waitpid(pid, 0)
        got_other = os.read(rd, 200)
        os.close(rd)
        tap.eq(got_other, b"got:",
               "a peer of uid nobody gets nothing (closed)")
        tap.ok("refused a connection from uid %d" % nobody in tlsd.log(),
               "and is logged")
        os.chmod(tlsd.sock, 0o660)
finally:
    for sa in (smtp, smtps, pop3, pop3s):
        sa.stop()
    tap.eq(tlsd.stop(), 0, "tlsd (two workers) stops on SIGTERM")
    report = pombo.sanitizer_report(tlsd.log())
    tap.ok(report is None, "no sanitizer report from tlsd", report)
    inst.check_clean(tap)
    inst.cleanup()

# ---- fallbacks: no tlsd at the socket; tlsd killed mid-session
# tickets for 3 s: the key before still resumes, the one before that no
tlsd = Tlsd(workers=1, name="tlsd1", args=["-t", "3"])
tlsd_up = time.monotonic()
inst = pombo.Instance({"tls_cert": cert, "tls_key": key,
                       "tls_proxy": os.path.join(certdir, "absent.sock")})
inst.start()
smtp = pombo.SocketActivated([pombo.prog("smtpd/smtpd"), "-c",
                              inst.conf_path], inst.env())
try:
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=20) as s:
        s.ehlo("client.test")
        s.starttls(context=ctx2)
        s.ehlo("client.test")
        tap.eq(pombo.proc_comm(pombo.server_pid(s.sock)), pombo.smtpd_tls_comm(),
               "no tlsd at tls_proxy: TLS in the handler")
        s.sendmail("a@client.test", ["bob@example.test"], "x\r\n")
        tap.ok(True, "and the session works")

    inst.set_conf(tls_proxy=tlsd.sock)

    def resumed(session=None):
        t, _ = raw_starttls(smtp.port, context=ctx2, session=session)
        t.sendall(b"EHLO c.test\r\n")
        reply(t)
        out = (t.session, t.session_reused)
        t.sendall(b"QUIT\r\n")
        reply(t)
        t.close()
        return out
    # a key's age is whole seconds since it was made (tlsd/ticket.c), a
    # new one made only when a ticket is due: the first key dates from
    # tlsd's start. A first ticket within a lifetime of it is of a key
    # up to a lifetime and a second older, which the wait below could
    # take past two lifetimes (a start of 0.7 s was enough with -t 2).
    # Two seconds past a lifetime, the first ticket makes a new key: the
    # waits count from it
    time.sleep(max(0, tlsd_up + 3 + 2 - time.monotonic()))
    sess, _ = resumed()
    tap.ok(resumed(sess)[1], "tickets: resumed at once")
    # at least one lifetime on, less than two (1.5 s left for the sessions)
    time.sleep(3.5)
    tap.ok(resumed(sess)[1], "resumed with the key before, after the key "
           "changed (-t 3)")
    time.sleep(4.5)
    tap.ok(not resumed(sess)[1], "not with a key two lifetimes old")

    # an smtp_timeout over tlsd's hour: capped, tlsd still used
    inst.set_conf(smtp_timeout="2h")
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=20) as s:
        s.ehlo("client.test")
        s.starttls(context=ctx2)
        tap.eq(pombo.proc_comm(pombo.server_pid(s.sock)), "pombo-tlsd",
               "smtp_timeout = 2h: the handshake still through pombo-tlsd")
    inst.set_conf(smtp_timeout=None)

    # a hung tlsd (stopped): STARTTLS answered within 2 s, TLS in-process
    os.kill(tlsd.p.pid, signal.SIGSTOP)
    try:
        with smtplib.SMTP("127.0.0.1", smtp.port, timeout=20) as s:
            s.ehlo("client.test")
            t0 = time.time()
            s.starttls(context=ctx2)
            took = time.time() - t0
            s.ehlo("client.test")
            tap.ok(took < 4 and pombo.proc_comm(pombo.server_pid(s.sock)) ==
                   pombo.smtpd_tls_comm(), "a stopped pombo-tlsd: "
                   "STARTTLS answered within 2 s, TLS in the handler", took)
    finally:
        os.kill(tlsd.p.pid, signal.SIGCONT)

    tls, _ = raw_starttls(smtp.port, context=ctx2)
    tls.sendall(b"EHLO c.test\r\n")
    tap.ok(reply(tls).startswith(b"250"), "a session through tlsd")
    hs = handlers(smtp, "smtpd")
    tlsd.p.kill()
    tlsd.p.wait()
    t0 = time.time()
    tls.settimeout(15)
    ended = False
    try:
        tls.sendall(b"NOOP\r\n")
        ended = tls.recv(100) == b""
    except (OSError, ssl.SSLError):
        ended = True
    tap.ok(ended and time.time() - t0 < 10, "tlsd killed: the client's "
           "connection ends", time.time() - t0)
    tap.ok(pombo.wait_for(lambda: not any(os.path.exists("/proc/%d" % h)
                                          for h in hs), 10),
           "and the handler exits", hs)
    tls.close()
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=20) as s:
        s.ehlo("client.test")
        s.starttls(context=ctx2)
        s.ehlo("client.test")
        tap.eq(pombo.proc_comm(pombo.server_pid(s.sock)), pombo.smtpd_tls_comm(),
               "the next session does TLS in the handler")
    # socket activation: LISTEN_PID and LISTEN_FDS, as systemd passes them
    act_sock = os.path.join(certdir, "activated.sock")
    act_log = open(os.path.join(certdir, "activated.log"), "wb")
    act = subprocess.Popen(["systemd-socket-activate", "-l", act_sock, TLSD,
                            "-d"] + RUNAS, stdin=subprocess.DEVNULL, stdout=act_log,
                           stderr=act_log)
    try:
        # the probe's connection makes it exec pombo-tlsd with the socket
        tap.ok(pombo.wait_for(lambda: pombo.accepts(act_sock), 10),
               "socket-activated pombo-tlsd")
        inst.set_conf(tls_proxy=act_sock)
        with smtplib.SMTP("127.0.0.1", smtp.port, timeout=20) as s:
            s.ehlo("client.test")
            s.starttls(context=ctx2)
            s.ehlo("client.test")
            tap.eq(pombo.proc_comm(pombo.server_pid(s.sock)), "pombo-tlsd",
                   "its sessions go through it")
    finally:
        act.terminate()
        act.wait(10)
        act_log.close()
    # ---- the handler's last words, through a fake handler (-T 2: drain)
    drainer = Tlsd(workers=1, name="tlsd3", args=["-T", "2"])
    anyc = ssl.create_default_context()
    anyc.check_hostname = False
    anyc.verify_mode = ssl.CERT_NONE

    def hline(h):
        got = b""
        while not got.endswith(b"\n"):
            chunk = h.recv(1)
            if not chunk:
                break
            got += chunk
        return got

    def proxied(timeout_ms=5000, c=cert, k=key):
        """A handler's connection to tlsd and the TLS client it serves."""
        h = socket.socket(socket.AF_UNIX)
        h.settimeout(10)
        h.connect(drainer.sock)
        h.sendall(b"TLSPROXY 1 0 %d test %s %s\n" % (
            timeout_ms, c.encode(), k.encode()))
        assert hline(h) == b"OK\n"
        lst = socket.create_server(("127.0.0.1", 0))
        c = socket.create_connection(lst.getsockname(), timeout=10)
        srv, _ = lst.accept()
        lst.close()
        socket.send_fds(h, [b"F"], [srv.fileno()])
        srv.close()
        tc = anyc.wrap_socket(c, suppress_ragged_eofs=False)
        assert hline(h).startswith(b"OK TLS")
        return h, tc

    def rest(tc):
        """All the client gets, and whether it ended with close_notify."""
        data = b""
        try:
            while True:
                chunk = tc.recv(4096)
                if not chunk:
                    return data, True
                data += chunk
        except (OSError, ssl.SSLError):
            return data, False

    # a FIFO named as the certificate: refused, the worker not blocked
    fifo = os.path.join(certdir, "fifo.pem")
    os.mkfifo(fifo)
    h = socket.socket(socket.AF_UNIX)
    h.settimeout(5)
    h.connect(drainer.sock)
    h.sendall(b"TLSPROXY 1 0 5000 test %s %s\n" % (fifo.encode(),
                                                    key.encode()))
    try:
        got = hline(h)
    except OSError as e:
        got = repr(e).encode()
    h.close()
    try:   # a blocked reader (the old code) is let go
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass
    tap.ok(got.startswith(b"NOCERT ") and b"not a regular file" in got,
           "a FIFO named as the certificate: NOCERT at once", got)
    # symbolic links (certbot's live/) are followed
    os.symlink(cert, os.path.join(certdir, "live-cert.pem"))
    os.symlink(key, os.path.join(certdir, "live-key.pem"))
    h, tc = proxied(c=os.path.join(certdir, "live-cert.pem"),
                    k=os.path.join(certdir, "live-key.pem"))
    tap.ok(tc.version() is not None, "a certificate and key through "
           "symbolic links are served")
    h.close()
    tc.close()

    h, tc = proxied()
    tc.sendall(b"NOOP\r\nNOOP\r\n")
    got = b""
    while len(got) < 12:
        got += h.recv(12 - len(got))
    h.recv(0)
    h.sendall(b"250 ok\r\n")
    time.sleep(0.3)
    tc.sendall(b"NOOP\r\n")   # the handler will never read it
    time.sleep(0.3)
    h.sendall(b"421 4.7.0 closing\r\n")
    h.close()
    tap.eq(rest(tc), (b"250 ok\r\n421 4.7.0 closing\r\n", True),
           "a handler that exits with input unread: its last reply still "
           "reaches the client, then close_notify")
    tc.close()

    h, tc = proxied()
    tc.sendall(b"QUIT\r\n")
    socket.socket(fileno=os.dup(tc.fileno())).shutdown(socket.SHUT_WR)
    got = b""
    while True:
        chunk = h.recv(100)
        if not chunk:
            break
        got += chunk
    h.sendall(b"221 2.0.0 bye\r\n")
    h.close()
    data, _ = rest(tc)
    tap.eq((got, data), (b"QUIT\r\n", b"221 2.0.0 bye\r\n"),
           "a client's FIN without close_notify: the handler reads EOF, "
           "and its 221 still reaches the client")
    tc.close()

    def stuff(h, seconds):
        """Write until the client's unread data fills every buffer."""
        h.setblocking(False)
        t0 = time.time()
        while time.time() - t0 < seconds:
            try:
                h.send(b"x" * 65536)
            except BlockingIOError:
                time.sleep(0.05)
        h.settimeout(10)
    log0 = len(drainer.log())
    h, tc = proxied(timeout_ms=60000)
    stuff(h, 1)
    h.close()
    tap.ok(pombo.wait_for(lambda: "took no more after the handler closed"
                          in drainer.log()[log0:], 8),
           "a client that stops reading after its handler exited is "
           "dropped after the drain (-T 2)", drainer.log()[log0:])
    tc.close()
    log0 = len(drainer.log())
    h, tc = proxied(timeout_ms=2000)
    stuff(h, 1)
    tap.ok(pombo.wait_for(lambda: "took no more of the handler's output"
                          in drainer.log()[log0:], 8),
           "a client that takes nothing of the output for timeout_ms is "
           "dropped, the handler still there", drainer.log()[log0:])
    try:
        while h.recv(65536):
            pass
        ended = True
    except socket.timeout:   # an OSError too: first
        ended = False
    except OSError:
        ended = True
    tap.ok(ended, "and its handler sees the end")
    h.close()
    tc.close()
    tap.eq(drainer.stop(), 0, "that tlsd stops on SIGTERM")
    tap.ok(pombo.sanitizer_report(drainer.log()) is None,
           "no sanitizer report from it")
    # a number option out of range names itself and its range
    r = subprocess.run([TLSD, "-T", "0", "-s",
                        os.path.join(certdir, "range.sock")],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=10)
    tap.ok(r.returncode == 64 and
           b"-T 0: not a number from 1 to 3600" in r.stderr,
           "-T 0: usage error that says why", (r.returncode, r.stderr))
    # privileges: as root, -U or no start; -U's user, groups and all;
    # descriptors it inherited closed
    if not RUNAS:
        tap.skip("pombo-tlsd as root without -U", "not root")
    else:
        r = subprocess.run([TLSD, "-s", os.path.join(certdir, "root.sock")],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=10)
        tap.ok(r.returncode == 78 and b"-U" in r.stderr and
               not os.path.exists(os.path.join(certdir, "root.sock")),
               "as root without -U: refused (78), no socket",
               (r.returncode, r.stderr))
    rd, wr = os.pipe()
    one_worker = Tlsd(workers=2, name="tlsd2", pass_fds=[wr])
    # its socket accepts before it forks the workers (tlsd/main.c):
    # they are waited for, not a guess of how long that takes
    pombo.wait_for(lambda: len(one_worker.pids()) == 3, 10)
    ids = []
    for pid in one_worker.pids():
        with open("/proc/%d/status" % pid) as f:
            st = dict(ln.split(":", 1) for ln in f if ":" in ln)
        ids.append((st["Uid"].split(), st["Gid"].split(),
                    st["Groups"].split()))
    if RUNAS:
        d = pwd.getpwnam("daemon")
        tap.ok(len(ids) == 3 and all(
            u == [str(d.pw_uid)] * 4 and g == [str(d.pw_gid)] * 4 and
            "0" not in grp for u, g, grp in ids),
            "-U daemon: the parent and its workers run as daemon, no root "
            "group", ids)
        tap.eq(os.stat(one_worker.sock).st_uid, d.pw_uid,
               "its socket is daemon's")
    wrpath = os.readlink("/proc/self/fd/%d" % wr)
    tap.ok(not any(wrpath == os.readlink("/proc/%d/fd/%s" % (
        one_worker.p.pid, f)) for f in os.listdir(
            "/proc/%d/fd" % one_worker.p.pid)),
        "a descriptor it inherited is closed")
    os.close(rd)
    os.close(wr)
    inst.set_conf(tls_proxy=one_worker.sock)
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=20) as s:
        s.ehlo("client.test")
        s.starttls(context=ctx2)
        s.ehlo("client.test")
        tap.eq(pombo.proc_comm(pombo.server_pid(s.sock)), "pombo-tlsd",
               "and it serves, reading the key as daemon")
    tap.eq(one_worker.stop(), 0, "a tlsd as daemon stops on SIGTERM "
           "with 0")
    tap.ok(pombo.sanitizer_report(one_worker.log()) is None,
           "no sanitizer report from it")
finally:
    smtp.stop()
    tlsd.stop()
    inst.check_clean(tap)
    inst.cleanup()
    shutil.rmtree(certdir, ignore_errors=True)
tap.done()
