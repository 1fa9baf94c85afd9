"""DNSSEC-signed test zones on loopback, for the DANE tests: keys made by
ldns-keygen, zones signed by ldns-signzone at test time, served by nsd
on 127.0.0.1 and a free port with a private config in the test's
folder. The trust anchor for a zone is its key's DS record file
(what libunbound's ub_ctx_add_ta_file reads)."""
import os
import socket
import subprocess
import time

from pombo import wait_for


def make_key(directory, zone):
    """A key-signing key (ECDSA P-256) for zone: its base path; the
    DS record is in base + ".ds"."""
    out = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k",
                          zone], cwd=directory, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return os.path.join(directory, out.strip())


def ds_record(key_base):
    with open(key_base + ".ds") as f:
        return f.read().strip()


def zone_file(directory, zone, records, signed_with=None):
    """Write zone (SOA and NS at ns.<zone or parent>, then records, one
    zone-file line each, relative names allowed) and sign it with the
    key base given: the path of the file to serve."""
    path = os.path.join(directory, zone + ".zone")
    with open(path, "w") as f:
        f.write("$ORIGIN %s.\n$TTL 300\n" % zone)
        f.write("@ SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n" %
                (zone, zone))
        f.write("@ NS ns.%s.\n" % zone)
        f.write("ns A 127.0.0.1\n")
        for r in records:
            f.write(r + "\n")
    if signed_with is None:
        return path
    # inception an hour back: clocks of the test and the check agree
    incept = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() - 3600))
    subprocess.run(["ldns-signzone", "-i", incept, "-o", zone + ".",
                    "-f", path + ".signed", path, signed_with],
                   cwd=directory, check=True, capture_output=True,
                   timeout=60)
    return path + ".signed"


def tamper_rrsig(path, owner, covered):
    """Change one octet of the signature over owner's covered RRset in
    the signed zone file at path: validation must then fail (bogus)."""
    import base64
    with open(path) as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines):
        f = line.split()
        if len(f) > 5 and f[0] == owner and f[3] == "RRSIG" and \
                f[4] == covered:
            sig = bytearray(base64.b64decode("".join(f[12:])))
            sig[len(sig) // 2] ^= 0x01
            lines[i] = "\t".join(f[:12] +
                                 [base64.b64encode(bytes(sig)).decode()])
            break
    else:
        raise RuntimeError("no RRSIG %s at %s in %s" % (covered, owner, path))
    with open(path, "w") as f:
        f.write("\n".join(lines))


def _free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (nsd binds both)."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


class Nsd:
    """nsd serving zones ({name: file}) on 127.0.0.1:<port>."""

    def __init__(self, directory, zones):
        self.dir = os.path.join(directory, "nsd")
        os.makedirs(self.dir, exist_ok=True)
        self.log = os.path.join(self.dir, "nsd.log")
        self.p = None
        for _ in range(5):
            self.port = _free_port()
            conf = os.path.join(self.dir, "nsd.conf")
            with open(conf, "w") as f:
                f.write("server:\n"
                        "  ip-address: 127.0.0.1\n"
                        "  port: %d\n"
                        "  do-ip6: no\n"
                        "  server-count: 1\n"
                        "  username: \"\"\n"
                        "  chroot: \"\"\n"
                        "  database: \"\"\n"
                        "  zonesdir: \"%s\"\n"
                        "  zonelistfile: \"%s/zone.list\"\n"
                        "  xfrdfile: \"%s/xfrd.state\"\n"
                        "  xfrdir: \"%s\"\n"
                        "  pidfile: \"%s/nsd.pid\"\n"
                        "  logfile: \"%s\"\n"
                        "  verbosity: 1\n"
                        "remote-control:\n"
                        "  control-enable: no\n" %
                        (self.port, self.dir, self.dir, self.dir, self.dir,
                         self.dir, self.log))
                for name, path in zones.items():
                    f.write("zone:\n  name: \"%s\"\n  zonefile: \"%s\"\n" %
                            (name, path))
            self.p = subprocess.Popen(["nsd", "-d", "-c", conf],
                                      stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            if wait_for(lambda: self.up() or self.p.poll() is not None,
                        15, 0.05) and self.p.poll() is None:
                return
            if self.p.poll() is None:
                self.p.kill()
            self.p.wait()
        raise RuntimeError("nsd did not start: " + self.log_text())

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def up(self):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.2)
            # any answer (REFUSED for the root) means it serves
            s.sendto(b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                     b"\x00\x00\x06\x00\x01", ("127.0.0.1", self.port))
            s.recv(512)
            s.close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
