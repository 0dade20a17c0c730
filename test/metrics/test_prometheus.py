#!/usr/bin/env python3
"""test_prometheus.py: the metrics as a real Prometheus server ingests
them. A root, a game node (front calls back) and a net node run as real
processes; a client sends commands that are answered and commands whose
handler fails; Prometheus (Debian's, started here with a temporary
config and storage, bearer token and all) scrapes both metrics endpoints
every second, and its HTTP API must then show: both targets up, the call
and client-command latency histograms (cumulative buckets, +Inf equal to
the count, a quantile it can compute), handler errors, error frames by
reason, mailbox high-water marks and the process_* series. Every metric
tools/grafana/wisp.json draws must be one the nodes export.

Usage: test_prometheus.py WISP PROMETHEUS SOURCE_ROOT"""

import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "security"))
from nodes import Run, free_base, wait_for  # noqa: E402

TOKEN = "prometheus token"
ANSWERED, FAILING = 50, 5
PORTS = 6  # root, game, net harbors, the gate, game's and net's metrics


def frame(command, body):
    return b"WISP" + bytes([1]) + struct.pack(">III", 1, len(body) + 4,
                                              command) + body


def read_frame(s):
    head = b""
    while len(head) < 17:
        head += s.recv(17 - len(head))
    size = int.from_bytes(head[9:13], "big") - 4
    body = b""
    while len(body) < size:
        body += s.recv(size - len(body))
    return int.from_bytes(head[13:17], "big"), body


def play(run, port):
    """ANSWERED echoes through front and back, FAILING failures."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        echoed = 0
        for i in range(ANSWERED):
            s.sendall(frame(1, b"ping %d" % i))
            echoed += read_frame(s) == (1, b"ping %d" % i)
        errors = 0
        for _ in range(FAILING):
            s.sendall(frame(2, b"?"))
            errors += read_frame(s)[0] == 0xFFFFFFFF  # the error frame
    run.check(echoed == ANSWERED, "%d of %d commands answered" %
              (echoed, ANSWERED))
    run.check(errors == FAILING, "%d of %d failures told by an error frame"
              % (errors, FAILING))


def start_prometheus(run, prometheus, web, targets):
    config = os.path.join(run.logs, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: wisp\n"
                "    authorization:\n      type: Bearer\n"
                "      credentials: '%s'\n"
                "    static_configs:\n      - targets: [%s]\n"
                % (TOKEN, ", ".join("'%s'" % t for t in targets)))
    log = open(os.path.join(run.logs, "prometheus.log"), "w")
    return subprocess.Popen(
        [prometheus, "--config.file=" + config,
         "--storage.tsdb.path=" + os.path.join(run.logs, "tsdb"),
         "--web.listen-address=127.0.0.1:%d" % web],
        stdout=log, stderr=subprocess.STDOUT)


class Api:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d/api/v1/" % port

    def get(self, path, **params):
        url = self.base + path + "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.load(r)["data"]
        except (OSError, ValueError, KeyError):
            return None

    def query(self, expr):
        """{labels frozenset: value} of an instant query, or {}."""
        data = self.get("query", query=expr)
        if not data or data.get("resultType") != "vector":
            return {}
        return {frozenset(r["metric"].items()): float(r["value"][1])
                for r in data["result"]}

    def total(self, expr):
        return sum(self.query(expr).values())


def check_histogram(run, api, name, label, value, at_least):
    series = api.query('%s_bucket{%s="%s"}' % (name, label, value))
    buckets = sorted((float(dict(k)["le"]), v) for k, v in series.items())
    count = api.total('%s_count{%s="%s"}' % (name, label, value))
    run.check(len(buckets) == 17, "%s{%s=%s}: 17 buckets (%d)" %
              (name, label, value, len(buckets)))
    run.check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
              "%s{%s=%s}: buckets cumulative" % (name, label, value))
    run.check(bool(buckets) and buckets[-1][0] == float("inf")
              and buckets[-1][1] == count and count >= at_least,
              "%s{%s=%s}: +Inf is the count, %d >= %d" %
              (name, label, value, count, at_least))
    q = list(api.query('histogram_quantile(0.99, %s_bucket{%s="%s"})'
                       % (name, label, value)).values())
    run.check(len(q) == 1 and 0 < q[0] <= 10,
              "%s: Prometheus computes its 0.99 quantile (%s s)" % (name, q))


def check_dashboard(run, api, source):
    path = os.path.join(source, "tools", "grafana", "wisp.json")
    with open(path) as f:
        board = json.load(f)
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    ingested = set(api.get("label/__name__/values") or [])
    metrics = open(os.path.join(source, "services", "console",
                                "metrics.lua")).read()
    missing = []
    for expr in exprs:
        for name in re.findall(r"\b((?:wisp|process)_[a-z_]+)", expr):
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            if name not in ingested and '"%s' % family not in metrics:
                missing.append(name)
    run.check(len(exprs) >= 8 and not missing,
              "the dashboard's %d queries name exported metrics (%s)" %
              (len(exprs), ", ".join(missing) or "all do"))


def main():
    wisp, prometheus, source = sys.argv[1:4]
    config = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "cluster.lua")
    run = Run(wisp, config, PORTS, "wisp-prometheus-")
    web = free_base(1)
    for node in ("root", "game", "net"):
        run.start(node, {})
    prom = None
    try:
        run.check(wait_for(lambda: "READY front" in run.log_of("game")
                           and "gate listening" in run.log_of("net"), 30),
                  "the cluster is up")
        time.sleep(0.5)  # net's link to game
        play(run, run.base + 3)
        targets = ["127.0.0.1:%d" % (run.base + i) for i in (4, 5)]
        prom = start_prometheus(run, prometheus, web, targets)
        api = Api(web)
        ready = lambda: (api.total('up{job="wisp"}') == 2 and api.total(
            'wisp_gate_error_frames_total{reason="handler_failed"}') > 0)
        run.check(wait_for(ready, 60), "Prometheus scrapes both nodes")
        check_histogram(run, api, "wisp_call_seconds", "service", "back",
                        ANSWERED)
        check_histogram(run, api, "wisp_client_command_seconds", "command",
                        "1", ANSWERED)
        run.check(api.total('wisp_client_command_seconds_count{command="2"}')
                  >= FAILING, "failed commands are timed too")
        run.check(api.total('wisp_service_errors_total{service="front"}')
                  >= FAILING, "front's handler errors are counted")
        run.check(api.total('wisp_gate_error_frames_total'
                            '{reason="handler_failed"}') >= FAILING,
                  "error frames are counted by reason")
        run.check(api.total('wisp_service_mailbox_peak{service="front"}')
                  >= 1, "front's mailbox high-water mark is there")
        for name in ("process_cpu_seconds_total",
                     "process_resident_memory_bytes", "process_open_fds",
                     "process_start_time_seconds"):
            run.check(len(api.query(name)) == 2 and
                      min(api.query(name).values()) > 0,
                      "%s of both nodes" % name)
        check_dashboard(run, api, source)
    finally:
        if prom:
            prom.terminate()
            prom.wait(20)
    run.finish()


if __name__ == "__main__":
    main()
