"""Test helpers: a throwaway Pombo instance (config, spool, queued) and TAP.

Used by the session runner and the integration tests. Everything binds
127.0.0.1 or a Unix socket in a temporary folder; every wait is bounded.
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

TOP_BUILDDIR = os.environ.get("top_builddir") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
TOP_SRCDIR = os.environ.get("top_srcdir") or TOP_BUILDDIR


def prog(path):
    """A program of the build tree, like 'smtpd/smtpd'."""
    return os.path.join(TOP_BUILDDIR, path)


def elf_dynamic(path):
    """Does the ELF program ask for an interpreter (a PT_INTERP header)?"""
    with open(path, "rb") as f:
        data = f.read(65536)
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return any(struct.unpack_from("<I", data, phoff + i * phentsize)[0] == 3
               for i in range(phnum))


def smtpd_static():
    """True when smtpd/smtpd is linked statically with musl (configure's
    default with musl-gcc): it execs smtpd/smtpd-full, beside it, for TLS
    in the handler and runs it for each password check."""
    return not elf_dynamic(prog("smtpd/smtpd"))


def proc_comm(pid):
    """The name of process pid (/proc/PID/comm), or None once it is gone."""
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except (OSError, TypeError):
        return None


def writable_memory(pid):
    """Every writable mapping's octets of process pid (heap, stack, data,
    anonymous; root may read any process's): where a secret it should
    have cleared would be. b"" once it is gone."""
    out = []
    try:
        with open("/proc/%d/maps" % pid) as maps, \
                open("/proc/%d/mem" % pid, "rb", 0) as mem:
            for line in maps:
                fields = line.split()
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                # a sanitizer's shadow memory is terabytes of nothing
                if "w" not in fields[1] or hi - lo > 256 << 20 or (
                        len(fields) > 5 and fields[5] == "[vvar]"):
                    continue
                try:
                    mem.seek(lo)
                    out.append(mem.read(hi - lo))
                except OSError:
                    pass
    except OSError:
        pass
    return b"".join(out)


def yescrypt(password):
    """A yescrypt hash ($y$, Debian's default) at libxcrypt's default cost
    (~15 ms), as mkpasswd makes it."""
    import ctypes
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong,
                                  ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    setting = lib.crypt_gensalt(b"$y$", 0, None, 0)
    return lib.crypt(password.encode(), setting).decode()


def smtpd_tls_comm():
    """The name of smtpd's process once it does TLS itself."""
    return "smtpd-full" if smtpd_static() else "smtpd"


class Tap:
    """TAP producer: one 'ok'/'not ok' line per check, plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name))
        if not cond and diag:
            for line in str(diag).splitlines()[:60]:
                print("# " + line)
        sys.stdout.flush()
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, "got:  %r\nwant: %r" % (got, want))

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why))

    def done(self):
        print("1..%d" % self.n)
        sys.exit(1 if self.failed else 0)


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "AddressSanitizer:DEADLYSIGNAL")


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC32C = _crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli) of data, as the queue file's "sum" line has it."""
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def sanitizer_report(text):
    """The first sanitizer report in a log, or None."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    for mark in SANITIZER_MARKS:
        i = text.find(mark)
        if i >= 0:
            return text[max(0, i - 200):i + 3000]
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def accepts(path):
    """Does something accept connections on the Unix socket at path?"""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
        return True
    except OSError:
        return False


def wait_for(cond, timeout=10.0, step=0.01):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def server_pids(sock):
    """The processes holding the server end of sock, a TCP connection on
    loopback (found by the socket's inode in /proc/net/tcp): the
    handler, or pombo-tlsd once the handler passed it the socket.
    (Scanning for the handler by name could find another one, such as
    the handler a readiness probe spawned, still starting as root.)"""
    here, there = sock.getsockname()[1], sock.getpeername()[1]
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for row in (line.split() for line in f.readlines()[1:]):
                if int(row[1].split(":")[1], 16) == there and \
                        int(row[2].split(":")[1], 16) == here:
                    inode = row[9]
    if inode is None:
        return []
    target = "socket:[%s]" % inode
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
            if any(os.readlink("/proc/%s/fd/%s" % (pid, fd)) == target
                   for fd in fds):
                pids.append(int(pid))
        except OSError:
            continue
    return pids


def server_pid(sock):
    """The one process holding the server end of sock (server_pids),
    or None. Two hold it for a moment while a handler hands it to
    pombo-tlsd: that moment is waited out (5 s at most)."""
    end = time.time() + 5
    pids = server_pids(sock)
    while len(pids) > 1 and time.time() < end:
        time.sleep(0.01)
        pids = server_pids(sock)
    return pids[0] if len(pids) == 1 else None


def server_uids(sock):
    """Real, effective, saved and fs uid of the process serving the
    client end sock of a TCP connection on loopback (server_pid)."""
    pid = server_pid(sock)
    if pid is None:
        return None
    try:
        with open("/proc/%d/status" % pid) as st:
            for line in st:
                if line.startswith("Uid:"):
                    return [int(x) for x in line.split()[1:]]
    except OSError:
        pass
    return None


def libexec_links(folder):
    """A libexec_dir for a test instance: links to the build's agents and
    smtpd, laid out as `make install` puts them."""
    os.makedirs(folder, exist_ok=True)
    for path in ("queued/pombo-local", "queued/pombo-remote", "smtpd/smtpd",
                 "queued/pombo-dkim", "queued/pombo-verify"):
        link = os.path.join(folder, os.path.basename(path))
        if not os.path.lexists(link):
            os.symlink(prog(path), link)
    return folder


class Instance:
    """A config, spool and mail root in a temp folder, and its queued."""

    # one password for every default user: "secret" (openssl passwd -6)
    USERS = ["bob", "alice", "carol", "dave", "b", "one", "two", "three",
             "four", "victim"] + ["r%d" % i for i in range(200)]
    _hash = None

    @classmethod
    def password_hash(cls):
        if cls._hash is None:
            cls._hash = subprocess.run(
                ["openssl", "passwd", "-6", "-salt", "pombotest", "secret"],
                capture_output=True, text=True, check=True).stdout.strip()
        return cls._hash

    def __init__(self, conf=None, name="pombo", users=None):
        self.dir = tempfile.mkdtemp(prefix=name + "-")
        self.spool = os.path.join(self.dir, "spool")
        self.mail = os.path.join(self.dir, "mail")
        self.sock = os.path.join(self.dir, "queue.sock")
        self.conf_path = os.path.join(self.dir, "pombo.conf")
        self.log_path = os.path.join(self.dir, "queued.log")
        self.queued = None
        settings = {
            "hostname": "mx.test",
            "local_domains": "example.test",
            "relay_networks": "127.0.0.0/8",
            "spool_dir": self.spool,
            "mail_root": self.mail,
            "users_file": os.path.join(self.dir, "users"),
            "aliases_file": os.path.join(self.dir, "aliases"),
            "queue_socket": self.sock,
            "libexec_dir": libexec_links(os.path.join(self.dir, "libexec")),
            "min_free_space": "1M",
            # acceptance tests look at the queue: deliver nothing unless
            # a test turns it on
            "hold_deliveries": "yes",
            # the checks of arriving mail look things up in the DNS:
            # only the tests of them turn them on
            "inbound_auth": "no",
            # tls_proxy's default is this build's runstatedir: a
            # pombo-tlsd installed on this machine must not take the
            # tests' sessions; the tests of it name their own socket
            "tls_proxy": "",
        }
        settings.update(conf or {})
        self.settings = settings
        self.set_conf()
        if users is None:
            users = ["%s@example.test" % u for u in self.USERS]
        with open(os.path.join(self.dir, "users"), "w") as f:
            for u in users:
                f.write("%s:%s\n" % (u, self.password_hash()))
        open(os.path.join(self.dir, "aliases"), "w").close()

    def set_conf(self, **changes):
        """Write pombo.conf: the settings, with these changes (queued
        reads it at its next start)."""
        self.settings.update(changes)
        with open(self.conf_path, "w") as f:
            for k, v in self.settings.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, v))

    def env(self):
        e = dict(os.environ)
        e["POMBO_CONF"] = self.conf_path
        return e

    def start(self, extra_args=(), wrapper=()):
        self.log_start = len(self.log())
        self.logf = open(self.log_path, "ab")
        self.queued = subprocess.Popen(
            list(wrapper) + [prog("queued/queued"), "-d", "-c",
                             self.conf_path] + list(extra_args),
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=self.logf)
        if not wait_for(self.ready, 10):
            raise RuntimeError("queued did not start: " + self.log())
        # the queue loads after READY: wait until it has (bounded)
        wait_for(lambda: "queue loaded" in self.log()[self.log_start:], 30)
        return self

    def ready(self):
        if self.queued is not None and self.queued.poll() is not None:
            raise RuntimeError("queued exited: " + self.log())
        return accepts(self.sock)

    def handler_errors(self):
        """What the handlers wrote to stderr (nothing, if all is well)."""
        try:
            with open(os.path.join(self.dir, "handler.err"), "rb") as f:
                return f.read()
        except OSError:
            return b""

    def check_clean(self, tap):
        """TAP checks: no sanitizer report anywhere, queued stops with 0."""
        running = self.queued is not None
        status = self.stop()
        if running:
            tap.eq(status, 0, "queued stopped cleanly on SIGTERM")
        report = sanitizer_report(self.log()) or \
            sanitizer_report(self.handler_errors())
        tap.ok(report is None, "no sanitizer report", report)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def queued_pids(self):
        """The queued processes of this instance (under a wrapper too)."""
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"queued/queued") and \
                    self.conf_path.encode() in argv:
                pids.append(int(d))
        return pids

    def kill(self, sig=signal.SIGKILL):
        """Signal queued itself (not a wrapper like strace) and reap."""
        if self.queued is None:
            return
        for pid in self.queued_pids() or [self.queued.pid]:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        try:
            self.queued.wait(10)
        except subprocess.TimeoutExpired:
            self.queued.kill()
            self.queued.wait()
        for pid in self.queued_pids():
            os.kill(pid, signal.SIGKILL)
        self.queued = None

    def stop(self):
        """SIGTERM; returns queued's exit status (None if not running)."""
        if self.queued is None:
            return None
        p = self.queued
        self.kill(signal.SIGTERM)
        return p.returncode

    def cleanup(self):
        self.stop()
        for pid in self.queued_pids():    # started by another launcher
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def delivered(self, user, domain="example.test"):
        """The messages in a user's Maildir/new, oldest name first."""
        d = os.path.join(self.mail, domain, user, "new")
        out = []
        for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            with open(os.path.join(d, n), "rb") as f:
                out.append(f.read())
        return out

    def tls_reports_now(self):
        """pombo-queue tls-reports: the TLS reports (RFC 8460) of the
        sessions counted so far, queued now rather than after midnight."""
        return subprocess.run([prog("queued/pombo-queue"), "-c",
                               self.conf_path, "tls-reports"],
                              capture_output=True, text=True, timeout=30)

    def tls_reports(self, user, domain="example.test"):
        """The TLS reports in a user's Maildir: (message, its
        application/tlsrpt+gzip part, the JSON gunzipped and parsed) for
        each."""
        import email
        import email.policy
        import gzip
        import json
        out = []
        for raw in self.delivered(user, domain):
            m = email.message_from_bytes(raw, policy=email.policy.default)
            part = next((x for x in m.walk() if x.get_content_type() ==
                         "application/tlsrpt+gzip"), None)
            if part is not None:
                out.append((m, part, json.loads(gzip.decompress(
                    part.get_payload(decode=True)))))
        return out

    def queue_files(self):
        d = os.path.join(self.spool, "queue")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def incoming_files(self):
        d = os.path.join(self.spool, "incoming")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def queue_file(self, qid):
        with open(os.path.join(self.spool, "queue", qid), "rb") as f:
            return f.read()

    def sum_matches(self, qid):
        """Does the queue file's "sum" line hold its message's CRC-32C?
        (ok, what was found, for a test's diagnostics)"""
        import re
        head, msg = self.queue_file(qid).split(b"\ndata\n", 1)
        m = re.search(rb"\nsum crc32c:([0-9a-f]{8})\nlength \d+$", head)
        want = "%08x" % crc32c(msg)
        return (m is not None and m.group(1).decode() == want,
                "header %r, data's crc32c %s" % (head[-60:], want))

    def message(self, qid):
        """The message part of a queue file, without smtpd's Received:."""
        data = self.queue_file(qid)
        body = data.split(b"\ndata\n", 1)[1]
        # smtpd's own trace header: 'Received:' plus folded lines
        lines = body.split(b"\n")
        assert lines[0].startswith(b"Received: ")
        i = 1
        while i < len(lines) and lines[i][:1] in (b"\t", b" "):
            i += 1
        return b"\n".join(lines[i:])

    def send_one(self, rcpt, body, sender=b"alice@example.test"):
        """One message through smtpd on a pipe: its queue id, or None."""
        out = self.smtpd(b"EHLO c.test\nMAIL FROM:<" + sender + b">\n"
                         b"RCPT TO:<" + rcpt + b">\nDATA\n" + body +
                         b"\n.\nQUIT\n")
        m = re.search(rb"queued as (\w+)", out)
        return m.group(1).decode() if m else None

    def queue_tool(self, *args):
        """pombo-queue -c this instance's config ARGS, its output kept."""
        return subprocess.run([prog("queued/pombo-queue"), "-c",
                               self.conf_path] + list(args),
                              capture_output=True, timeout=30)

    def smtpd(self, data, socket_mode=False, args=(), timeout=30,
              keep_open=False, env=None, handler="smtpd/smtpd"):
        """Run a handler over a pipe (or a socketpair); returns its output."""
        cmd = [prog(handler), "-c", self.conf_path] + list(args)
        penv = dict(os.environ)
        penv.update(env or {})
        errf = open(os.path.join(self.dir, "handler.err"), "ab")
        if not socket_mode:
            p = subprocess.Popen(cmd, stdin=subprocess.PIPE, env=penv,
                                 stdout=subprocess.PIPE, stderr=errf)
            if keep_open:
                p.stdin.write(data)
                p.stdin.flush()
                out = p.stdout.read()
                p.stdin.close()
                p.wait(timeout)
                return out
            out, _ = p.communicate(data, timeout=timeout)
            return out
        a, b = socket.socketpair()
        p = subprocess.Popen(cmd, stdin=b.fileno(), stdout=b.fileno(),
                             stderr=errf, env=penv)
        b.close()
        a.sendall(data)
        if not keep_open:
            a.shutdown(socket.SHUT_WR)
        a.settimeout(timeout)
        out = b""
        try:
            while True:
                chunk = a.recv(65536)
                if not chunk:
                    break
                out += chunk
        finally:
            a.close()
            p.wait(timeout)
        return out


def no_syslog_wrapper(folder, stale_socket=False):
    """An argv prefix that runs a program where no syslog daemon listens
    at /dev/log, so its lines go to log_file: none needed if this machine
    has no /dev/log (and no stale_socket is asked for); else, as root, a
    mount namespace whose /dev (folder, made here) has null, zero, random
    and urandom, and with stale_socket a socket file at log that nobody
    listens on. None if that cannot be done here."""
    if not os.path.exists("/dev/log") and not stale_socket:
        return []
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return None
    nodes = ("null", "zero", "random", "urandom")
    os.makedirs(folder)
    for n in nodes:
        open(os.path.join(folder, n), "w").close()
    if stale_socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(os.path.join(folder, "log"))
        s.close()       # the file stays; connect() is refused
    script = ('for n in %s; do mount --bind /dev/$n "$0/$n" || exit 1; '
              'done; mount --bind "$0" /dev && exec "$@"' % " ".join(nodes))
    return ["unshare", "--mount", "--", "sh", "-c", script, folder]


class SocketActivated:
    """systemd-socket-activate --inetd --accept spawning a handler."""

    def __init__(self, argv, env, port=None, addr="127.0.0.1"):
        self.port = port or free_port()
        self.addr = addr
        listen = ("[%s]:%d" % (addr, self.port)) if ":" in addr else \
            ("%s:%d" % (addr, self.port))
        self.p = subprocess.Popen(
            ["systemd-socket-activate", "--inetd", "--accept", "-l",
             listen] + list(argv), env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET

        def up():
            try:
                socket.create_connection((addr, self.port), 0.2).close()
                return True
            except OSError:
                return False
        # the probe connection spawns one handler that sees EOF at once
        if not wait_for(up, 10):
            raise RuntimeError("systemd-socket-activate did not listen")

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


class Dnsmasq:
    """dnsmasq on 127.0.0.1:<port>, authoritative for test. (unknown names
    there get NXDOMAIN), with the records given as dnsmasq options."""

    def __init__(self, options, directory):
        self.log = os.path.join(directory, "dnsmasq.log")
        # dnsmasq binds TCP on its port too: a port free for UDP may be a
        # listener's (another test's) on TCP, and dnsmasq then exits;
        # another port is tried then
        for _ in range(5):
            self.port = free_udp_port()
            self.p = subprocess.Popen(
                ["dnsmasq", "--keep-in-foreground", "--no-daemon",
                 "--no-resolv", "--no-hosts", "--no-poll",
                 "--bind-interfaces", "--listen-address=127.0.0.1",
                 "--port=%d" % self.port, "--local=/test/",
                 "--log-facility=" + self.log, "--pid-file=",
                 "--user=root"] + list(options),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if wait_for(lambda: self.up() or self.p.poll() is not None,
                        10, 0.05) and self.p.poll() is None:
                return
            if self.p.poll() is None:
                self.p.kill()
            self.p.wait()
        raise RuntimeError("dnsmasq did not start")

    def up(self):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.2)
            # a minimal query for "test." SOA: any answer means up
            s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                     b"\x04test\x00\x00\x06\x00\x01",
                     ("127.0.0.1", self.port))
            s.recv(512)
            s.close()
            return True
        except OSError:
            return False

    def stop(self):
        self.p.terminate()
        self.p.wait(5)


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_agent(program, job, queue_dir, timeout=60):
    """Run a delivery agent as queued does: the job on stdin, the spool's
    queue/ folder on fd 3."""
    fd = os.open(queue_dir, os.O_RDONLY | os.O_DIRECTORY)
    os.set_inheritable(fd, True)

    def on_3():
        if fd != 3:
            os.dup2(fd, 3)
    try:
        return subprocess.run([prog(program)], input=job,
                              capture_output=True, timeout=timeout,
                              close_fds=False, preexec_fn=on_3)
    finally:
        os.close(fd)


class ServfailDNS:
    """A DNS server on 127.0.0.1 that answers every query SERVFAIL, at once
    (a broken upstream that dnsmasq forwards a test domain to)."""

    def __init__(self):
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                q, peer = self.sock.recvfrom(512)
            except OSError:
                continue
            if len(q) < 12:
                continue
            # same id and question, QR=1, RCODE=2 (SERVFAIL), no records
            r = q[:2] + bytes([0x80 | (q[2] & 0x79), 0x82]) + q[4:6] + \
                b"\x00\x00\x00\x00\x00\x00" + q[12:]
            self.sock.sendto(r, peer)

    def stop(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()


def make_certs(directory, names=("mx.test",), ca_name="Pombo Test CA"):
    """A test CA and a server certificate for names (and 127.0.0.1), made
    with the openssl command. Returns (ca, cert, key) paths."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True,
                       capture_output=True, timeout=60)
    ca_key = os.path.join(directory, "ca.key")
    ca = os.path.join(directory, "ca.pem")
    key = os.path.join(directory, "server.key")
    csr = os.path.join(directory, "server.csr")
    cert = os.path.join(directory, "server.pem")
    ext = os.path.join(directory, "ext.cnf")
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/CN=" + ca_name)
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + names[0])
    with open(ext, "w") as f:
        f.write("subjectAltName=" + ",".join(
            ["DNS:" + n for n in names] + ["IP:127.0.0.1"]) + "\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
        "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, key


# ---- DKIM, SPF, DMARC tests: keys, the oracles' DNS, libopendkim's leak

def libopendkim_leak_ok(directory):
    """libopendkim 2.11 (Debian's 2.11.0~beta2) never frees the BIO and
    the EVP_PKEY it makes when it loads an Ed25519 key at dkim_eom:
    about 200 octets per Ed25519 signature, gone when the agent exits.
    Its own leak, not ours: LeakSanitizer is told so, for the sanitizer
    build; every other leak still fails. libcrypto has no frame
    pointers: without the slow unwinder the leak's stack stops there
    and never names dkim_privkey_load."""
    supp = os.path.join(directory, "lsan.supp")
    with open(supp, "w") as f:
        f.write("leak:dkim_privkey_load\n")
    os.environ["LSAN_OPTIONS"] = ":".join(
        filter(None, [os.environ.get("LSAN_OPTIONS"), "suppressions=" + supp,
                      "print_suppressions=0"]))
    os.environ["ASAN_OPTIONS"] = ":".join(
        filter(None, [os.environ.get("ASAN_OPTIONS"),
                      "fast_unwind_on_malloc=0"]))


def openssl_keypair(directory, name, *genargs):
    """A private key made by openssl genpkey into directory/name.pem:
    (its path, the public key's DER)."""
    path = os.path.join(directory, name + ".pem")
    subprocess.run(["openssl", "genpkey", "-out", path] + list(genargs),
                   check=True, capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout",
                          "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return path, der


def oracle_resolver(port):
    """dnspython asking the test's dnsmasq, made the default one (python3-
    spf resolves through it), and a python3-dkim dnsfunc over it."""
    import dns.resolver
    res = dns.resolver.Resolver(configure=False)
    res.nameservers, res.port = ["127.0.0.1"], port
    res.lifetime = 5
    dns.resolver.default_resolver = res

    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        try:
            ans = res.resolve(n, "TXT", lifetime=timeout)
        except Exception:  # noqa: BLE001  no record: dkimpy says so
            return b""
        return b"".join(ans[0].strings)
    return res, dnsfunc
