"""A handler's syslog line carries the local time, as every Pombo
program's does: musl's syslog(3) stamps lines in UTC, so the static
smtpd (musl) sends its lines itself. A daemon that keeps the sender's
time (syslog-ng's default) would otherwise file smtpd's lines hours
away from queued's in a zone other than UTC. Run where /dev/log is a
datagram socket of this test's (root: a mount namespace) with
TZ=Asia/Kolkata (+05:30, no summer time); smtpd with a missing config
logs one line."""
import calendar
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
ZONE = "Asia/Kolkata"
OFFSET = 5 * 3600 + 1800
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec"]


def stamp_offset(line):
    """Seconds between the line's stamp ("<pri>Mmm dd hh:mm:ss ...") and
    UTC now, read as if the stamp were UTC: OFFSET for local time."""
    text = line.split(b">", 1)[1].decode()
    mon, day, hms = text[:3], int(text[4:6]), text[7:15]
    h, m, s = (int(x) for x in hms.split(":"))
    now = time.gmtime()
    year = now.tm_year
    t = calendar.timegm((year, MONTHS.index(mon) + 1, day, h, m, s))
    diff = t - calendar.timegm(now)
    # around New Year the stamp's year is the other one
    if diff > 180 * 86400:
        diff -= 365 * 86400
    elif diff < -180 * 86400:
        diff += 365 * 86400
    return diff


folder = tempfile.mkdtemp(prefix="pombo-syslog-")
devdir = os.path.join(folder, "dev")
if os.geteuid() != 0 or shutil.which("unshare") is None or \
        not os.path.exists("/usr/share/zoneinfo/" + ZONE):
    tap.skip("smtpd's syslog line in local time", "needs root, unshare "
             "and the zone " + ZONE)
    tap.done()
os.makedirs(devdir)
nodes = ("null", "zero", "random", "urandom")
for n in nodes:
    open(os.path.join(devdir, n), "w").close()
log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
log.bind(os.path.join(devdir, "log"))
log.settimeout(10)
script = ('for n in %s; do mount --bind /dev/$n "$0/$n" || exit 1; '
          'done; mount --bind "$0" /dev && exec "$@"' % " ".join(nodes))
env = dict(os.environ, TZ=ZONE)
progs = ["smtpd/smtpd"]
if os.path.exists(pombo.prog("smtpd/smtpd-full")):
    progs.append("smtpd/smtpd-full")
try:
    for prog in progs:
        subprocess.run(["unshare", "--mount", "--", "sh", "-c", script,
                        devdir, pombo.prog(prog), "-c",
                        os.path.join(folder, "absent.conf")],
                       input=b"", env=env, capture_output=True, timeout=30)
        try:
            line = log.recv(4096)
        except socket.timeout:
            line = None
        tap.ok(line is not None and b"pombo/smtpd[" in line and
               b"absent.conf" in line, "%s: its line reached /dev/log" %
               prog, line)
        off = stamp_offset(line) if line else None
        tap.ok(off is not None and abs(off - OFFSET) < 120,
               "%s: stamped in local time (%s, +05:30)" % (prog, ZONE),
               (line, off))
finally:
    log.close()
    shutil.rmtree(folder, ignore_errors=True)
tap.done()
