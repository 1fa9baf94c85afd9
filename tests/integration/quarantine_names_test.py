"""A stray file in queue/ is set aside in quarantine/ under its own
name; one whose name is too long for that stays where it is, and the
log says why. Cut to the length quarantine/ keeps, two such names were
one: the second file took the first one's place, and the first was
lost (issue 15: the copy of the name did not look at its result)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pombo  # noqa: E402

tap = pombo.Tap()
A = pombo.Instance(name="pombo-quarnames")
try:
    A.start()
    A.stop()
    queue = os.path.join(A.spool, "queue")
    quarantine = os.path.join(A.spool, "quarantine")
    stray = {"stray": b"short\n", "x" * 100 + "1": b"one\n",
             "x" * 100 + "2": b"two\n"}
    for name, body in stray.items():
        with open(os.path.join(queue, name), "wb") as f:
            f.write(body)
    A.start()
    tap.eq(sorted(os.listdir(quarantine)), ["stray"],
           "the short name is quarantined as it is, no cut name beside it")
    kept = {}
    for name in stray:
        if name != "stray" and os.path.exists(os.path.join(queue, name)):
            with open(os.path.join(queue, name), "rb") as f:
                kept[name] = f.read()
    tap.eq(kept, {n: b for n, b in stray.items() if n != "stray"},
           "the long names stay in queue/, both files whole")
    tap.ok("too long to quarantine" in A.log(), "the log says why",
           A.log()[-2000:])
    A.check_clean(tap)
finally:
    A.cleanup()
tap.done()
