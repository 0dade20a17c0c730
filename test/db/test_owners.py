#!/usr/bin/env python3
# test_owners.py: two db nodes owning different tables (owners_cluster.lua)
# under two game nodes' load (owners.lua), real processes on loopback.
# Passes when both game nodes' cases pass, each db node logged what it
# owns, and each sqlite file holds only its owner's rows: the rows of a
# table are on one db node, whoever was asked.
# Usage: test_owners.py WISP SOURCE_ROOT
import os
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "security"))
from nodes import Run  # noqa: E402

NODES = ["root", "db1", "db2", "game1", "game2"]
GAME_S = 120
ROWS = 2 * 20 * 25  # two game nodes, 20 tasks, 25 rows each (owners.lua)


def count(path, table):
    with sqlite3.connect(path) as c:
        return c.execute("SELECT count(*) FROM " + table).fetchone()[0]


def main():
    wisp, root = sys.argv[1], sys.argv[2]
    run = Run(wisp, os.path.join(root, "test/db/owners_cluster.lua"),
              len(NODES), "wisp_owners_")
    work = run.logs
    os.mkdir(os.path.join(work, "migrations"))
    shutil.copy(os.path.join(root, "test/db/migrations/001_init.sql"),
                os.path.join(work, "migrations"))
    secret = subprocess.check_output([wisp, "--new-secret"], text=True).strip()
    env = {"WISP_SECRET": secret, "WISP_DB_DIR": work}
    for node in NODES:
        run.start(node, env)
    for game in ("game1", "game2"):
        try:
            code = run.procs.pop(game).wait(GAME_S)
        except subprocess.TimeoutExpired:
            code = "none: still running"
        run.check(code == 0 and "lua tests: 4 passed, 0 failed"
                  in run.log_of(game), "%s: its cases passed (exit %s)"
                  % (game, code))
    for node in ("db1", "db2", "root"):
        p = run.procs.pop(node)
        p.terminate()
        run.check(p.wait(20) == 0, "%s stopped cleanly" % node)
    run.check("owns every table no db.tables lists" in run.log_of("db1"),
              "db1 says it owns the tables no db.tables lists")
    run.check("owns score, tag" in run.log_of("db2"),
              "db2 says it owns score and tag")
    db1, db2 = os.path.join(work, "db1.db"), os.path.join(work, "db2.db")
    players, scores = count(db1, "player"), count(db2, "score")
    run.check(players == ROWS, "db1 holds every player row (%d)" % players)
    run.check(scores == ROWS + 2, "db2 holds every score row (%d)" % scores)
    run.check(count(db1, "score") == 0 and count(db2, "player") == 0,
              "neither holds a row of a table it does not own")
    if not run.failures:  # the logs are kept for a failed run only
        shutil.rmtree(work, ignore_errors=True)
    run.finish()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: test_owners.py WISP SOURCE_ROOT")
    main()
