#!/usr/bin/env python3
# test_slow_commit.py: a db node whose fsync takes a second (the LD_PRELOAD
# library slow_fsync.so, turned on once the game node's setup is done)
# keeps serving while it commits (synchronous full) or checkpoints
# (normal): the game node's cached gets are answered (slow_commit.lua),
# its console answers, and no link goes silent, with links that would
# after 700 ms. Every write is still acknowledged only once committed, and
# is in the file. Then the same with the cache in a memcached the test
# stops (SIGSTOP) for the case's 3 s: each call to it is bounded by its
# timeout (200 ms), and it is skipped after one, so nothing goes silent.
# Usage: test_slow_commit.py WISP SOURCE_ROOT SLOW_FSYNC_LIB
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "security"))
sys.path.insert(0, os.path.join(here, "..", "..", "tools", "chaos"))
from nodes import Run, free_base, wait_for  # noqa: E402
import cluster  # noqa: E402

SLOW_MS = 1000
GAME_S = 120


def preload_env(lib, flag):
    """The db node's: the library first, ASan told it need not be."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"LD_PRELOAD": lib, "WISP_SLOW_FSYNC": flag,
            "ASAN_OPTIONS": (asan + ":" if asan else "")
            + "verify_asan_link_order=0"}


def console_during(run, node_log, port):
    """Console answers to `nodes` while the writes ran: (answered, asked).
    Gives up when the game node ends, or after a minute."""
    answered = asked = 0
    end = time.monotonic() + 60
    while ("slow commit: writes done" not in run.log_of(node_log)
           and run.procs[node_log].poll() is None
           and time.monotonic() < end):
        asked += 1
        try:
            cluster.console(port, "nodes", timeout=0.5)
            if "slow commit: writes done" not in run.log_of(node_log):
                answered += 1
        except OSError:
            pass
        time.sleep(0.1)
    return answered, asked


def start_memcached(run):
    """A memcached on a free port, up once it accepts: (process, address)."""
    port = free_base(1)
    user = ["-u", "root"] if os.geteuid() == 0 else []
    p = subprocess.Popen(["memcached", "-l", "127.0.0.1", "-p", str(port),
                          "-U", "0", "-m", "64"] + user)
    wait_for(lambda: probe(port), 10)
    return p, "127.0.0.1:%d" % port


def probe(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def scenario(wisp, root, lib, mode):
    """One cluster, slowed by mode: full (every commit fsyncs), normal (a
    checkpoint does) or memcached (it hangs); the run, with its checks."""
    print("# " + mode, flush=True)
    run = Run(wisp, os.path.join(root, "test/db/slow_commit_cluster.lua"), 3,
              "wisp_slow_commit_")
    work = run.logs
    os.mkdir(os.path.join(work, "migrations"))
    shutil.copy(os.path.join(root, "test/db/migrations/001_init.sql"),
                os.path.join(work, "migrations"))
    flag = os.path.join(work, "slow_fsync_ms")
    secret = subprocess.check_output([wisp, "--new-secret"], text=True).strip()
    env = {"WISP_SECRET": secret, "WISP_DB_DIR": work, "WISP_SLOW_FSYNC": flag,
           "WISP_DB_SYNC": "normal" if mode == "memcached" else mode}
    memcached = None
    if mode == "memcached":
        memcached, env["WISP_MEMCACHED"] = start_memcached(run)
        env["WISP_SLOW_MEMCACHED"] = "1"
    try:
        play(run, env, lib, flag, memcached)
    finally:
        if memcached:
            memcached.send_signal(signal.SIGCONT)
            memcached.kill()
            memcached.wait()
    return run


def play(run, env, lib, flag, memcached):
    mode = "memcached" if memcached else env["WISP_DB_SYNC"]
    run.start("db", dict(env, **preload_env(lib, flag)))
    run.check(wait_for(lambda: " open: " in run.log_of("db"), 30),
              "the db node opened its database")
    run.start("game", env)
    run.check(wait_for(lambda: "slow commit: ready" in run.log_of("game"),
                       60), "the game node's setup is done")
    if memcached:
        memcached.send_signal(signal.SIGSTOP)
    with open(flag, "w") as f:
        f.write("0" if memcached else str(SLOW_MS))
    run.check(wait_for(lambda: "slow commit: writes started"
                       in run.log_of("game"), 10), "the writes started")
    answered, asked = console_during(run, "game", run.base + 2)
    run.check(answered >= 3 and answered >= 0.9 * asked,
              "the console answered during the slow writes (%d of %d)"
              % (answered, asked))
    code = run.exit_code("game", GAME_S)
    run.check(code == 0 and "lua tests: 1 passed, 0 failed"
              in run.log_of("game"), "the game node's case passed (exit %s)"
              % code)
    os.unlink(flag)
    for line in run.log_of("game").splitlines():
        if "slow commit: writes done" in line:
            print(line.split("slow commit: ")[1], flush=True)
    for node in ("game", "db"):
        run.check("silent for" not in run.log_of(node),
                  "%s saw no link go silent" % node)
    p = run.procs.pop("db")
    p.terminate()
    run.check(p.wait(20) == 0, "the db node stopped cleanly")
    with sqlite3.connect(os.path.join(run.logs, "slow.db")) as c:
        gold = c.execute("SELECT gold FROM player WHERE id = 1").fetchone()[0]
        rows = c.execute("SELECT count(*) FROM payload").fetchone()[0]
    if mode == "full":
        run.check(gold == 3, "the last acknowledged write is in the file")
    elif mode == "normal":
        run.check(rows > 0, "the rows written are in the file (%d)" % rows)
    else:
        run.check("memcached unavailable" in run.log_of("db"),
                  "the db node saw memcached hang")


def main():
    wisp, root, lib = sys.argv[1], sys.argv[2], sys.argv[3]
    failed = False
    for mode in ("full", "normal", "memcached"):
        run = scenario(wisp, root, lib, mode)
        if run.failures:
            failed = True
            break
        shutil.rmtree(run.logs, ignore_errors=True)
    if failed:
        run.finish()
    print("0 checks failed")


if __name__ == "__main__":
    main()
