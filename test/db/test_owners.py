#!/usr/bin/env python3
# test_owners.py: two db nodes owning different tables (owners_cluster.lua)
# under two game nodes' load (owners.lua), real processes on loopback.
# Passes when both game nodes' cases pass, each db node logged what it
# owns, and each sqlite file holds only its owner's rows: the rows of a
# table are on one db node, whoever was asked. The console's db command
# shows each db node's own counters. Last, db2 starts again with a config
# that disagrees: a request goes from one db node to the other once, and
# comes back as an error naming the disagreement (owners_skew.lua). With
# "postgres", both db nodes use one throwaway PostgreSQL database (pg.py)
# and the rows are counted there.
# Usage: test_owners.py WISP SOURCE_ROOT [postgres]
import os
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "security"))
from nodes import Run, free_base  # noqa: E402
import pg  # noqa: E402
import cluster  # noqa: E402  (tools/chaos's, on the path nodes.py set)

NODES = ["root", "db1", "db2", "game1", "game2"]
GAME_S = 120
ROWS = 2 * 20 * 25  # two game nodes, 20 tasks, 25 rows each (owners.lua)


def count(path, table):
    with sqlite3.connect(path) as c:
        return c.execute("SELECT count(*) FROM " + table).fetchone()[0]


def check_console(run):
    """`db` at the root's console: a section per db node, each with its
    own writes; `db db2` only db2's."""
    lines = cluster.console(run.base + len(NODES), "db")
    nodes = [x.split()[1] for x in lines if x.startswith("node ")]
    run.check(nodes == ["db1", "db2"], "console db shows both db nodes: %s"
              % nodes)
    rows = [int(x.split()[1]) for x in lines if x.startswith("rows ")]
    run.check(len(rows) == 2 and min(rows) >= ROWS,
              "each with its own writes: %s" % rows)
    lines = cluster.console(run.base + len(NODES), "db db2")
    run.check([x for x in lines if x.startswith("node ")] == ["node db2"],
              "console db db2 shows db2 alone")


def check_rows_sqlite(run, work):
    db1, db2 = os.path.join(work, "db1.db"), os.path.join(work, "db2.db")
    players, scores = count(db1, "player"), count(db2, "score")
    run.check(players == ROWS, "db1 holds every player row (%d)" % players)
    run.check(scores == ROWS + 2, "db2 holds every score row (%d)" % scores)
    run.check(count(db1, "score") == 0 and count(db2, "player") == 0,
              "neither holds a row of a table it does not own")


def check_rows_pg(run, server):
    players = int(server.sql("owners", "SELECT count(*) FROM player"))
    scores = int(server.sql("owners", "SELECT count(*) FROM score"))
    run.check(players == ROWS, "the database holds every player row (%d)"
              % players)
    run.check(scores == ROWS + 2, "and every score row (%d)" % scores)


def check_skew(run, env):
    run.stop("db2")
    run.start("db2", dict(env, WISP_OWNERS_SKEW="1"))
    run.start("game1", dict(env, WISP_OWNERS_SCRIPT="owners_skew"))
    code = run.exit_code("game1", GAME_S)
    run.check(code == 0 and "lua tests: 1 passed, 0 failed"
              in run.log_of("game1"), "configs that disagree: an error, not "
              "a loop (exit %s)" % code)
    run.check("owns tag" in run.log_of("db2"), "db2 came back owning tag "
              "alone")


def main(postgres):
    wisp, root = sys.argv[1], sys.argv[2]
    run = Run(wisp, os.path.join(root, "test/db/owners_cluster.lua"),
              len(NODES) + 1, "wisp_owners_")
    work = run.logs
    os.mkdir(os.path.join(work, "migrations"))
    for name in ("001_init.sql", "001_init.pg.sql"):
        shutil.copy(os.path.join(root, "test/db/migrations", name),
                    os.path.join(work, "migrations"))
    secret = subprocess.check_output([wisp, "--new-secret"], text=True).strip()
    env = {"WISP_SECRET": secret, "WISP_DB_DIR": work}
    server = None
    if postgres:
        server = pg.Server(free_base(1))
        server.start()
        server.sql("postgres", "CREATE DATABASE owners")
        env["WISP_PG"] = server.conninfo("owners")
    try:
        play(run, env, server)
    finally:
        for node in list(run.procs):
            run.stop(node)
        if server:
            server.stop()
    if not run.failures:  # the logs are kept for a failed run only
        shutil.rmtree(work, ignore_errors=True)
    run.finish()


def play(run, env, server):
    for node in NODES:
        run.start(node, env)
    for game in ("game1", "game2"):
        code = run.exit_code(game, GAME_S)
        run.check(code == 0 and "lua tests: 4 passed, 0 failed"
                  in run.log_of(game), "%s: its cases passed (exit %s)"
                  % (game, code))
    check_console(run)
    run.check("owns every table no db.tables lists" in run.log_of("db1"),
              "db1 says it owns the tables no db.tables lists")
    run.check("owns score, tag" in run.log_of("db2"),
              "db2 says it owns score and tag")
    check_skew(run, env)
    for node in ("db1", "db2", "root"):
        p = run.procs.pop(node)
        p.terminate()
        run.check(p.wait(20) == 0, "%s stopped cleanly" % node)
    if server:
        check_rows_pg(run, server)
    else:
        check_rows_sqlite(run, run.logs)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[3:] not in ([], ["postgres"]):
        raise SystemExit("usage: test_owners.py WISP SOURCE_ROOT [postgres]")
    main(sys.argv[3:] == ["postgres"])
