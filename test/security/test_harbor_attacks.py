"""test_harbor_attacks.py: the harbor as an attacker on the network finds
it, with real nodes (test/cluster/cluster.lua) and a peer in Python that
does not hold the secret (harbor_peer.py):
- as a connector, and as a fake acceptor a node dials, it gets nothing that
  confirms a guess of the secret offline, even one that is right; a peer
  that holds the secret links (which also checks the C key exchange against
  the Python one);
- frames larger than a handshake's before the handshake are refused at
  their length, and 100 connections sending 60 MiB ones leave the node's
  peak RSS under 50 MB;
- a connection that trickles its HELLO a byte a second is closed at the
  handshake's deadline;
- 100 idle connections cost the node at most 64 waiting handshakes, and a
  real peer still links; in a cluster of more nodes than that, the cap is
  the cluster's size, so that every node may join a root at once (the
  root of a 150-node cluster, test/scale/scale.lua, keeps 150 waiting).
Usage: test_harbor_attacks.py WISP SOURCE_ROOT"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harbor_peer as hp  # noqa: E402
from nodes import Run, wait_for  # noqa: E402

WISP, ROOT = sys.argv[1], sys.argv[2]
SECRET = hp.secrets.token_urlsafe(32)
GUESSES = ["change-this-demo-secret", "a guess that is wrong but long enough",
           SECRET]  # the attacker's dictionary holds the real one too
run = Run(WISP, os.path.join(ROOT, "test/cluster/cluster.lua"), 5,
          "wisp-attacks-")
check = run.check
BASE = run.base


def start(node):
    return run.start(node, {"WISP_SECRET": SECRET, "WISP_LOG_LEVEL": "info"})


def log_of(node):
    return run.log_of(node)


def dial_root(base=BASE):
    return socket.create_connection(("127.0.0.1", base), timeout=10)


def root_listening(base=BASE):
    try:
        dial_root(base).close()
        return True
    except OSError:
        return False


def connect_as_game1(w):
    """Sends HELLO(C) as game1 with a share made of w; returns the socket,
    the side and the acceptor's HELLO body and PROOF."""
    s = dial_root()
    side = hp.Side("C", w, 2, "game1")
    s.sendall(hp.frame(hp.HELLO, side.hello))
    hello = hp.read_frame(s)
    proof = hp.read_frame(s)
    assert hello and hello[0] == hp.HELLO, "no HELLO(A)"
    assert proof and proof[0] == hp.PROOF, "no PROOF(A)"
    return s, side, hello[1], proof[1]


def test_acceptor_gives_no_oracle():
    w_guess = hp.secret_scalar(GUESSES[1])
    s, side, hello_a, proof_a = connect_as_game1(w_guess)
    s.close()
    check(side.keys(hello_a)[1] != proof_a,
          "a connector's wrong guess does not match the acceptor's proof")
    # offline, with everything it saw and its own scalar: no candidate
    # confirms, not even the right one
    confirmed = []
    for guess in GUESSES:
        side.w = hp.secret_scalar(guess)
        if side.keys(hello_a)[1] == proof_a:
            confirmed.append(guess)
    check(confirmed == [], "no guess confirms offline against PROOF(A)")
    # the honest control: the secret links, and the keys are the C ones
    s, side, hello_a, proof_a = connect_as_game1(hp.secret_scalar(SECRET))
    proof_c, want_a, _ = side.keys(hello_a)
    check(want_a == proof_a, "the node's PROOF(A) is the specification's")
    s.sendall(hp.frame(hp.PROOF, proof_c))
    s.sendall(hp.frame(hp.PING, (42).to_bytes(8, "little")))
    got = hp.read_frame(s)
    check(got == (hp.PONG, (42).to_bytes(8, "little")),
          "with the secret the link is up (PING answered)")
    s.close()


def fake_acceptor(listener, w):
    """Takes game1's dial: its HELLO, then our HELLO(A) and PROOF(A) made
    with w; then what game1 sends: all of it until it closes, or its first
    frame (an honest acceptor's link stays up)."""
    conn, _ = listener.accept()
    conn.settimeout(10)
    hello_c = hp.read_frame(conn)
    assert hello_c and hello_c[0] == hp.HELLO, "no HELLO(C)"
    side = hp.Side("A", w, 1, "root")
    conn.sendall(hp.frame(hp.HELLO, side.hello)
                 + hp.frame(hp.PROOF, side.keys(hello_c[1])[1]))
    try:
        first = hp.read_frame(conn)
    except (socket.timeout, ConnectionResetError):
        first = None
    conn.close()
    return side, hello_c[1], first


def test_dialer_gives_no_oracle():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", BASE))
    listener.listen(8)
    listener.settimeout(20)
    start("game1")
    try:
        side, hello_c, first = fake_acceptor(
            listener, hp.secret_scalar(GUESSES[1]))
        check(first is None, "a dialing node sends nothing after a fake "
              "acceptor's wrong proof")
        # all it holds is HELLO(C): the share alone confirms nothing, so no
        # guess can be tested; the honest acceptor links with it
        side, hello_c, first = fake_acceptor(
            listener, hp.secret_scalar(SECRET))
        check(first == (hp.PROOF, side.keys(hello_c)[0]), "with the secret, "
              "the dialing node's PROOF(C) is the specification's")
    finally:
        run.stop("game1")
        listener.close()


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def sanitized(pid):
    """ASan's shadow memory alone takes tens of MB: there only the growth
    is checked."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def test_large_frames_before_handshake(root):
    rss_before = vm_hwm_kb(root.pid)
    socks = []
    for _ in range(100):
        s = dial_root()
        s.sendall((60 << 20).to_bytes(4, "little") + b"\x04")
        socks.append(s)
    chunk = b"\0" * (1 << 20)
    refused = 0
    for s in socks:
        s.settimeout(5)
        try:
            for _ in range(60):
                s.sendall(chunk)
        except OSError:
            refused += 1
        s.close()
    check(refused == 100, "every 60 MiB frame before the handshake is refused "
          "(%d of 100)" % refused)
    hwm = vm_hwm_kb(root.pid)
    check(hwm > 0 and hwm - rss_before < 50 * 1024 and (sanitized(root.pid)
                                                or hwm < 50 * 1024),
          "the root's peak RSS stays under 50 MB (%d kB, %d kB before)"
          % (hwm, rss_before))
    check("exceeds the limit of 256" in log_of("root"),
          "the log names the pre-handshake frame limit")


def test_trickle_closed_at_deadline():
    hello = hp.frame(hp.HELLO, hp.Side("C", 1, 2, "game1").hello)
    socks = [dial_root() for _ in range(6)]
    start_at = time.time()
    closed_at = {}
    sent = 0
    while len(closed_at) < len(socks) and time.time() - start_at < 30:
        for s in socks:
            if s in closed_at:
                continue
            try:
                s.sendall(hello[sent:sent + 1])
            except OSError:
                closed_at[s] = time.time() - start_at
        sent += 1
        time.sleep(0.5)  # well within harbor.timeout's silence (1.5 s)
    for s in socks:
        s.close()
    times = sorted(closed_at.values())
    check(len(times) == 6 and 3.5 <= times[0] and times[-1] <= 15,
          "trickling handshakes are closed at the deadline (%s s)"
          % ", ".join("%.1f" % t for t in times))
    check("no handshake within the deadline" in log_of("root"),
          "the log names the handshake's deadline")


def still_open(s):
    s.setblocking(False)
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def test_idle_connections_capped():
    socks = [dial_root() for _ in range(100)]
    # the oldest go at once; all would go after harbor.timeout's 1.5 s of
    # silence
    time.sleep(0.5)
    open_count = sum(still_open(s) for s in socks)
    check(open_count == 64, "100 idle connections: 64 wait in their handshake "
          "(%d open)" % open_count)
    s, side, hello_a, proof_a = connect_as_game1(hp.secret_scalar(SECRET))
    check(side.keys(hello_a)[1] == proof_a,
          "a real peer still gets its handshake through")
    s.close()
    for s in socks:
        s.close()


def test_cap_is_the_cluster_size():
    """Every other node of a big cluster may dial its root at once: the
    root keeps that many handshakes waiting, and no more."""
    nodes = 150
    big = Run(WISP, os.path.join(ROOT, "test/scale/scale.lua"), nodes,
              "wisp-attacks-big-")
    root = big.start("root", {"WISP_SECRET": SECRET,
                              "WISP_SCALE_NODES": str(nodes)})
    check(wait_for(lambda: root_listening(big.base), 20),
          "the root of %d nodes listens" % nodes)
    time.sleep(0.2)  # the probes' handshakes are over
    socks = [dial_root(big.base) for _ in range(nodes + 10)]
    time.sleep(0.5)
    open_count = sum(still_open(s) for s in socks)
    check(open_count == nodes, "%d idle connections to the root of %d nodes: "
          "%d wait in their handshake (%d open)" % (nodes + 10, nodes, nodes,
                                                    open_count))
    for s in socks:
        s.close()
    check(root.poll() is None, "the root of %d nodes survived" % nodes)
    big.stop("root")


def main():
    # the plaintext handshake: TLS would come after it, on loopback only
    # when asked
    os.environ.pop("WISP_HARBOR_TLS", None)
    test_dialer_gives_no_oracle()
    root = start("root")
    check(wait_for(root_listening, 20), "the root listens")
    test_acceptor_gives_no_oracle()
    test_large_frames_before_handshake(root)
    test_trickle_closed_at_deadline()
    test_idle_connections_capped()
    test_cap_is_the_cluster_size()
    check(root.poll() is None, "the root survived every attack")
    run.finish()


main()
