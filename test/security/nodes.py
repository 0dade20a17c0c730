"""nodes.py: what the security tests' drivers share: a run of free ports,
nodes started as real processes with their output in a log file each,
waiting for a condition, and checks that print as they go."""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tools", "chaos"))
from cluster import free_base  # noqa: E402  (the chaos tool's, shared)


class Run:
    """One test's nodes: config, ports from a free run of count, logs in a
    fresh directory, and the checks that failed."""

    def __init__(self, wisp, config, count, prefix):
        self.wisp, self.config = wisp, config
        self.base = free_base(count)
        self.logs = tempfile.mkdtemp(prefix=prefix)
        self.failures = []
        self.procs = {}

    def check(self, ok, what):
        print(("ok   " if ok else "FAIL ") + what, flush=True)
        if not ok:
            self.failures.append(what)

    def start(self, node, env_extra):
        env = dict(os.environ, WISP_PORT_BASE=str(self.base), **env_extra)
        log = open(os.path.join(self.logs, node + ".log"), "w")
        p = subprocess.Popen([self.wisp, self.config, node], env=env,
                             stdout=log, stderr=subprocess.STDOUT)
        self.procs[node] = p
        return p

    def log_of(self, node):
        with open(os.path.join(self.logs, node + ".log")) as f:
            return f.read()

    def exit_code(self, node, seconds):
        """The node's exit code once it ends, or a reason if it is still
        running after seconds; the node is forgotten either way."""
        try:
            return self.procs.pop(node).wait(seconds)
        except subprocess.TimeoutExpired:
            return "none: still running"

    def stop(self, node):
        p = self.procs.pop(node)
        p.terminate()
        p.wait(10)

    def finish(self):
        """Stops every node, prints the logs if a check failed, exits."""
        for node in list(self.procs):
            self.stop(node)
        if self.failures:
            print("logs in " + self.logs)
            for name in sorted(os.listdir(self.logs)):
                if not name.endswith(".log"):
                    continue  # the run's own files: databases, configs
                with open(os.path.join(self.logs, name),
                          errors="replace") as f:
                    print("--- " + name + "\n" + f.read()[-5000:])
        print("%d checks failed" % len(self.failures))
        sys.exit(1 if self.failures else 0)


def wait_for(pred, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()
