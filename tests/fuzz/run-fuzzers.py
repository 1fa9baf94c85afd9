#!/usr/bin/env python3
"""Run the fuzz harnesses: the kept corpus, and libFuzzer for a while.

In make check (no arguments; top_builddir and top_srcdir from the
environment), TAP:
  - every harness of this build (tests/fuzz/<name>_fuzz, the small
    driver) runs its kept corpus tests/fuzz/corpus/<name>/: none may crash;
  - every libFuzzer harness (_build-fuzz/<name>_fuzz, built by make fuzz)
    fuzzes for FUZZ_SECONDS (default 3) from that corpus, one at a time;
    a crash, a leak, a timeout or a failed invariant fails the test, and
    the input that did it is shown. New inputs go to a temporary folder:
    the kept corpus does not change.

By hand, for the long runs (see README.md):
  tests/fuzz/run-fuzzers.py --seconds 600 --jobs 2 --merge [name...]
runs each libFuzzer harness that long, two at a time, logs to
_build-fuzz-work/<name>.log, prints executions, execs/s, cov and ft,
and with --merge folds what it found into the kept corpus, minimised
(libFuzzer -merge=1 -use_counters=0 into a fresh folder: the inputs
that add edges; the hand-written seeds always stay). --minimize only
minimises the kept corpus.
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from pombo import Tap  # noqa: E402

TOP_BUILDDIR = os.environ.get("top_builddir") or os.getcwd()
TOP_SRCDIR = os.environ.get("top_srcdir") or TOP_BUILDDIR
FUZZ_DIR = os.path.join(TOP_SRCDIR, "tests", "fuzz")
LIBFUZZER_DIR = os.path.join(TOP_BUILDDIR, "_build-fuzz")
HASH_NAME = re.compile(r"^[0-9a-f]{40}$")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "invariant failed", "ERROR: libFuzzer")


def harness_names():
    return sorted(f[:-len("_fuzz.c")] for f in os.listdir(FUZZ_DIR)
                  if f.endswith("_fuzz.c"))


def corpus_dir(name):
    return os.path.join(FUZZ_DIR, "corpus", name)


def report(text):
    """The interesting part of a harness's stderr, or None."""
    for mark in SANITIZER_MARKS:
        i = text.find(mark)
        if i >= 0:
            return text[max(0, i - 500):i + 4000]
    return None


def show_input(path):
    try:
        with open(path, "rb") as f:
            data = f.read(2048)
    except OSError:
        return ""
    return "input %s: %r" % (os.path.basename(path), data)


def stats(text):
    """Executions, execs/s, cov and ft from libFuzzer's output."""
    s = {}
    m = re.search(r"stat::number_of_executed_units:\s+(\d+)", text)
    if m:
        s["execs"] = int(m.group(1))
    m = re.search(r"stat::average_exec_per_sec:\s+(\d+)", text)
    if m:
        s["per_sec"] = int(m.group(1))
    for line in text.splitlines():
        m = re.search(r"cov: (\d+) ft: (\d+)", line)
        if m:
            s["cov"], s["ft"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"INFO: seed corpus: files: (\d+)", text)
    if m:
        s["seeds"] = int(m.group(1))
    return s


def run_corpus(tap, name):
    prog = os.path.join(TOP_BUILDDIR, "tests", "fuzz", name + "_fuzz")
    files = os.listdir(corpus_dir(name))
    p = subprocess.run([prog, corpus_dir(name)], capture_output=True,
                       timeout=300)
    err = p.stderr.decode("utf-8", "replace")
    tap.ok(p.returncode == 0 and report(err) is None,
           "%s: the kept corpus (%d inputs) runs clean" % (name, len(files)),
           err[-4000:] + p.stdout.decode("utf-8", "replace")[-500:])


def libfuzzer(name, seconds, work, log=None, extra=()):
    """One libFuzzer run from the kept corpus; returns (rc, output, crash)."""
    prog = os.path.join(LIBFUZZER_DIR, name + "_fuzz")
    os.makedirs(work, exist_ok=True)
    arts = os.path.join(work, "artifacts") + "/"
    os.makedirs(arts, exist_ok=True)
    cmd = [prog, "-max_total_time=%d" % seconds, "-timeout=10",
           "-rss_limit_mb=2048", "-max_len=8192", "-print_final_stats=1",
           "-artifact_prefix=" + arts] + list(extra) + \
        [os.path.join(work, "corpus"), corpus_dir(name)]
    os.makedirs(cmd[-2], exist_ok=True)
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    out = open(log, "wb") if log else subprocess.PIPE
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    return p, cmd


def finish(p, log):
    if log:
        p.wait()
        with open(log, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    else:
        text = p.communicate()[0].decode("utf-8", "replace")
    crash = re.findall(r"Test unit written to (\S+)", text)
    return p.returncode, text, crash


def check_mode():
    tap = Tap()
    names = harness_names()
    for name in names:
        run_corpus(tap, name)
    skipped = os.path.join(LIBFUZZER_DIR, "skipped")
    seconds = int(os.environ.get("FUZZ_SECONDS", "3"))
    if os.path.exists(skipped):
        with open(skipped) as f:
            why = f.read().strip()
        if "main build" in why:
            print("# " + why)
        else:
            for name in names:
                tap.skip("%s: libFuzzer run" % name, why)
        return tap.done()
    tmp = tempfile.mkdtemp(prefix="pombo-fuzz-")
    try:
        for name in names:
            start = time.time()
            p, _ = libfuzzer(name, seconds, os.path.join(tmp, name))
            rc, text, crash = finish(p, None)
            s = stats(text)
            # the input first: Tap shows the head of a long diagnosis
            diag = "\n".join(show_input(c) for c in crash) + "\n" + (
                report(text) or text[-3000:])
            tap.ok(rc == 0 and not crash,
                   "%s: libFuzzer %ds, %s runs, cov %s ft %s" % (
                       name, round(time.time() - start),
                       s.get("execs", "?"), s.get("cov", "?"),
                       s.get("ft", "?")), diag)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


def merge(name, work):
    """Kept corpus := a minimal set with the edges of kept + found; the
    hand-written seeds stay."""
    kept = corpus_dir(name)
    prog = os.path.join(LIBFUZZER_DIR, name + "_fuzz")
    fresh = os.path.join(work, "fresh")
    shutil.rmtree(fresh, ignore_errors=True)
    os.makedirs(fresh)
    # edges only (no hit counts): a few dozen files, not hundreds
    subprocess.run([prog, "-merge=1", "-use_counters=0", "-max_len=8192",
                    fresh, kept] + ([os.path.join(work, "corpus")]
                                    if os.path.isdir(os.path.join(
                                        work, "corpus")) else []),
                   capture_output=True, check=True)
    seeds = {digest(os.path.join(kept, f)) for f in os.listdir(kept)
             if not HASH_NAME.match(f)}
    for f in os.listdir(kept):
        if HASH_NAME.match(f):
            os.unlink(os.path.join(kept, f))
    added = 0
    for f in os.listdir(fresh):
        if digest(os.path.join(fresh, f)) not in seeds:
            shutil.copy(os.path.join(fresh, f), os.path.join(kept, f))
            added += 1
    return added


def long_mode(args):
    names = args.names or harness_names()
    workdir = os.path.join(TOP_BUILDDIR, "_build-fuzz-work")
    os.makedirs(workdir, exist_ok=True)
    if args.minimize:
        for name in names:
            merge(name, os.path.join(workdir, name))
            print("%-9s kept %d" % (name, len(os.listdir(corpus_dir(name)))))
        return 0
    pending = list(names)
    running = {}
    results = {}
    while pending or running:
        while pending and len(running) < args.jobs:
            name = pending.pop(0)
            log = os.path.join(workdir, name + ".log")
            p, _ = libfuzzer(name, args.seconds, os.path.join(workdir, name),
                             log)
            running[name] = (p, log)
        time.sleep(1)
        for name, (p, log) in list(running.items()):
            if p.poll() is None:
                continue
            del running[name]
            rc, text, crash = finish(p, log)
            s = stats(text)
            s["rc"] = rc
            s["crashes"] = crash
            if args.merge and rc == 0:
                s["corpus"] = merge(name, os.path.join(workdir, name))
            results[name] = s
            print("%-9s rc %d execs %s (%s/s) cov %s ft %s crashes %d "
                  "kept %s" % (name, rc, s.get("execs"), s.get("per_sec"),
                               s.get("cov"), s.get("ft"), len(crash),
                               len(os.listdir(corpus_dir(name)))))
            sys.stdout.flush()
    return 0 if all(r["rc"] == 0 for r in results.values()) else 1


def main():
    if len(sys.argv) == 1:
        return check_mode()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--merge", action="store_true")
    ap.add_argument("--minimize", action="store_true",
                    help="only minimise the kept corpus (no fuzzing)")
    ap.add_argument("names", nargs="*")
    return long_mode(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
