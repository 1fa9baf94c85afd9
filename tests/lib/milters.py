"""Milters for the tests: a scripted one in Python (the protocol from
the MTA's side: libmilter's mfdef.h), used by milter_test (through
milter-driver) and milter_session_test (through queued)."""
import os
import shutil
import socket
import struct
import subprocess
import threading

import pombo

# protocol constants (libmilter's mfdef.h)
F_ALL = 0x1ff
P_NOCONNECT, P_NOHELO, P_NOBODY, P_NOHDRS = 0x1, 0x2, 0x10, 0x20
P_NR_HDR, P_NR_MAIL = 0x80, 0x4000


def pkt(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


class Filter:
    """A scripted milter on a socket of its own: negotiates as told,
    records every packet it gets, answers each command with
    answer(cmd, data) -> bytes to send ('' for none; None: close)."""

    def __init__(self, answer, actions=F_ALL, protocol=0, symlists=None,
                 family=socket.AF_INET, path=None, host=None):
        self.answer = answer
        self.actions, self.protocol = actions, protocol
        self.symlists = symlists or {}
        self.got = []
        if family == socket.AF_UNIX:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.bind(path)
            self.spec = "unix:" + path
        else:
            self.sock = socket.socket(family)
            host = host or ("::1" if family == socket.AF_INET6 else
                            "127.0.0.1")
            self.sock.bind((host, 0))
            port = self.sock.getsockname()[1]
            self.spec = ("inet6:[::1]:%d" % port if family ==
                         socket.AF_INET6 else "inet:127.0.0.1:%d" % port)
        self.sock.listen(8)
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._conn, args=(c,),
                             daemon=True).start()

    def _read(self, c, n):
        b = b""
        while len(b) < n:
            x = c.recv(n - len(b))
            if not x:
                raise EOFError
            b += x
        return b

    def _conn(self, c):
        noreply = {b"L": P_NR_HDR, b"M": P_NR_MAIL}
        try:
            while True:
                n = struct.unpack(">I", self._read(c, 4))[0]
                p = self._read(c, n)
                cmd, data = p[:1], p[1:]
                self.got.append((cmd, data))
                if cmd == b"O":
                    extra = b"".join(struct.pack(">I", st) + lst + b"\0"
                                     for st, lst in self.symlists.items())
                    c.sendall(pkt(b"O", struct.pack(
                        ">III", 6, self.actions, self.protocol) + extra))
                    continue
                if cmd in (b"D", b"A", b"Q"):
                    if cmd == b"Q":
                        return
                    continue
                if cmd in noreply and self.protocol & noreply[cmd]:
                    continue
                out = self.answer(cmd, data)
                if out is None:
                    c.close()
                    return
                if out:
                    c.sendall(out)
        except (EOFError, OSError):
            pass

    def close(self):
        # a thread blocked in accept() keeps the socket listening past
        # a bare close(): shut it down first
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass




def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def start_rspamd(d):
    """rspamd's proxy worker in milter mode on 127.0.0.1, with a private
    configuration and folder d: the shipped modules and rules, no redis,
    DNS to a port nobody answers (fails fast), a small TLD list
    (compiling the full one takes long), test patterns (GTUBE) on and
    its headers added. (proc, port), or why it cannot run."""
    rspamd = shutil.which("rspamd")
    if rspamd is None:
        return "rspamd is not installed"
    os.makedirs(os.path.join(d, "local.d"))
    port = pombo.free_port()
    dns = pombo.free_udp_port()
    with open(os.path.join(d, "rspamd.conf"), "w") as fh:
        fh.write("""
.include "$CONFDIR/common.conf"
options {
    pidfile = "%(d)s/rspamd.pid";
    dbdir = "%(d)s";
    url_tld = "%(d)s/tld.dat";
    enable_test_patterns = true;
    dns { nameserver = ["127.0.0.1:%(dns)d"]; timeout = 0.2s;
          retransmits = 1; }
}
logging { type = "file"; filename = "%(d)s/rspamd.log"; level = "info"; }
worker "rspamd_proxy" {
    bind_socket = "127.0.0.1:%(port)d";
    milter = yes;
    timeout = 60s;
    count = 1;
    upstream "local" { default = yes; self_scan = yes; }
}
""" % {"d": d, "port": port, "dns": dns})
    with open(os.path.join(d, "tld.dat"), "w") as fh:
        fh.write("com\norg\nnet\ntest\n")
    with open(os.path.join(d, "local.d", "milter_headers.conf"), "w") as fh:
        fh.write('use = ["x-spamd-result", "x-rspamd-queue-id"];\n'
                 "skip_local = false;\nskip_authenticated = false;\n")
    argv = [rspamd, "-f", "-i", "-c", os.path.join(d, "rspamd.conf")]
    for var in ("DBDIR", "RUNDIR", "LOGDIR", "LOCAL_CONFDIR"):
        argv.append("--var=%s=%s" % (var, d))
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    if not pombo.wait_for(lambda: _listening(port), 90, 0.2):
        stop(proc)
        return "rspamd did not start"
    return proc, port


def start_opendkim(d, domain, selector):
    """OpenDKIM signing for domain on 127.0.0.1 (private configuration,
    a key from opendkim-genkey, in d): (proc, port, the TXT record), or
    why it cannot run."""
    opendkim = shutil.which("opendkim") or (
        "/usr/sbin/opendkim" if os.path.exists("/usr/sbin/opendkim")
        else None)
    genkey = shutil.which("opendkim-genkey")
    if opendkim is None or genkey is None:
        return "opendkim or opendkim-tools is not installed"
    os.makedirs(d)
    subprocess.run([genkey, "-D", d, "-d", domain, "-s", selector,
                    "-b", "2048"], check=True, capture_output=True)
    key = os.path.join(d, selector + ".private")
    os.chmod(key, 0o600)
    with open(os.path.join(d, selector + ".txt")) as fh:
        txt = fh.read()
    # the record as the zone file has it: the quoted strings joined
    record = "".join(txt[i + 1:txt.index('"', i + 1)] for i in
                     [k for k, ch in enumerate(txt) if ch == '"'][::2])
    port = pombo.free_port()
    with open(os.path.join(d, "internal"), "w") as fh:
        fh.write("192.0.2.1\n127.0.0.1\n")
    with open(os.path.join(d, "opendkim.conf"), "w") as fh:
        fh.write("Syslog no\nBackground no\nMode s\nDomain %s\n"
                 "Selector %s\nKeyFile %s\n"
                 "Socket inet:%d@127.0.0.1\nPidFile %s/opendkim.pid\n"
                 "Canonicalization relaxed/relaxed\nRequireSafeKeys no\n"
                 "InternalHosts %s/internal\n" % (domain, selector, key, port,
                                                   d, d))
    proc = subprocess.Popen([opendkim, "-f", "-x",
                             os.path.join(d, "opendkim.conf")],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    if not pombo.wait_for(lambda: _listening(port), 30, 0.1):
        stop(proc)
        return "opendkim did not start"
    return proc, port, record


def stop(proc):
    os.killpg(proc.pid, 15)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
