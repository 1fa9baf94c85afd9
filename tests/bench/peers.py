"""The systems under test, each in a throwaway folder on 127.0.0.1:

Pombo (queued + systemd-socket-activate spawning smtpd or pop3d), a
private Postfix instance (its own config_directory and queue_directory,
chroot off; never /etc/postfix), a private Dovecot (its own config file,
passwd-file, Maildir), dnsmasq on 127.0.0.153:53 and Postfix's smtp-sink.
"""
import os
import pwd
import re
import shutil
import socket
import subprocess
import time

import benchlib
from benchlib import log, run, wait_for

DOMAIN = "bench.test"
PASSWORD = "secret"
SINK_IP = "127.0.1.7"
DNS_IP = "127.0.0.153"
_hash = None


def password_hash():
    """SHA-512 crypt of the one password, as both Pombo and Dovecot read
    it (Dovecot's SHA512-CRYPT scheme)."""
    global _hash
    if _hash is None:
        _hash = run(["openssl", "passwd", "-6", "-salt", "pombobench",
                     PASSWORD]).stdout.strip()
    return _hash


def mkdir(path, mode=0o755, owner=None):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    if owner is not None:
        os.chown(path, owner[0], owner[1])
    return path


def can_connect(addr, port):
    try:
        socket.create_connection((addr, port), 0.2).close()
        return True
    except OSError:
        return False


# ------------------------------------------------------------------ Pombo

class Pombo:
    """A config, spool and mail root, queued, and handlers spawned by
    systemd-socket-activate --inetd --accept."""

    def __init__(self, procs, base, name, users=("load", "probe", "pop"),
                 conf=None):
        self.procs = procs
        self.dir = mkdir(os.path.join(base, name))
        self.spool = os.path.join(self.dir, "spool")
        self.mail = os.path.join(self.dir, "mail")
        self.sock = os.path.join(self.dir, "queue.sock")
        self.conf_path = os.path.join(self.dir, "pombo.conf")
        self.log_path = os.path.join(self.dir, "queued.log")
        self.queued = None
        self.ssa = []
        self.settings = {
            "hostname": "mx.%s" % DOMAIN,
            "local_domains": DOMAIN,
            "relay_networks": "127.0.0.0/8",
            "spool_dir": self.spool,
            "mail_root": self.mail,
            "users_file": os.path.join(self.dir, "users"),
            "aliases_file": os.path.join(self.dir, "aliases"),
            "queue_socket": self.sock,
            "libexec_dir": benchlib.pombo.libexec_links(
                os.path.join(self.dir, "libexec")),
            "min_free_space": "1M",
            "hold_deliveries": "yes",
            "max_message_size": "10M",
        }
        self.settings.update(conf or {})
        self.write_conf()
        with open(os.path.join(self.dir, "users"), "w") as f:
            for u in users:
                f.write("%s@%s:%s\n" % (u, DOMAIN, password_hash()))
        open(os.path.join(self.dir, "aliases"), "w").close()

    def write_conf(self, **changes):
        self.settings.update(changes)
        with open(self.conf_path, "w") as f:
            for k, v in self.settings.items():
                f.write("%s = %s\n" % (k, v))

    def env(self):
        return dict(os.environ, POMBO_CONF=self.conf_path)

    def start_queued(self, notify_socket=None, timeout=60):
        """Start queued (not in debug mode); returns the launch time."""
        env = self.env()
        if notify_socket:
            env["NOTIFY_SOCKET"] = notify_socket
        logf = open(self.log_path, "ab")
        t0 = time.monotonic()
        self.queued = self.procs.popen(
            [benchlib.pombo.prog("queued/queued"), "-c", self.conf_path],
            env=env, stdout=logf, stderr=logf)
        logf.close()
        if not wait_for(self.ready, timeout, 0.002):
            raise RuntimeError("queued did not start: " + self.log()[-2000:])
        return t0

    def ready(self):
        if self.queued.poll() is not None:
            raise RuntimeError("queued exited: " + self.log()[-2000:])
        return benchlib.pombo.accepts(self.sock)

    def stop_queued(self):
        if self.queued is not None:
            self.procs.stop(self.queued, timeout=30)
            self.queued = None

    def listen(self, handler, args=None, spawner="ssa"):
        """A spawner starting handler ('smtpd/smtpd' or 'pop3d/pop3d') per
        connection on 127.0.0.1:<free port>, with "-c <our config>"
        unless other args are given. spawner "ssa" is
        systemd-socket-activate --inetd --accept; "tcpserver" is
        ucspi-tcp's, without its DNS and ident lookups (-H -R, as
        smtpd does none) and a limit above the bench's 50 sessions
        (its default is 40)."""
        port = benchlib.free_port()
        if args is None:
            args = ["-c", self.conf_path]
        if spawner == "tcpserver":
            argv = ["tcpserver", "-q", "-H", "-R", "-l", "0", "-c", "200",
                    "-b", "128", "127.0.0.1", str(port)]
        else:
            argv = ["systemd-socket-activate", "--inetd", "--accept", "-l",
                    "127.0.0.1:%d" % port]
        p = self.procs.popen(argv + [benchlib.pombo.prog(handler)] + args,
                             env=self.env())
        # a probe connection: one handler that sees EOF at once
        if not wait_for(lambda: can_connect("127.0.0.1", port), 10):
            raise RuntimeError("%s did not listen" % argv[0])
        self.ssa.append(p)
        return port, p

    def queue_count(self):
        d = os.path.join(self.spool, "queue")
        return len(os.listdir(d)) if os.path.isdir(d) else 0

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        for p in self.ssa:
            self.procs.stop(p)
        self.ssa = []
        self.stop_queued()

    def cleanup(self):
        # files stay until the whole run ends: deleting thousands of
        # files between rounds would slow the next round's creates (ext4
        # without a journal skips recently deleted inodes one by one)
        self.stop()


# ------------------------------------------------------------------ Postfix

MASTER_CF = """\
# private benchmark instance: chroot off everywhere, SMTP on loopback only
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
# the TLS figure: smtpd's session ticket keys and cache (idle otherwise)
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
"""


class Postfix:
    """A private Postfix instance: config_directory and queue_directory in
    a throwaway folder, started with `postfix -c DIR`; mail_owner postfix,
    setgid_group postdrop as Debian has them. Virtual Maildirs under
    DIR/mail owned by nobody. With resolv_conf, the instance runs in its
    own mount namespace where that file is bind-mounted over
    /etc/resolv.conf (the system's file is never written)."""

    QUEUES = ("maildrop", "incoming", "active", "deferred", "hold")

    def __init__(self, procs, base, name, settings=None, resolv_conf=None,
                 users=("load", "probe")):
        self.procs = procs
        self.dir = mkdir(os.path.join(base, name))
        self.etc = mkdir(os.path.join(self.dir, "etc"))
        self.queue = mkdir(os.path.join(self.dir, "spool"))
        nobody = (65534, 65534)
        self.mail = mkdir(os.path.join(self.dir, "mail"), 0o755, nobody)
        self.port = benchlib.free_port()
        self.resolv_conf = resolv_conf
        self.maillog = os.path.join(self.dir, "maillog")
        vmaps = os.path.join(self.etc, "vmailbox")
        with open(vmaps, "w") as f:
            for u in users:
                f.write("%s@%s %s/%s/\n" % (u, DOMAIN, DOMAIN, u))
        conf = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": mkdir(os.path.join(self.dir, "data"), 0o700,
                                    (pwd.getpwnam("postfix").pw_uid, 0)),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "peer.%s" % DOMAIN,
            "mydomain": DOMAIN,
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "smtpd_peername_lookup": "no",
            "virtual_mailbox_domains": DOMAIN,
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": "texthash:" + vmaps,
            "virtual_uid_maps": "static:%d" % nobody[0],
            "virtual_gid_maps": "static:%d" % nobody[1],
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "biff": "no",
            "smtputf8_enable": "no",
            "smtp_tls_security_level": "none",
            "smtpd_tls_security_level": "none",
            "message_size_limit": "10240000",
            "maillog_file": "",
            "maillog_file_prefixes": self.dir,
        }
        if os.environ.get("BENCH_DEBUG"):
            conf["maillog_file"] = self.maillog
        conf.update(settings or {})
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in conf.items():
                f.write("%s = %s\n" % (k, v))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen="127.0.0.1:%d" % self.port))
        self.started = False

    def postfix(self, *args, timeout=120):
        argv = ["postfix", "-c", self.etc] + list(args)
        if self.resolv_conf and args and args[0] == "start":
            # the master and everything it spawns live in a mount
            # namespace where our resolv.conf is /etc/resolv.conf
            argv = ["unshare", "--mount", "--propagation", "private", "sh",
                    "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"',
                    self.resolv_conf] + argv
        return run(argv, timeout=timeout, check=False)

    def start(self):
        r = self.postfix("start")
        if r.returncode != 0:
            raise RuntimeError("postfix start: %s %s" % (r.stdout, r.stderr))
        self.started = True
        if not wait_for(lambda: can_connect("127.0.0.1", self.port), 20):
            raise RuntimeError("postfix does not listen on %d" % self.port)
        return self

    def queued_count(self, queues=None):
        return benchlib.count_files(*[os.path.join(self.queue, q)
                                      for q in (queues or self.QUEUES)])

    def cmd(self, prog, *args):
        return run([prog, "-c", self.etc] + list(args), check=False)

    def stop(self):
        if self.started:
            r = self.postfix("stop")
            if r.returncode != 0:
                self.postfix("abort")
            self.started = False
        # make sure the master is gone
        pidf = os.path.join(self.queue, "pid", "master.pid")
        try:
            with open(pidf) as f:
                pid = int(f.read().strip() or 0)
            if pid and wait_for(lambda: not os.path.exists(
                    "/proc/%d" % pid), 10) is False:
                os.kill(pid, 9)
        except (OSError, ValueError):
            pass

    def cleanup(self):
        # files stay until the whole run ends: deleting thousands of
        # files between rounds would slow the next round's creates (ext4
        # without a journal skips recently deleted inodes one by one)
        self.stop()


# ------------------------------------------------------------------ Dovecot

DOVECOT_CONF = """\
# private benchmark instance: POP3 on loopback, passwd-file, Maildir
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:~/
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {dir}/users
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={mail}/%d/%n
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


class Dovecot:
    def __init__(self, procs, base, name, users=("pop",)):
        self.procs = procs
        self.dir = mkdir(os.path.join(base, name))
        self.mail = mkdir(os.path.join(self.dir, "mail"), 0o755,
                          (65534, 65534))
        for d in ("run", "state"):
            mkdir(os.path.join(self.dir, d))
        self.port = benchlib.free_port()
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(dir=self.dir, mail=self.mail,
                                        port=self.port))
        with open(os.path.join(self.dir, "users"), "w") as f:
            for u in users:
                f.write("%s@%s:{SHA512-CRYPT}%s\n" % (u, DOMAIN,
                                                      password_hash()))
        self.p = None

    def start(self):
        self.p = self.procs.popen(["dovecot", "-F", "-c", self.conf],
                                  stderr=open(os.path.join(
                                      self.dir, "stderr"), "ab"))
        if not wait_for(lambda: can_connect("127.0.0.1", self.port), 20):
            raise RuntimeError("dovecot does not listen: " + self.logtail())
        return self

    def logtail(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self):
        if self.p is not None:
            self.procs.stop(self.p, timeout=20)
            self.p = None

    def cleanup(self):
        # files stay until the whole run ends: deleting thousands of
        # files between rounds would slow the next round's creates (ext4
        # without a journal skips recently deleted inodes one by one)
        self.stop()


# ------------------------------------------------------------------ DNS, sink

class Dns:
    """dnsmasq on DNS_IP:53 (a resolv.conf cannot name a port), local for
    test.; sink.test has an MX to SINK_IP."""

    def __init__(self, procs, base, extra=()):
        self.procs = procs
        self.dir = mkdir(os.path.join(base, "dns"))
        self.ip = DNS_IP
        self.port = 53
        self.resolv_conf = os.path.join(self.dir, "resolv.conf")
        with open(self.resolv_conf, "w") as f:
            f.write("nameserver %s\noptions attempts:2 timeout:2\n" % self.ip)
        self.p = procs.popen(
            ["dnsmasq", "--keep-in-foreground", "--no-daemon", "--no-resolv",
             "--no-hosts", "--no-poll", "--bind-interfaces",
             "--listen-address=%s" % self.ip, "--port=%d" % self.port,
             "--local=/test/", "--pid-file=", "--user=root",
             "--cache-size=1000",
             "--mx-host=sink.test,mx.sink.test,10",
             "--host-record=mx.sink.test,%s" % SINK_IP,
             "--log-facility=%s" % os.path.join(self.dir, "dnsmasq.log")] +
            list(extra),
            stderr=open(os.path.join(self.dir, "stderr"), "ab"))
        if not wait_for(self.up, 10, 0.05):
            raise RuntimeError("dnsmasq did not start on %s:53" % self.ip)

    def up(self):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.2)
            s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                     b"\x04sink\x04test\x00\x00\x0f\x00\x01",
                     (self.ip, self.port))
            s.recv(512)
            s.close()
            return True
        except OSError:
            return False

    def stop(self):
        self.procs.stop(self.p)


class Sink:
    """Postfix's smtp-sink on SINK_IP:port, counting the DATA it takes."""

    def __init__(self, procs, base):
        self.procs = procs
        self.port = benchlib.free_port()
        self.out = os.path.join(base, "sink.out")
        self.p = procs.popen(
            ["smtp-sink", "-c", "-u", "nobody", "%s:%d" % (SINK_IP,
                                                           self.port),
             "256"], stdout=open(self.out, "wb"))
        if not wait_for(lambda: can_connect(SINK_IP, self.port), 10):
            raise RuntimeError("smtp-sink did not listen")
        self.base = 0

    def count(self):
        """Messages received so far (smtp-sink -c writes running counters
        'sess=N quit=N mesg=N' separated by CRs)."""
        try:
            with open(self.out, "rb") as f:
                data = f.read()
        except OSError:
            return 0
        found = re.findall(rb"mesg=(\d+)", data)
        return int(found[-1]) if found else 0

    def stop(self):
        self.procs.stop(self.p)


class NullMilter:
    """tests/bench/nullmilter (libmilter) on 127.0.0.1:port: asks for
    every step, continues at each, accepts at the end of the message."""

    def __init__(self, procs, base):
        self.procs = procs
        self.port = benchlib.free_port()
        self.p = procs.popen(
            [benchlib.pombo.prog("tests/bench/nullmilter"),
             "inet:%d@127.0.0.1" % self.port],
            stderr=open(os.path.join(base, "nullmilter.err"), "ab"))
        if not wait_for(lambda: can_connect("127.0.0.1", self.port), 10):
            raise RuntimeError("nullmilter did not listen")

    def stop(self):
        self.procs.stop(self.p)
