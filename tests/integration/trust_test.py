"""Who queued believes: a local program on the queue socket may submit as
"local", but may not claim a network client's address, an AUTH user or
TLS (only the handlers' user may); and only the admin may list the queue
or change it."""
import os
import pwd
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
if os.geteuid() != 0:
    tap.skip("uid checks", "not running as root")
    tap.done()
nobody = pwd.getpwnam("nobody")
inst = pombo.Instance({"user": "daemon"}).start()
os.chmod(inst.dir, 0o755)


def as_nobody(lines):
    """Talk the queue protocol as uid nobody; the replies."""
    script = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
              "s.connect(sys.argv[1])\ns.sendall(sys.stdin.buffer.read())\n"
              "s.shutdown(socket.SHUT_WR)\nd=b''\nwhile True:\n"
              " c=s.recv(65536)\n if not c: break\n d+=c\n"
              "sys.stdout.buffer.write(d)\n")
    r = subprocess.run(["/usr/bin/python3", "-c", script, inst.sock],
                       input=lines, capture_output=True, timeout=20,
                       user=nobody.pw_uid, group=nobody.pw_gid)
    return r.stdout.decode()


try:
    out = as_nobody(b"POMBO 1\nHELO LOCAL local x.test\n"
                    b"MAIL <n@x.test>\nRCPT <bob@example.test>\nQUIT\n")
    tap.ok("250 2.1.5 Ok" in out, "a local program may submit as local", out)
    out = as_nobody(b"POMBO 1\nHELO ESMTP 192.0.2.1 x.test\n")
    tap.ok("500 5.5.2 Queue protocol error: only the mail handlers speak "
           "for network clients" in out, "but may not claim a network "
           "client", out)
    out = as_nobody(b"POMBO 1\nHELO ESMTPA local x.test "
                    b"auth=bob@example.test\n")
    tap.ok("only the mail handlers" in out, "nor an AUTH user", out)
    out = as_nobody(b"POMBO 1\nLIST\n")
    tap.ok("550 5.7.1 Permission denied" in out, "nor list the queue", out)
    out = as_nobody(b"POMBO 1\nFLUSH\n")
    tap.ok("550 5.7.1 Permission denied" in out, "nor flush it", out)
    r = subprocess.run([pombo.prog("queued/pombo-queue"), "-c",
                        inst.conf_path, "list"], capture_output=True,
                       text=True, timeout=20)
    tap.eq(r.returncode, 0, "root may list the queue")
finally:
    inst.check_clean(tap)
    inst.cleanup()
tap.done()
