#!/usr/bin/env python3
"""chaos.py: the chaos harness's command line and run. It starts a cluster
under the master (conf/demo.lua unless --config), plays wisp-bots on it
(and wisp-flood with --flood), injects faults on a schedule drawn from the
seed, then checks the invariants and prints them with the seed to replay:
no acknowledged write lost, every command answered in its deadline, chat
neither duplicated nor reordered, RSS bounded, no node stuck or dead but
by the harness's hand, and the cluster converged after the last fault.
Exit 0 iff no invariant failed (2: no verdict, the run could not be made
or was interrupted; 77: no kind of fault could run here, a skip to
meson). Everything it starts it stops, also on Ctrl-C; the logs of a
failed run are kept and named."""

import argparse
import os
import random
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bots as wbots  # noqa: E402
import cluster as wcluster  # noqa: E402
import faults as wfaults  # noqa: E402
import invariants as winv  # noqa: E402
from proxy import Proxies  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
WARMUP_S = 3  # of play before the first fault
TAIL_S = 5    # of play after the last one starts


def options(argv):
    p = argparse.ArgumentParser(
        prog="chaos.py", description="Faults on a seeded schedule against a "
        "wisp cluster played by bots; invariants checked at the end.")
    p.add_argument("--build", required=True, help="the build dir (wisp, "
                   "tools/wisp-bots)")
    p.add_argument("--seed", type=int, help="the schedule's seed (random "
                   "and printed when not given)")
    p.add_argument("--duration", type=float, default=60, help="seconds of "
                   "play (60)")
    p.add_argument("--faults", default=",".join(wfaults.KINDS),
                   help="the kinds of fault: kill,stop,link,memcached,disk")
    p.add_argument("--bots", type=int, default=100)
    p.add_argument("--rooms", type=int, default=10)
    p.add_argument("--rate", type=float, default=1, help="moves and chat "
                   "lines per bot per second (1)")
    p.add_argument("--flood", type=int, default=0, help="flooding clients")
    p.add_argument("--config", default=os.path.join(ROOT, "conf/demo.lua"))
    p.add_argument("--interval", type=float, default=4, help="mean seconds "
                   "between faults (4)")
    p.add_argument("--overlap", action="store_true", help="more than one "
                   "node down or stopped at a time")
    p.add_argument("--deadline", type=float, default=10, help="seconds a "
                   "client command may take to be answered (10)")
    p.add_argument("--rss-mb", type=int, default=256, help="every node's "
                   "RSS bound (256)")
    p.add_argument("--converge", type=float, default=15, help="seconds the "
                   "cluster may take to converge after the last fault (15)")
    p.add_argument("--start-timeout", type=float, default=60)
    p.add_argument("--keep", help="run in this directory and keep it")
    p.add_argument("--no-proxy", action="store_true", help="harbor links "
                   "straight, not through the fault proxies (no link "
                   "faults): to tell a proxy's effect from wisp's")
    p.add_argument("--soak-from", type=float, help="print BENCH lines: "
                   "chaos_violations and soak_rss_growth_pct, the RSS growth "
                   "from this many seconds of play to the end")
    o = p.parse_args(argv)
    o.kinds = [k for k in o.faults.split(",") if k]
    bad = [k for k in o.kinds if k not in wfaults.KINDS]
    if bad or not o.kinds:
        p.error("--faults: unknown kinds %s" % ",".join(bad))
    if o.no_proxy and "link" in o.kinds:
        o.kinds.remove("link")
        if not o.kinds:
            p.error("--no-proxy leaves no link faults and no other kind")
    if o.seed is None:
        o.seed = secrets.randbelow(1 << 31)
    return o


def replay_command(o, argv):
    """The command line that runs this seed again."""
    args = list(argv)
    if "--seed" not in args and not any(a.startswith("--seed=")
                                        for a in args):
        args += ["--seed", str(o.seed)]
    return shlex.join([sys.argv[0]] + args)


class NothingToInject(Exception):
    """Every kind asked for was skipped here (exit 77: a skip to meson)."""


class Run:
    """One run: what it started, so that stop() can undo it all."""

    def __init__(self, o):
        self.o = o
        self.work = o.keep or tempfile.mkdtemp(prefix="wisp-chaos-")
        os.makedirs(self.work, exist_ok=True)
        self.wisp = os.path.join(o.build, "wisp")
        self.bots_exe = os.path.join(o.build, "tools", "wisp-bots")
        self.memcached = self.disk = self.proxies = self.cluster = None
        self.monitor = self.injector = None
        self.players = []  # bots and floods

    def log(self, name):
        return open(os.path.join(self.work, name), "w")

    def setup(self):
        o = self.o
        if "disk" in o.kinds:
            self.disk = wfaults.Disk(os.path.join(self.work, "db"))
            why = self.disk.mount()
            if why:
                print("chaos: disk faults skipped: " + why, flush=True)
                o.kinds.remove("disk")
                self.disk = None
        if not o.kinds:
            raise NothingToInject()
        mc = "memcached" in o.kinds
        self.cluster = wcluster.Cluster(self.wisp, o.config, self.work,
                                        o.bots + o.flood, mc,
                                        not o.no_proxy, o.deadline)
        if mc:
            self.memcached = wfaults.Memcached(self.cluster.memcached_port,
                                               self.log("memcached.log"))
            self.memcached.start()
        self.proxies = Proxies()
        for node in self.cluster.nodes.values():
            if node.listen and not o.no_proxy:
                self.proxies.add(node.name, self.cluster.base + node.id,
                                 node.listen)
        self.injector = wfaults.Injector(self.cluster, self.proxies,
                                         self.memcached, self.disk)

    def start_cluster(self):
        self.cluster.start()
        end = time.monotonic() + self.o.start_timeout
        while time.monotonic() < end:
            if not self.cluster.alive():
                raise SystemExit("chaos: the master exited; see "
                                 + self.cluster.master_log)
            if not winv.unconverged(self.cluster.nodes):
                return
            time.sleep(0.5)
        raise SystemExit("chaos: the cluster did not come up in %.0f s"
                         % self.o.start_timeout)

    def play(self, faults):
        """Bots, floods and the faults; returns when the last is undone."""
        o = self.o
        self.bots = wbots.Bots(self.bots_exe, self.cluster.gate, self.work)
        self.players.append(self.bots.start(o.bots, o.rooms, o.rate,
                                            o.duration, o.deadline))
        flood = os.path.join(o.build, "tools", "wisp-flood")
        for i in range(o.flood):
            self.players.append(subprocess.Popen(
                [flood, "--duration", str(int(o.duration)), "--read", "yes",
                 "--first", "101:flooder%d" % i, self.cluster.gate],
                stdout=self.log("flood%d.log" % i), stderr=subprocess.STDOUT))
        t0 = time.monotonic()
        for at, action, f in wfaults.timeline(faults):
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            if action == "apply":
                print("chaos: %+8.2f s  %s" % (at, f.describe()), flush=True)
                self.injector.apply(f)
            else:
                self.injector.undo(f)
        return t0

    def stop(self):
        for p in self.players:
            if p.poll() is None:
                p.kill()
                p.wait()
        if self.injector:
            self.injector.undo_all()
        if self.monitor:
            self.monitor.stop()
        if self.cluster:
            self.cluster.stop()
        if self.proxies:
            self.proxies.close()
        if self.memcached:
            self.memcached.kill()
        if self.disk:
            self.disk.free()
            self.disk.unmount()


def converge(run, bound):
    """(seconds until every node sees every other up or None past bound,
    what was still wrong at the last look)."""
    t0 = time.monotonic()
    while True:
        wrong = winv.unconverged(run.cluster.nodes)
        if not wrong:
            return time.monotonic() - t0, []
        if time.monotonic() - t0 >= bound:
            return None, wrong
        time.sleep(0.5)


def judge(run, t0, converged_s, wrong):
    o, inj, v = run.o, run.injector, winv.Verdict()
    lossless = all(f.lossless() for f in inj.ran)
    wbots.check(v, run.bots, lossless)
    winv.check_stuck(v, run.monitor, inj.stopped, t0)
    winv.check_rss(v, run.monitor, o.rss_mb)
    winv.check_restarts(v, run.monitor, inj.kills)
    v.check(converged_s is not None, "converged: every node sees every "
            "other up %s after the last fault (bound %.0f s)%s"
            % ("%.1f s" % converged_s if converged_s is not None
               else "not", o.converge, "; " + "; ".join(wrong) if wrong
               else ""))
    winv.save(run.monitor, t0, run.work)
    if o.soak_from is not None:
        soak_figures(winv.rss_growth(run.monitor, t0 + o.soak_from,
                                     t0 + o.duration),
                     o.soak_from, v.violations)
    return v.violations


def soak_figures(growth, since, violations):
    print("chaos: RSS growth from the minute after %.0f s of play to the last of play: %s" % (
        since, ", ".join("%s %+.1f%%" % (n, g) for n, g in
                         sorted(growth.items())) or "every node restarted"))
    print("BENCH chaos_violations %d count" % violations)
    print("BENCH soak_rss_growth_pct %s %%" % (
        "%.1f" % max(growth.values()) if growth else "nan"), flush=True)


def play_and_judge(run):
    """The run from setup to verdict; returns the violations."""
    o = run.o
    run.setup()
    nodes = sorted(run.cluster.nodes, key=lambda n: run.cluster.nodes[n].id)
    linked = [n for n in nodes if run.cluster.nodes[n].listen]
    faults = wfaults.schedule(random.Random(o.seed), o.kinds, nodes, linked,
                              WARMUP_S, o.duration - TAIL_S, o.interval,
                              o.overlap)
    print("chaos: seed %d: %d faults (%s) over %.0f s, %d bots, cluster %s, "
          "logs in %s" % (o.seed, len(faults), ",".join(o.kinds), o.duration,
                          o.bots, o.config, run.work), flush=True)
    run.start_cluster()
    run.monitor = winv.Monitor(run.cluster)
    run.monitor.start()
    t0 = run.play(faults)
    converged_s, wrong = converge(run, o.converge)
    run.bots.finish(o.duration)
    run.bots.verify(o.bots)
    run.monitor.stop()
    return judge(run, t0, converged_s, wrong)


def main(argv):
    o = options(argv)
    run = Run(o)

    def interrupted(signum, frame):
        raise KeyboardInterrupt
    # SIGINT too: a shell may have started it with SIGINT ignored
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    violations = 1
    try:
        violations = play_and_judge(run)
    except KeyboardInterrupt:
        print("chaos: interrupted", flush=True)
        violations = None
    except SystemExit as e:  # the run could not be made
        print(e, flush=True)
        violations = None
    except NothingToInject:
        print("chaos: no kind of fault left to inject: skipped", flush=True)
        violations = -1
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):  # let the cleanup end
            signal.signal(sig, signal.SIG_IGN)
        run.stop()
    if violations is None:
        print("chaos: seed %d: no verdict; logs in %s" % (o.seed, run.work))
        return 2
    if violations < 0:
        shutil.rmtree(run.work, ignore_errors=True)
        return 77
    print("chaos: seed %d: %d violations" % (o.seed, violations), flush=True)
    if violations:
        print("chaos: replay: " + replay_command(o, argv))
        print("chaos: logs in " + run.work)
    elif not o.keep:
        shutil.rmtree(run.work, ignore_errors=True)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
