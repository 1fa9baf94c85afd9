"""A failed login takes as long for an unknown user as for a wrong
password, in pop3d (USER/PASS) and smtpd (AUTH PLAIN), over TCP with
poplib and smtplib. The users' hashes are SHA-512 with many rounds, so
that a check costs a few hundred ms:
 - login_delay = 0: an unknown user is checked against a hash of the
   same scheme and cost (a fixed yescrypt dummy was much cheaper);
 - login_delay = 2s: the failure is answered 2 s after the attempt
   began, whatever the check cost (the delay used to be added after it).
The minimum of a few tries is compared, and loosely: the machine may be
busy, but the differences this catches are hundreds of ms.
A users file that mixes schemes (yescrypt at its default cost, SHA-512
with many rounds) costs the same for an unknown user as for a known one
of either scheme, whichever comes first in the file (the dummy was the
first usable hash: the users of the other scheme stood out)."""
import base64
import ctypes
import os
import poplib
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

# ~0.3 s of SHA-512 on this class of machine (0.8 s when it is busy);
# yescrypt's default is ~15 ms, SHA-512's 5000 rounds 1 ms
ROUNDS = 1000000


def sha512(password, salt):
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return lib.crypt(password.encode(),
                     ("$6$rounds=%d$%s$" % (ROUNDS, salt)).encode()).decode()


def instance(delay):
    inst = pombo.Instance({"login_delay": delay,
                           "max_login_failures": "20"})
    with open(inst.settings["users_file"], "w") as f:
        f.write("alice@example.test:%s\n" % sha512("other", "alicesalt"))
        f.write("bob@example.test:%s\n" % sha512("secret", "bobsalt"))
    return inst


def pop3_times(port, users, tries):
    """Seconds from PASS to its -ERR, for each user: the least of tries."""
    c = poplib.POP3("127.0.0.1", port, timeout=60)
    times = {u: [] for u in users}
    for _ in range(tries):
        for u in users:
            c.user(u)
            t = time.monotonic()
            try:
                c.pass_("wrong")
            except poplib.error_proto:
                pass
            times[u].append(time.monotonic() - t)
    c.quit()
    return {u: min(v) for u, v in times.items()}


def smtp_times(port, users, tries):
    """Seconds from AUTH PLAIN to its 535, for each user: the least of
    tries."""
    c = smtplib.SMTP("127.0.0.1", port, timeout=60)
    c.ehlo("client.test")
    times = {u: [] for u in users}
    codes = set()
    for _ in range(tries):
        for u in users:
            resp = base64.b64encode(("\0%s\0wrong" % u).encode()).decode()
            t = time.monotonic()
            code, _ = c.docmd("AUTH", "PLAIN " + resp)
            times[u].append(time.monotonic() - t)
            codes.add(code)
    c.quit()
    return {u: min(v) for u, v in times.items()}, codes


KNOWN, UNKNOWN = "bob@example.test", "nobody@example.test"
tap = pombo.Tap()
insts, servers = [], []
try:
    # the least of 5 tries: a loaded machine only ever adds time
    for delay, tries in (("0", 5), ("2s", 2)):
        inst = instance(delay)
        insts.append(inst)
        pop = pombo.SocketActivated(
            [pombo.prog("pop3d/pop3d"), "-c", inst.conf_path], inst.env())
        smtp = pombo.SocketActivated(
            [pombo.prog("smtpd/smtpd"), "-c", inst.conf_path], inst.env())
        servers += [pop, smtp]
        p = pop3_times(pop.port, [KNOWN, UNKNOWN], tries)
        s, codes = smtp_times(smtp.port, [KNOWN, UNKNOWN], tries)
        tap.eq(codes, {535}, "login_delay %s: smtpd AUTH fails with 535"
               % delay)
        for proto, t in (("pop3d", p), ("smtpd", s)):
            k, u = t[KNOWN], t[UNKNOWN]
            diag = "wrong password %.3f s, unknown user %.3f s" % (k, u)
            print("# %s, login_delay %s: %s" % (proto, delay, diag))
            if delay == "0":
                # the check itself: both cost one SHA-512 of ROUNDS
                tap.ok(k > 0.02, "%s: a check of the users' hash takes "
                       "time" % proto, diag)
                tap.ok(abs(k - u) < 0.5 * max(k, u) + 0.03,
                       "%s, login_delay 0: an unknown user costs what a "
                       "wrong password does" % proto, diag)
            else:
                tap.ok(abs(k - u) < 0.1, "%s, login_delay 2s: unknown "
                       "user and wrong password answered at the same "
                       "time" % proto, diag)
                tap.ok(1.95 < k < 2.2 and 1.95 < u < 2.2,
                       "%s: the failure comes 2 s after the attempt "
                       "began, not 2 s after the check" % proto, diag)
    # a mixed users file: the dummy's scheme first, then the other
    inst = instance("0")
    insts.append(inst)
    pop = pombo.SocketActivated(
        [pombo.prog("pop3d/pop3d"), "-c", inst.conf_path], inst.env())
    smtp = pombo.SocketActivated(
        [pombo.prog("smtpd/smtpd"), "-c", inst.conf_path], inst.env())
    servers += [pop, smtp]
    slow_other, slow_bob = sha512("other", "alicesalt"), \
        sha512("secret", "bobsalt")
    for first, lines in (
            ("yescrypt", ["alice@example.test:" + pombo.yescrypt("other"),
                          "bob@example.test:" + slow_bob]),
            ("SHA-512", ["alice@example.test:" + slow_other,
                         "bob@example.test:" + pombo.yescrypt("secret")])):
        with open(inst.settings["users_file"], "w") as f:
            f.write("".join(l + "\n" for l in lines))
        p = pop3_times(pop.port, [KNOWN, UNKNOWN], 5)
        s, _ = smtp_times(smtp.port, [KNOWN, UNKNOWN], 5)
        for proto, t in (("pop3d", p), ("smtpd", s)):
            k, u = t[KNOWN], t[UNKNOWN]
            diag = "wrong password %.3f s, unknown user %.3f s" % (k, u)
            print("# %s, %s hash first: %s" % (proto, first, diag))
            tap.ok(abs(k - u) < 0.5 * max(k, u) + 0.03,
                   "%s, mixed users file, %s first: an unknown user "
                   "costs what a known one of the other scheme does"
                   % (proto, first), diag)
finally:
    for srv in servers:
        srv.stop()
    for inst in insts:
        inst.cleanup()
tap.done()
