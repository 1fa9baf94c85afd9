"""What the tests of units/ and man/ share: where the generated files are,
a systemd unit file reader, and the sample pombo.conf as a dict.

Used by tests/ops/*_test.py; trusts the build tree it is pointed at
(top_builddir, top_srcdir from make check).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402,F401  (Tap, prog, Instance for the tests)

BUILD = pombo.TOP_BUILDDIR
SRC = pombo.TOP_SRCDIR

UNITS = [
    "pombo-queued.socket", "pombo-queued.service",
    "pombo-smtpd.socket", "pombo-smtpd@.service",
    "pombo-submission.socket", "pombo-submission@.service",
    "pombo-submissions.socket", "pombo-submissions@.service",
    "pombo-pop3d.socket", "pombo-pop3d@.service",
    "pombo-pop3s.socket", "pombo-pop3s@.service",
    "pombo-tlsd.socket", "pombo-tlsd.service",
]

# the handler each Accept=yes socket starts, and the options it gets
HANDLERS = {
    "pombo-smtpd.socket": ("pombo-smtpd@.service", "smtpd", []),
    "pombo-submission.socket": ("pombo-submission@.service", "smtpd",
                                ["--submission"]),
    "pombo-submissions.socket": ("pombo-submissions@.service", "smtpd",
                                 ["--submission", "--implicit-tls"]),
    "pombo-pop3d.socket": ("pombo-pop3d@.service", "pop3d", []),
    "pombo-pop3s.socket": ("pombo-pop3s@.service", "pop3d",
                           ["--implicit-tls"]),
}

# programs the units and samples start, by installed name
PROGRAMS = {"smtpd": "smtpd/smtpd", "pop3d": "pop3d/pop3d",
            "queued": "queued/queued", "pombo-tlsd": "tlsd/pombo-tlsd"}


def unit_path(name):
    return os.path.join(BUILD, "units", name)


def read_unit(path):
    """{section: [(key, value), ...]} of a unit file; comments dropped.
    Backslash continuations are joined, as systemd does."""
    sections, cur, pending = {}, None, ""
    with open(path) as f:
        for raw in f:
            line = pending + raw.rstrip("\n")
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            s = line.strip()
            if not s or s[0] in "#;":
                continue
            if s.startswith("[") and s.endswith("]"):
                cur = sections.setdefault(s[1:-1], [])
                continue
            key, _, value = s.partition("=")
            cur.append((key.strip(), value.strip()))
    return sections


def values(unit, section, key):
    """Every value of key in section, lists split on blanks."""
    out = []
    for k, v in unit.get(section, []):
        if k == key:
            out += v.split()
    return out


def value(unit, section, key):
    """The last value of key (the one systemd uses), or None."""
    found = [v for k, v in unit.get(section, []) if k == key]
    return found[-1] if found else None


def sample_conf(path=None):
    """{key: default} from the generated pombo.conf.sample."""
    path = path or os.path.join(BUILD, "man", "pombo.conf.sample")
    conf = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#") and " = " in line and \
                    not line.startswith("# "):
                key, _, default = line[1:].partition(" = ")
                conf[key.strip()] = default.strip()
    return conf


def clean_env():
    """The environment without make's jobserver, for a nested make."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
              "DESTDIR"):
        env.pop(k, None)
    return env
