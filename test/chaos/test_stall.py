#!/usr/bin/env python3
# test_stall.py: a node stopped (SIGSTOP) for less than harbor.timeout, and
# then for more, in the demo cluster over TCP (tools/chaos's cluster, no
# bots, no proxy). A short stop must leave every node seeing every other
# up; a long one must be seen (the stopped node down at the root, whose
# link to it goes silent) and then mended. Before the fix, the stopped
# node judged the root's conn silent on its first tick back, the root
# took that as the node's death, and nobody ever saw it up again.
# Usage: test_stall.py BUILD_DIR SOURCE_ROOT
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.join(sys.argv[2], "tools", "chaos"))
import chaos  # noqa: E402
import invariants  # noqa: E402

TIMEOUT_S = 3.0    # harbor.timeout of conf/demo.lua
CONVERGE_S = 15.0


def converged_within(cluster, seconds):
    """[] once every node sees every other up, or what is still wrong."""
    end = time.monotonic() + seconds
    while True:
        wrong = invariants.unconverged(cluster.nodes)
        if not wrong or time.monotonic() > end:
            return wrong
        time.sleep(0.5)


def seen_down(cluster, node, seconds):
    """Whether the root came to see node down within seconds."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        outcome, seen = invariants.probe(cluster.nodes["root"])
        if outcome == "ok" and seen.get(node) is False:
            return True
        time.sleep(0.2)
    return False


def stall(cluster, node, seconds):
    pid = cluster.pids[node]
    os.kill(pid, signal.SIGSTOP)
    time.sleep(seconds)
    os.kill(pid, signal.SIGCONT)


def main():
    o = chaos.options(["--build", sys.argv[1], "--faults", "stop",
                       "--bots", "0", "--no-proxy"])
    run = chaos.Run(o)
    failures = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what, flush=True)
        if not ok:
            failures.append(what)

    try:
        run.setup()
        run.start_cluster()
        run.cluster.follow()
        for attempt in range(2):
            stall(run.cluster, "game1", TIMEOUT_S * 0.8)
            wrong = converged_within(run.cluster, CONVERGE_S)
            check(not wrong, "stop %d of game1 for %.1f s (under the timeout): "
                  "converged (%s)" % (attempt + 1, TIMEOUT_S * 0.8,
                                       "; ".join(wrong) or "all up"))
        pid = run.cluster.pids["game2"]
        os.kill(pid, signal.SIGSTOP)
        down = seen_down(run.cluster, "game2", TIMEOUT_S * 4)
        os.kill(pid, signal.SIGCONT)
        check(down, "game2 stopped past the timeout: the root sees it down")
        wrong = converged_within(run.cluster, CONVERGE_S)
        check(not wrong, "game2 resumed: converged (%s)"
              % ("; ".join(wrong) or "all up"))
    finally:
        run.stop()
    if failures:
        print("logs in " + run.work)
    else:
        shutil.rmtree(run.work, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
