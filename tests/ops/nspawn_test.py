"""The units under a real systemd: a Debian 12 root filesystem (made once
with debootstrap and cached outside the repository) booted with
systemd-nspawn, Pombo built with README.md's configure flags and
installed into it, then README.md's "Deploying on Debian" steps run
inside, as they are written. From outside: mail to the smtpd socket and
to the submission socket with AUTH, fetched back over POP3 byte for
byte; the queue id in the journal; the watchdog restarting a queued
stopped with SIGSTOP; systemd-analyze security of every unit, online.

The test's own changes to the README's steps: sudo dropped (it runs as
root), sudoedit replaced by setting hostname, local_domains, tls_cert
and tls_key, a self-signed certificate in place of certbot's, the
password typed on a terminal, and drop-ins before "Start it": every
socket on a free port of 127.0.0.1 (the container shares the host's
network) and WatchdogSec=5s for queued (the unit's 30 s would make
every run half a minute longer).

It needs root, debootstrap, systemd-nspawn, nsenter and the Debian
mirror apt uses (read from apt's sources at run time); without one of
them, or if the container does not boot, it is skipped and says why.
The root filesystem is cached in $POMBO_TEST_CACHE (default
/var/cache/pombo-tests): rootfs-bookworm, complete once
rootfs-bookworm.stamp exists; the test boots a copy.

On a host whose PID 1 is not systemd and whose cgroups are v1 (a
container, a CI runner), systemd-nspawn needs the name=systemd
hierarchy (mounted here if missing), SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0
and --register=no --keep-unit; the container's services are reached
with nsenter into its PID 1's namespaces.
"""
import fcntl
import glob
import os
import poplib
import re
import select
import shlex
import shutil
import signal
import smtplib
import ssl
import subprocess
import sys
import tempfile
import termios
import time
import urllib.request

import ops

pombo = ops.pombo
START = time.monotonic()
# everything, a first debootstrap included, well under make check's 10 min
DEADLINE = START + 540
SUITE = "bookworm"
# what README.md's "Build and install" says a machine that runs it needs
INCLUDE = ("systemd,systemd-sysv,dbus,libc-ares2,libunbound8,libssl3,"
           "openssl,libsystemd0,libcrypt1,libopendkim11,libspf2-2,"
           "libopendmarc2,publicsuffix,dns-root-data")
CACHE = os.environ.get("POMBO_TEST_CACHE", "/var/cache/pombo-tests")
ROOTFS = os.path.join(CACHE, "rootfs-" + SUITE)
STAMP = ROOTFS + ".stamp"
PASSWORD = "nspawn-test-secret"
DOMAIN = "example.org"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAX_EXPOSURE = 2.5


def left(cap=None):
    """Seconds until the deadline (at least 1), at most cap."""
    s = DEADLINE - time.monotonic()
    return max(1.0, min(s, cap) if cap is not None else s)


def log(msg):
    print("# [%5.1fs] %s" % (time.monotonic() - START, msg))
    sys.stdout.flush()


class Skip(Exception):
    pass


def terminated(signum, frame):
    # make's harness or a user stopping the test: clean up in finally
    raise SystemExit("signal %d" % signum)


signal.signal(signal.SIGTERM, terminated)
signal.signal(signal.SIGINT, terminated)


def run(argv, timeout=60, **kw):
    return subprocess.run(argv, capture_output=True, text=True,
                          timeout=left(timeout), **kw)


def run_group(argv, timeout):
    """run(), with argv and everything it starts in a process group of
    their own, killed whole at the timeout: debootstrap's children
    outlive a kill of debootstrap alone and keep /proc mounted in the
    tree they were making."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=left(timeout))
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        raise
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


def unmount_below(path):
    """Whatever a killed debootstrap left mounted below path (/proc,
    /sys), deepest first, so that the tree can be removed."""
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f]
    for point in sorted((p for p in points if p.startswith(path + "/")),
                        key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


# --- what the machine must have -------------------------------------------
def apt_mirror():
    """The first Debian mirror apt's sources name for SUITE (main)."""
    sources = ["/etc/apt/sources.list"] + \
        sorted(glob.glob("/etc/apt/sources.list.d/*.list")) + \
        sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    for path in sources:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        if path.endswith(".sources"):
            # deb822: paragraphs of "Key: value"
            for para in re.split(r"\n\s*\n", text):
                fields = {}
                for line in para.splitlines():
                    if line.startswith("#") or ":" not in line:
                        continue
                    k, _, v = line.partition(":")
                    fields[k.strip().lower()] = v.split()
                if "deb" in fields.get("types", []) and \
                        SUITE in fields.get("suites", []) and \
                        "main" in fields.get("components", []) and \
                        fields.get("uris") and \
                        fields.get("enabled", ["yes"]) != ["no"]:
                    return fields["uris"][0]
        else:
            for line in text.splitlines():
                m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+"
                             r"(.*)", line)
                if m and m.group(2) == SUITE and \
                        "main" in m.group(3).split():
                    return m.group(1)
    return None


def machine_ready():
    """Raise Skip unless this machine can run the test."""
    if os.environ.get("san_cflags"):
        # it builds and installs its own plain copy: once a run is enough
        raise Skip("run by the plain build; this one has sanitizers")
    if os.geteuid() != 0:
        raise Skip("needs root (debootstrap, systemd-nspawn, nsenter)")
    for tool in ("debootstrap", "systemd-nspawn", "nsenter"):
        if not shutil.which(tool):
            raise Skip("%s is not installed (./bootstrap installs it)" %
                       tool)


def take(lock, how):
    """flock, waiting at most until the deadline."""
    while True:
        try:
            fcntl.flock(lock, how | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if left() <= 1:
                raise Skip("another run holds %s.lock" % ROOTFS)
            time.sleep(1)


def complete(want):
    try:
        with open(STAMP) as f:
            return f.read() == want and os.path.isdir(ROOTFS)
    except OSError:
        return False


def cached_rootfs():
    """The cached root filesystem, made with debootstrap if missing or
    incomplete (no stamp, or a stamp for another package list)."""
    want = "debootstrap --variant=minbase --include=%s %s\n" % (INCLUDE,
                                                                SUITE)
    os.makedirs(CACHE, exist_ok=True)
    # runs on the cache hold it shared; one that (re)builds it, alone
    lock = open(ROOTFS + ".lock", "w")
    take(lock, fcntl.LOCK_SH)
    if complete(want):
        return lock
    fcntl.flock(lock, fcntl.LOCK_UN)   # two runs upgrading would deadlock
    take(lock, fcntl.LOCK_EX)
    if complete(want):          # another run built it meanwhile
        fcntl.flock(lock, fcntl.LOCK_SH)
        return lock
    mirror = apt_mirror()
    if not mirror:
        raise Skip("apt's sources name no mirror for %s main" % SUITE)
    try:
        urllib.request.urlopen("%s/dists/%s/Release" % (mirror.rstrip("/"),
                               SUITE), timeout=15).read(1)
    except Exception as e:  # noqa: BLE001 (any failure means: no mirror)
        raise Skip("mirror %s unreachable: %s" % (mirror, e))
    for stale in (STAMP, ROOTFS, ROOTFS + ".new"):
        if os.path.isdir(stale):
            unmount_below(stale)
            shutil.rmtree(stale)
        elif os.path.exists(stale):
            os.unlink(stale)
    log("debootstrap %s from %s into %s" % (SUITE, mirror, ROOTFS))
    t = time.monotonic()
    try:
        r = run_group(["debootstrap", "--variant=minbase",
                       "--include=" + INCLUDE, SUITE, ROOTFS + ".new",
                       mirror], timeout=420)
    except subprocess.TimeoutExpired:
        raise Skip("debootstrap took longer than it may")
    if r.returncode != 0:
        raise Skip("debootstrap failed: %s" % (r.stdout + r.stderr)[-500:])
    os.rename(ROOTFS + ".new", ROOTFS)
    with open(STAMP, "w") as f:
        f.write(want)
    log("debootstrap took %.0f s" % (time.monotonic() - t))
    fcntl.flock(lock, fcntl.LOCK_SH)
    return lock


# --- the build: README's configure flags ------------------------------------
with open(os.path.join(ops.SRC, "README.md")) as f:
    README = f.read()
m = re.search(r"(?ms)^## Deploying on Debian\n(.*?)(?=^## )", README + "\n## ")
DEPLOY = m.group(1) if m else ""


def subsection(title):
    m = re.search(r"(?ms)^### %s\n(.*?)(?=^### |\Z)" % re.escape(title),
                  DEPLOY)
    return m.group(1) if m else ""


def code_lines(text):
    """The lines of the indented code blocks, continuations joined."""
    out, pending = [], ""
    for line in text.splitlines():
        if not line.startswith("    "):
            continue
        line = pending + line[4:].strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        out.append(line)
    return out


def configure_flags():
    for line in code_lines(subsection("Build and install")):
        if line.startswith("./configure"):
            return shlex.split(line)[1:]
    return None


def start_build(flags, tmp):
    """A Popen building Pombo configured with flags: the build tree
    itself if it was, else a copy of the sources configured anew."""
    r = run([os.path.join(ops.BUILD, "config.status"), "--config"])
    if r.returncode == 0 and sorted(shlex.split(r.stdout)) == sorted(flags):
        return ops.BUILD, None
    build = os.path.join(tmp, "build")
    os.makedirs(build)
    if os.path.exists(os.path.join(ops.SRC, "config.status")):
        # configured in place: automake refuses a second, VPATH, build
        src = os.path.join(tmp, "src")
        script = "make -s -C %s distdir distdir=%s >/dev/null && " % (
            shlex.quote(ops.BUILD), shlex.quote(src))
    else:
        src, script = ops.SRC, ""
    # under make check -j2 the test holds one of the two jobs already
    jobs = "1" if re.search(r"(^|\s)-j|jobserver",
                            os.environ.get("MAKEFLAGS", "")) else "2"
    script += "cd %s && %s/configure -q %s && make -s -j%s" % (
        shlex.quote(build), shlex.quote(src),
        " ".join(shlex.quote(f) for f in flags), jobs)
    proc = subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env=ops.clean_env(), start_new_session=True)
    return build, proc


def writable_copy(tmp):
    """A root filesystem the test may change, the cache left as it is:
    an overlay with the cache below, else a copy. Returns (its path, the
    overlay's mount point or None)."""
    root = os.path.join(tmp, "root")
    os.makedirs(root)
    for d in ("upper", "work"):
        os.makedirs(os.path.join(tmp, d))
    r = run(["mount", "-t", "overlay", "overlay", "-o",
             "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" %
             (ROOTFS, tmp, tmp), root])
    if r.returncode == 0:
        return root, root
    log("no overlay (%s): copying" % r.stderr.strip())
    os.rmdir(root)
    r = run(["cp", "-a", "--reflink=auto", ROOTFS, root], timeout=120)
    if r.returncode != 0:
        raise Skip("cannot copy the root filesystem: " + r.stderr)
    return root, None


# --- the container ----------------------------------------------------------
def cgroup_setup():
    """What systemd-nspawn needs when PID 1 is not systemd: the named
    hierarchy on a cgroup v1 host. Returns the environment for nspawn and
    whether we mounted it."""
    env = dict(os.environ)
    fstype = run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"]).stdout.strip()
    if fstype == "cgroup2fs":
        return env, False
    env["SYSTEMD_NSPAWN_UNIFIED_HIERARCHY"] = "0"
    named = "/sys/fs/cgroup/systemd"
    if os.path.ismount(named):
        return env, False
    os.makedirs(named, exist_ok=True)
    r = run(["mount", "-t", "cgroup", "-o", "none,name=systemd", "cgroup",
             named])
    if r.returncode != 0:
        raise Skip("cannot mount the name=systemd cgroup: %s" % r.stderr)
    return env, True


def container_pid1(nspawn_pid):
    """The host pid of the container's PID 1: a descendant of nspawn that
    is pid 1 in its own namespace."""
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            with open(status) as f:
                fields = dict(l.split(":", 1) for l in f if ":" in l)
        except OSError:
            continue
        nspid = fields.get("NSpid", "").split()
        if len(nspid) < 2 or nspid[-1] != "1":
            continue
        pid, hops = int(nspid[0]), 0
        while pid > 1 and hops < 8:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    pid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                break
            if pid == nspawn_pid:
                return int(nspid[0])
            hops += 1
    return None


class Container:
    def __init__(self, root, tmp):
        self.root, self.tmp = root, tmp
        self.proc = self.pid1 = None
        self.log = os.path.join(tmp, "nspawn.log")

    def boot(self, env):
        out = open(self.log, "w")
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "--boot", "--directory", self.root,
             "--machine", "pombo-test-%d" % os.getpid(), "--register=no",
             "--keep-unit", "--console=read-only"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=env, start_new_session=True)
        out.close()
        end = time.monotonic() + left(30)
        while self.pid1 is None and time.monotonic() < end:
            if self.proc.poll() is not None:
                raise Skip("systemd-nspawn exited %d: %s" %
                           (self.proc.returncode, self.log_tail()))
            self.pid1 = container_pid1(self.proc.pid)
            time.sleep(0.2)
        if self.pid1 is None:
            raise Skip("systemd-nspawn started no init: " + self.log_tail())
        # until its init has made its private socket, systemctl says
        # "offline"; then --wait waits for the boot to end
        end = time.monotonic() + left(90)
        state, r = "", None
        while time.monotonic() < end and self.proc.poll() is None and \
                state not in ("running", "degraded"):
            try:
                r = self.sh("systemctl is-system-running --wait",
                            timeout=end - time.monotonic())
            except subprocess.TimeoutExpired:
                break
            state = r.stdout.strip()
            if state not in ("running", "degraded"):
                time.sleep(0.5)
        if state not in ("running", "degraded"):
            failed = self.sh("systemctl --failed --no-legend").stdout \
                if self.proc.poll() is None else ""
            raise Skip("the container's systemd did not finish booting "
                       "(%r): %s%s" % (state, failed, self.log_tail()))
        return state

    def log_tail(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-1500:]
        except OSError:
            return ""

    def argv(self, cmd, env=()):
        return ["nsenter", "-t", str(self.pid1), "-a", "env", "-i",
                "PATH=" + PATH, "LANG=C.UTF-8", "HOME=/root"] + \
            list(env) + ["sh", "-c", cmd]

    def sh(self, cmd, timeout=60, env=(), input=None):
        """cmd run by sh inside the container, as root."""
        return run(self.argv(cmd, env), timeout=timeout, input=input)

    def sh_tty(self, cmd, answer, timeout=60):
        """cmd run on a terminal, typing answer at every "Password:"
        prompt; returns (exit status, what the terminal showed)."""
        master, slave = os.openpty()

        def ctty():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        proc = subprocess.Popen(self.argv(cmd), stdin=slave, stdout=slave,
                                stderr=slave, start_new_session=True,
                                preexec_fn=ctty)
        os.close(slave)
        shown, answered = b"", 0
        end = time.monotonic() + left(timeout)
        try:
            while time.monotonic() < end:
                ready, _, _ = select.select([master], [], [], 0.2)
                if ready:
                    try:
                        data = os.read(master, 4096)
                    except OSError:
                        data = b""
                    if not data:
                        break
                    shown += data
                    if shown.count(b"Password:") > answered:
                        os.write(master, answer.encode() + b"\n")
                        answered += 1
                elif proc.poll() is not None:
                    break
            proc.wait(timeout=left(5))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        finally:
            os.close(master)
        return proc.returncode, shown.decode("utf-8", "replace")

    def stop(self):
        """Power the container off; kill it if it will not go."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()       # nspawn: SIGRTMIN+3 to its init
        try:
            self.proc.wait(timeout=20)
            return
        except subprocess.TimeoutExpired:
            pass
        for pid in (self.pid1, self.proc.pid):
            if pid:
                try:        # init's death ends its whole pid namespace
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


# --- the checks, once it runs -----------------------------------------------
def free_ports(n):
    ports = set()
    while len(ports) < n:
        ports.add(pombo.free_port())
    return sorted(ports)


SOCKETS = ["pombo-smtpd.socket", "pombo-submission.socket",
           "pombo-submissions.socket", "pombo-pop3d.socket",
           "pombo-pop3s.socket"]


def edit_conf(path, settings):
    """What sudoedit would do: each key's sample line made a setting."""
    with open(path) as f:
        lines = f.read().splitlines()
    done = set()
    for i, line in enumerate(lines):
        m = re.match(r"#?(\w+) = ", line)
        if m and m.group(1) in settings and m.group(1) not in done:
            lines[i] = "%s = %s" % (m.group(1), settings[m.group(1)])
            done.add(m.group(1))
    lines += ["%s = %s" % kv for kv in settings.items() if kv[0] not in done]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def readme_steps(tap, box, root, ports):
    """Users, groups and permissions, then Start it: every command line
    of README.md, in order. False if one failed."""
    lineage = "/root/lineage"
    r = box.sh("mkdir -p %s && cd %s && openssl req -x509 -newkey rsa:2048 "
               "-nodes -days 2 -subj /CN=mail.%s -keyout privkey.pem "
               "-out fullchain.pem" % (lineage, lineage, DOMAIN))
    if not tap.ok(r.returncode == 0, "a self-signed certificate, as "
                  "certbot's would be", r.stderr[-1000:]):
        return False
    steps = [(l, "users") for l in code_lines(
        subsection("Users, groups and permissions"))] + \
        [(l, "start") for l in code_lines(subsection("Start it"))]
    tap.ok(len(steps) > 10, "README.md has the steps (%d lines)" %
           len(steps))
    dropins = False
    for line, part in steps:
        if not line or line.startswith("#"):
            continue
        if part == "start" and not dropins:
            dropins = True
            port_dropins(root, ports)
        cmd = re.sub(r"(^|\|\s*)sudo\s+", r"\1", line)
        if cmd.startswith("sudoedit "):
            path = root + shlex.split(cmd)[1]
            edit_conf(path, {
                "hostname": "mail." + DOMAIN, "local_domains": DOMAIN,
                "tls_cert": "/etc/pombo/tls/fullchain.pem",
                "tls_key": "/etc/pombo/tls/privkey.pem",
                "tls_proxy": "/run/pombo/tlsd.sock"})
            tap.ok(True, "README: %s: hostname, local_domains, tls_cert, "
                   "tls_key, tls_proxy set" % cmd.split("#")[0].strip())
            continue
        if "openssl passwd" in cmd:
            rc, shown = box.sh_tty(cmd, PASSWORD)
            ok = rc == 0
            diag = shown
        else:
            r = box.sh(cmd, timeout=120, env=["RENEWED_LINEAGE=" + lineage])
            ok, diag = r.returncode == 0, r.stdout + r.stderr
        if not ok:
            diag = diag[-1500:] + "\n" + box.sh(
                "journalctl -b --no-pager -n 30 -o cat", timeout=30).stdout
        if not tap.ok(ok, "README: %s" % line, diag):
            return False
    return True


def port_dropins(root, ports):
    """Each socket on its own free port of 127.0.0.1; queued's watchdog
    at 5 s instead of 30."""
    for sock, port in zip(SOCKETS, ports):
        d = os.path.join(root, "etc/systemd/system", sock + ".d")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "test-port.conf"), "w") as f:
            f.write("[Socket]\nListenStream=\nListenStream=127.0.0.1:%d\n" %
                    port)
    d = os.path.join(root, "etc/systemd/system/pombo-queued.service.d")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "test-watchdog.conf"), "w") as f:
        f.write("[Service]\nWatchdogSec=5s\n")


def message(subject):
    return ("From: Alice <alice@example.net>\r\n"
            "To: Bob <bob@%s>\r\n"
            "Subject: %s\r\n"
            "Message-ID: <%s@example.net>\r\n"
            "\r\n"
            "Hello Bob,\r\n"
            "..a line starting with a dot, and one with trailing blanks  \r\n"
            "\r\n"
            "-- \r\n"
            "Alice\r\n" % (DOMAIN, subject, subject.replace(" ", "-"))
            ).encode()


def send(tap, port, subject, auth):
    """The message by SMTP to 127.0.0.1:port; its queue id or None."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=left(30)) as c:
            c.ehlo("client.example.net")
            if auth:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                c.starttls(context=ctx)
                c.ehlo("client.example.net")
                c.login("bob@" + DOMAIN, PASSWORD)
            # an authenticated client sends as its own address
            code, resp = c.mail("bob@" + DOMAIN if auth
                                else "alice@example.net")
            if code != 250:
                raise smtplib.SMTPResponseException(code, resp)
            code, resp = c.rcpt("bob@" + DOMAIN)
            if code != 250:
                raise smtplib.SMTPResponseException(code, resp)
            code, resp = c.data(message(subject))
    except (OSError, smtplib.SMTPException) as e:
        tap.ok(False, "SMTP to port %d%s" % (port, " with AUTH" if auth
                                             else ""), repr(e))
        return None
    m = re.search(rb"queued as (\S+)", resp)
    tap.ok(code == 250 and m, "SMTP to port %d%s: %d %s" %
           (port, " (STARTTLS, AUTH)" if auth else "", code,
            resp.decode("utf-8", "replace")))
    return m.group(1).decode() if m else None


def pop3_messages(port, want, timeout=30):
    """The messages in bob's Maildir by POP3, once there are want."""
    end = time.monotonic() + left(timeout)
    msgs = []
    while time.monotonic() < end:
        try:
            p = poplib.POP3("127.0.0.1", port, timeout=left(30))
            try:
                p.user("bob@" + DOMAIN)
                p.pass_(PASSWORD)
                n = p.stat()[0]
                if n >= want:
                    msgs = [b"\r\n".join(p.retr(i + 1)[1]) + b"\r\n"
                            for i in range(n)]
                    p.quit()
                    return msgs
                p.quit()
            finally:
                p.close()
        except (OSError, poplib.error_proto):
            pass
        time.sleep(0.5)
    return msgs


def body_of(delivered, sent):
    """delivered without the trace headers Pombo prepends, if that is
    all it added, else delivered."""
    i = delivered.find(sent)
    if i < 0 or i + len(sent) != len(delivered):
        return delivered
    added = delivered[:i].decode("utf-8", "replace")
    names = re.findall(r"(?m)^([\w-]+):", added)
    if set(names) <= {"Return-Path", "Delivered-To", "Received"}:
        return sent
    return delivered


def unit_prop(box, unit, prop):
    return box.sh("systemctl show -p %s --value %s" % (prop, unit)
                  ).stdout.strip()


def checks(tap, box, root, ports):
    port = dict(zip(SOCKETS, ports))
    for unit in ["pombo-queued.socket", "pombo-queued.service"] + SOCKETS:
        state = box.sh("systemctl is-active " + unit).stdout.strip()
        tap.eq(state, "active", "%s is active" % unit)

    subj25, subj587 = "by port 25", "by submission"
    qid25 = send(tap, port["pombo-smtpd.socket"], subj25, auth=False)
    qid587 = send(tap, port["pombo-submission.socket"], subj587, auth=True)

    # the submission's STARTTLS went through pombo-tlsd, which systemd
    # started on the handler's connection (its unit has no network of
    # its own: the client's socket comes over the Unix socket)
    tap.eq(box.sh("systemctl is-active pombo-tlsd.service").stdout.strip(),
           "active", "pombo-tlsd.service was started by its socket")
    hlog = box.sh("journalctl -b --no-pager -o cat _COMM=smtpd",
                  timeout=30).stdout
    tap.ok(" TLS TLSv1." in hlog and "TLS in-process" not in hlog,
           "smtpd's STARTTLS was pombo-tlsd's, not its own", hlog[-2000:])

    msgs = pop3_messages(port["pombo-pop3d.socket"], 2)
    tap.eq(len(msgs), 2, "POP3: both messages in bob's Maildir")
    for subject, qid in ((subj25, qid25), (subj587, qid587)):
        sent = message(subject)
        got = [mm for mm in msgs if b"Subject: " + subject.encode() in mm]
        tap.ok(got and body_of(got[0], sent) == sent,
               "POP3: the message %s, byte for byte after the trace "
               "headers" % subject, got[0][:3000] if got else msgs)
        tap.ok(got and qid and (b"id " + qid.encode()) in got[0],
               "its Received: header names queue id %s" % qid)

    journal = box.sh("journalctl -u pombo-queued --no-pager -o cat",
                     timeout=30).stdout
    for qid in (qid25, qid587):
        tap.ok(qid and qid in journal,
               "journalctl -u pombo-queued names queue id %s" % qid,
               journal[-2000:])
    cmd = re.search(r"Logs: `(journalctl [^`]*)`", DEPLOY)
    if tap.ok(cmd, "README.md names a journalctl command for the logs"):
        out = box.sh(cmd.group(1) + " --no-pager", timeout=30).stdout
        tap.ok(qid25 and len(re.findall(re.escape(qid25), out)) >= 2,
               "README's %s: smtpd's and queued's lines of %s" %
               (cmd.group(1), qid25), out[-2000:])

    log("mail and journal checked")

    # the watchdog: a queued that stops answering is killed and restarted
    pid = unit_prop(box, "pombo-queued.service", "MainPID")
    restarts = unit_prop(box, "pombo-queued.service", "NRestarts")
    wd = unit_prop(box, "pombo-queued.service", "WatchdogUSec")
    r = box.sh("kill -STOP %s" % pid)
    tap.ok(pid not in ("", "0") and r.returncode == 0,
           "queued (pid %s) stopped with SIGSTOP" % pid, r.stderr)
    stopped = time.monotonic()
    end = stopped + left(45)
    new = pid
    while time.monotonic() < end:
        new = unit_prop(box, "pombo-queued.service", "MainPID")
        if new not in ("", "0", pid) and unit_prop(
                box, "pombo-queued.service", "ActiveState") == "active":
            break
        time.sleep(0.5)
    tap.ok(new not in ("", "0", pid), "the watchdog (%s) restarted queued "
           "(pid %s, was %s) in %.0f s" % (wd, new, pid,
                                            time.monotonic() - stopped))
    tap.ok(unit_prop(box, "pombo-queued.service", "NRestarts") not in
           ("", restarts), "NRestarts went up")
    tap.ok("Watchdog timeout" in box.sh(
        "journalctl -u pombo-queued --no-pager -o cat", timeout=30).stdout,
        "the journal says why: watchdog timeout")
    qid = send(tap, port["pombo-smtpd.socket"], "after the restart",
               auth=False)
    tap.ok(qid is not None, "the restarted queued takes mail")

    log("watchdog checked")

    # systemd-analyze security of every unit, as loaded by this systemd
    for unit in ops.UNITS:
        name = unit.replace("@.", "@test.")
        if unit.endswith(".socket"):
            # "security" judges services only: sockets offline, as files
            cmd = "systemd-analyze security --offline=yes " \
                "/lib/systemd/system/" + unit
        else:
            cmd = "systemd-analyze security --no-pager " + name
        r = box.sh(cmd, timeout=60)
        m = re.search(r"Overall exposure level for \S+: (\d+\.\d)", r.stdout)
        score = float(m.group(1)) if m else None
        tap.ok(score is not None and score <= MAX_EXPOSURE,
               "inside: systemd-analyze security %s: %s (at most %.1f)" %
               (name, score, MAX_EXPOSURE), (r.stdout + r.stderr)[-2000:])


def installed(tap, box, root):
    """The installed programs, the README steps, the checks."""
    missing = box.sh("for p in /usr/libexec/pombo/* "
                     "/usr/sbin/pombo-*; do ldd $p; done | "
                     "grep 'not found'")
    tap.ok(missing.stdout == "", "every installed program finds its "
           "libraries in the container", missing.stdout)
    ports = free_ports(len(SOCKETS))
    if readme_steps(tap, box, root, ports):
        log("README's steps done")
        checks(tap, box, root, ports)


def main():
    tmp = tempfile.mkdtemp(prefix="pombo-nspawn-")
    box = build = lock = overlay = None
    mounted = False
    tap = pombo.Tap()
    try:
        try:
            machine_ready()
            flags = configure_flags()
            if not flags:
                raise Skip("README.md's Build and install has no configure")
            builddir, build = start_build(flags, tmp)
            t = time.monotonic()
            lock = cached_rootfs()
            log("root filesystem ready in %.0f s" % (time.monotonic() - t))
            t = time.monotonic()
            root, overlay = writable_copy(tmp)
            log("%s in %.1f s" % ("an overlay on the cache" if overlay
                                  else "copied", time.monotonic() - t))
            env, mounted = cgroup_setup()
            box = Container(root, tmp)
            state = box.boot(env)
            log("booted (%s) with pid 1 = host pid %d" % (state, box.pid1))
        except Skip as e:
            print("1..0 # SKIP %s" % e)
            return 0

        if build is not None:
            try:
                out, _ = build.communicate(timeout=left(400))
            except subprocess.TimeoutExpired:
                os.killpg(build.pid, signal.SIGKILL)
                out, _ = build.communicate()
            ok = tap.ok(build.returncode == 0, "configure %s && make" %
                        " ".join(flags), out[-3000:])
            build = None
            log("built")
        else:
            ok = tap.ok(True, "this build was configured with %s" %
                        " ".join(flags))
        if ok:
            r = run(["make", "-C", builddir, "install", "DESTDIR=" + root],
                    timeout=300, env=ops.clean_env())
            ok = tap.ok(r.returncode == 0, "make install DESTDIR=<container>",
                        (r.stdout + r.stderr)[-3000:])
            log("installed")
        if ok:
            try:
                installed(tap, box, root)
            except (subprocess.TimeoutExpired, OSError) as e:
                tap.ok(False, "the test went on to its end", repr(e))
        tap.done()
    finally:
        if build is not None and build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
            build.wait()
        if box is not None:
            box.stop()
        if overlay:
            r = run(["umount", overlay])
            if r.returncode != 0:   # still busy: detach it, then remove
                run(["umount", "-l", overlay])
        if lock is not None:
            lock.close()
        if mounted:
            run(["umount", "/sys/fs/cgroup/systemd"])
        shutil.rmtree(tmp, ignore_errors=True)
        log("cleaned up, %.0f s in all" % (time.monotonic() - START))


if __name__ == "__main__":
    sys.exit(main())
