"""Benchmark helpers: statistics, processes, the machine's own limits.

Used by tests/bench/bench.py and peers.py. Nothing here talks to the
network; every loop is bounded in count and in time.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import pombo  # noqa: E402,F401  (re-exported: free_port, wait_for, prog)

free_port = pombo.free_port
wait_for = pombo.wait_for


def log(*args):
    print("bench:", *args, flush=True)


# ---------------------------------------------------------------- statistics

def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return None
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def percentile(xs, p):
    """Nearest-rank percentile (p in 0..100)."""
    xs = sorted(xs)
    if not xs:
        return None
    k = max(0, min(len(xs) - 1, int(-(-p * len(xs) // 100)) - 1))
    return xs[k]


def summary(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": median(xs), "min": min(xs), "max": max(xs),
            "n": len(xs), "rounds": xs}


# ---------------------------------------------------------------- processes

class Procs:
    """Every process the benchmark started, so a finally block ends them."""

    def __init__(self):
        self.procs = []

    def popen(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            except ProcessLookupError:
                pass
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    def stop_all(self):
        for p in list(reversed(self.procs)):
            self.stop(p)


def run(argv, timeout=120, check=True, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    r = subprocess.run(argv, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s %s" % (
            " ".join(argv), r.returncode, r.stdout[-2000:],
            r.stderr[-2000:]))
    return r


def children(pid):
    """The direct children of a process."""
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def proc_status(pid, key):
    """A kB figure from /proc/PID/status (VmHWM, VmRSS), or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def memory(pid):
    """kB: peak RSS (VmHWM), RSS, PSS and private (USS) of a process."""
    out = {"hwm": proc_status(pid, "VmHWM"), "rss": proc_status(pid, "VmRSS")}
    try:
        priv = 0
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k, _, rest = line.partition(":")
                if k == "Pss":
                    out["pss"] = int(rest.split()[0])
                elif k in ("Private_Clean", "Private_Dirty"):
                    priv += int(rest.split()[0])
        out["private"] = priv
    except (OSError, ValueError):
        pass
    return out


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def wait_quiet(limit, max_wait):
    """Wait (bounded) until the 1-minute load average is below limit."""
    end = time.time() + max_wait
    while True:
        la = loadavg()
        if la[0] < limit or time.time() >= end:
            return la
        log("load average %.2f above %.2f: waiting" % (la[0], limit))
        time.sleep(min(20, max(1, end - time.time())))


def create_cost(directory, n=200):
    """ms to create one empty file: n of them in a new folder under
    directory, kept (a removal would be one more recently deleted
    inode)."""
    d = tempfile.mkdtemp(prefix="create-probe-", dir=directory)
    t0 = time.perf_counter()
    for i in range(n):
        os.close(os.open(os.path.join(d, str(i)),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return (time.perf_counter() - t0) / n * 1000


def wait_settled(directory, limit_ms, max_wait):
    """Wait (bounded) until creating a file in directory costs less than
    limit_ms twice in a row, 2 s apart; returns the last cost (README:
    "Files removed before a figure")."""
    end = time.time() + max_wait
    good = 0
    while True:
        ms = create_cost(directory)
        good = good + 1 if ms < limit_ms else 0
        if good >= 2 or time.time() >= end:
            return ms
        if good == 0:
            log("creating a file costs %.3f ms (above %.2f): waiting"
                % (ms, limit_ms))
        time.sleep(max(0.1, min(10 if good == 0 else 2,
                                end - time.time())))


def drop_caches():
    """Drop the page cache (root only). Returns True if it was done."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def count_files(*dirs):
    n = 0
    for d in dirs:
        for _root, _dirs, files in os.walk(d):
            n += len(files)
    return n


# ---------------------------------------------------------------- limits

def fsync_rate(directory, seconds=3.0, max_ops=200000, sync=os.fsync):
    """4 KB appended and synced (fsync, or sync=os.fdatasync) in a loop:
    syncs per second; its inverse is one sync's latency."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    block = b"x" * 4096
    n = 0
    t0 = time.monotonic()
    try:
        while n < max_ops and time.monotonic() - t0 < seconds:
            os.write(fd, block)
            sync(fd)
            n += 1
    finally:
        os.close(fd)
        os.unlink(path)
    return n / (time.monotonic() - t0)


def spawn_rate(seconds=3.0, max_ops=100000, prog="/bin/true"):
    """fork+exec of a trivial program and wait for it: spawns a second.
    posix_spawn (vfork+exec) from Python, one at a time."""
    n = 0
    t0 = time.monotonic()
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        while n < max_ops and time.monotonic() - t0 < seconds:
            pid = os.posix_spawn(prog, [prog], {}, file_actions=[
                (os.POSIX_SPAWN_DUP2, devnull, 0),
                (os.POSIX_SPAWN_DUP2, devnull, 1)])
            os.waitpid(pid, 0)
            n += 1
    finally:
        os.close(devnull)
    return n / (time.monotonic() - t0)


# ---------------------------------------------------------------- packages

def ensure_packages(pkgs):
    """apt-get install what is missing; no service starts meanwhile (a
    temporary policy-rc.d, unless the machine has one). Returns the list
    of packages installed."""
    missing = []
    for p in pkgs:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p],
                           capture_output=True, text=True)
        if "install ok installed" not in r.stdout:
            missing.append(p)
    if not missing:
        return []
    if os.geteuid() != 0:
        raise RuntimeError("missing packages %s (run as root)" %
                           " ".join(missing))
    log("installing " + " ".join(missing))
    policy = "/usr/sbin/policy-rc.d"
    made = False
    if not os.path.exists(policy):
        with open(policy, "w") as f:
            f.write("#!/bin/sh\n# written by Pombo's bench for the install"
                    "\nexit 101\n")
        os.chmod(policy, 0o755)
        made = True
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if "postfix" in missing:
        # only the package: the system's own instance stays unconfigured
        subprocess.run(["debconf-set-selections"], input=(
            "postfix postfix/main_mailer_type select No configuration\n"),
            text=True, check=False)
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, timeout=600,
                       check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq",
                        "--no-install-recommends"] + missing, env=env,
                       timeout=1200, check=True)
    finally:
        if made:
            os.unlink(policy)
    return missing
