"""invariants.py: what a chaos run must hold, watched while it runs and
judged at its end. Monitor samples every node's RSS each second (from
/proc, following restarts through the master's log) and probes every
node's console every few seconds; the checks turn what it saw, what the
injector did and what the bots counted into PASS/FAIL lines."""

import re
import socket
import statistics
import threading
import time

import cluster as wcluster

SAMPLE_S = 1.0
PROBE_S = 3.0
ANSWER_S = 5.0     # a console that takes longer is stuck
STOP_GRACE_S = 2.0 # a node just continued may still be catching up


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Monitor:
    def __init__(self, cluster):
        self.cluster = cluster
        self.samples = []   # (time, node, pid, kb)
        self.probes = []    # (node, from, to, outcome)
        self.restarts = []  # (node, why) from the master's log
        self.running = True
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._sample, daemon=True)]
        for node in cluster.nodes.values():
            self.threads.append(threading.Thread(
                target=self._probe_loop, args=(node,), daemon=True))

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.running = False
        for t in self.threads:
            t.join(ANSWER_S + 2)

    def _sample(self):
        while self.running:
            with self.lock:
                for line in self.cluster.follow():
                    m = re.search(r"node (\S+) (.*); restarting in", line)
                    if m:
                        self.restarts.append((m.group(1), m.group(2)))
                pids = dict(self.cluster.pids)
            now = time.monotonic()
            for node, pid in pids.items():
                kb = rss_kb(pid)
                if kb is not None:
                    self.samples.append((now, node, pid, kb))
            time.sleep(SAMPLE_S)

    def _probe_loop(self, node):
        while self.running:
            t0 = time.monotonic()
            self.probes.append((node.name, t0, time.monotonic(),
                                probe(node)[0]))
            time.sleep(max(0.0, PROBE_S - (time.monotonic() - t0)))


def probe(node):
    """(outcome, {name: up}): 'ok', 'down' (refused or reset: not running)
    or 'stuck' (connected, no answer within ANSWER_S)."""
    try:
        return "ok", wcluster.view(wcluster.console(node.console, "nodes",
                                                    ANSWER_S))
    except socket.timeout:
        return "stuck", {}
    except OSError:
        return "down", {}


def unconverged(nodes):
    """What keeps the cluster from having converged: nodes that do not
    answer, and nodes that see others down; empty when every node
    answers and sees every node up."""
    names, wrong = set(nodes), []
    for node in nodes.values():
        outcome, seen = probe(node)
        if outcome != "ok":
            wrong.append("%s %s" % (node.name, outcome))
            continue
        down = sorted(n for n in names if not seen.get(n))
        if down:
            wrong.append("%s sees %s down" % (node.name, ",".join(down)))
    return wrong


class Verdict:
    def __init__(self):
        self.lines, self.violations = [], 0

    def check(self, ok, what):
        self.lines.append(("PASS " if ok else "FAIL ") + what)
        self.violations += 0 if ok else 1
        print("chaos: " + self.lines[-1], flush=True)


def excused(stops, t0, t1):
    """Whether a probe over [t0, t1] met a stop window of its node."""
    return any(a <= t1 and t0 <= b + STOP_GRACE_S for a, b in stops)


def check_stuck(v, monitor, stopped, start):
    stuck = ["%s at %+.1f s" % (n, t0 - start)
             for n, t0, t1, outcome in monitor.probes
             if outcome == "stuck" and not excused(stopped.get(n, []), t0, t1)]
    v.check(not stuck, "no node stuck: %d probes, %d unanswered in %.0f s "
            "outside a SIGSTOP%s" % (len(monitor.probes), len(stuck),
                                     ANSWER_S, " (" + ", ".join(stuck[:5])
                                     + ")" if stuck else ""))


def check_rss(v, monitor, bound_mb):
    worst = {}
    for _, node, _, kb in monitor.samples:
        worst[node] = max(worst.get(node, 0), kb)
    over = sorted(n for n, kb in worst.items() if kb > bound_mb * 1024)
    top = max(worst.items(), key=lambda x: x[1], default=("-", 0))
    v.check(not over, "RSS bounded: the largest %s %.1f MB (bound %d MB, "
            "%d samples)%s" % (top[0], top[1] / 1024, bound_mb,
                               len(monitor.samples),
                               "; over: " + ", ".join(over) if over else ""))


def check_restarts(v, monitor, kills):
    died = {}
    for node, why in monitor.restarts:
        died.setdefault(node, []).append(why)
    extra = {n: w for n, w in died.items() if len(w) > kills.get(n, 0)}
    v.check(not extra, "no node died but those killed: %d restarts, %d "
            "kills%s" % (len(monitor.restarts), sum(kills.values()),
                         "; " + "; ".join("%s: %s" % (n, w[-1])
                                          for n, w in extra.items())
                         if extra else ""))


def rss_growth(monitor, since, until, window=60.0):
    """{node: RSS growth in %} from the minute after `since` to the minute
    before `until` (the end of play: not the bots' drain and verify
    logins after it), each the median of its samples, so that a Lua
    collector's sawtooth is not taken for growth; for the nodes that ran
    as one process all that time."""
    early, late, pids = {}, {}, {}
    for t, node, pid, kb in monitor.samples:
        if since <= t <= until:
            pids.setdefault(node, set()).add(pid)
        if since <= t < since + window:
            early.setdefault(node, []).append(kb)
        elif until - window <= t <= until:
            late.setdefault(node, []).append(kb)
    growth = {}
    for node, kbs in early.items():
        if len(pids[node]) == 1 and late.get(node):
            a, b = statistics.median(kbs), statistics.median(late[node])
            if a > 0:
                growth[node] = 100.0 * (b - a) / a
    return growth


def save(monitor, start, work):
    """The samples and probes, for a look after the run."""
    with open(work + "/rss.txt", "w") as f:
        for t, node, pid, kb in monitor.samples:
            f.write("%.1f %s %d %d\n" % (t - start, node, pid, kb))
    with open(work + "/probes.txt", "w") as f:
        for node, t0, t1, outcome in monitor.probes:
            f.write("%.1f %.2f %s %s\n" % (t0 - start, t1 - t0, node, outcome))
