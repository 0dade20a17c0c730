"""bots.py: the players of a chaos run. wisp-bots --chaos yes plays
through the faults (reconnects, logs in again, retries), saves the state
the game acknowledged and prints one BOTS-SUMMARY line of counts; a second
wisp-bots, once the cluster has converged, logs every bot in again and
checks that state. What they count becomes the invariants on writes,
deadlines and chat."""

import os
import subprocess

DRAIN_S = 30    # wisp-bots' --timeout: setup and the final drain
FINISH_S = 120  # beyond duration and drain, before it is called hung


def summary(text):
    """The counts of the BOTS-SUMMARY line, or None."""
    for line in text.splitlines():
        if line.startswith("BOTS-SUMMARY "):
            return {k: int(v) for k, v in
                    (w.split("=", 1) for w in line.split()[1:] if "=" in w)}
    return None


class Bots:
    def __init__(self, exe, gate, work):
        self.exe, self.gate, self.work = exe, gate, work
        self.saved = os.path.join(work, "players.txt")
        self.proc = None
        self.rc = self.verify_rc = None
        self.counts = None

    def _log(self, name):
        return os.path.join(self.work, name)

    def start(self, bots, rooms, rate, duration, deadline):
        args = [self.exe, "--bots", str(bots), "--rooms", str(rooms),
                "--moves", "%g" % rate, "--chats", "%g" % rate,
                "--duration", str(int(duration)), "--timeout", str(DRAIN_S),
                "--chaos", "yes", "--deadline", "%g" % deadline,
                "--save", self.saved, self.gate]
        self.proc = subprocess.Popen(args, stdout=open(self._log("bots.log"),
                                                       "w"),
                                     stderr=subprocess.STDOUT)
        return self.proc

    def finish(self, duration):
        try:
            self.rc = self.proc.wait(duration + DRAIN_S + FINISH_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.rc = self.proc.wait()
        with open(self._log("bots.log")) as f:
            self.counts = summary(f.read())

    def verify(self, bots):
        """Every bot logs in again: it must find the state it saved."""
        if not os.path.exists(self.saved):
            return
        with open(self._log("verify.log"), "w") as out:
            try:
                self.verify_rc = subprocess.run(
                    [self.exe, "--bots", str(bots), "--duration", "0",
                     "--timeout", str(DRAIN_S), "--verify", self.saved,
                     self.gate], stdout=out, stderr=subprocess.STDOUT,
                    timeout=DRAIN_S + FINISH_S).returncode
            except subprocess.TimeoutExpired:
                self.verify_rc = -1


def check(v, bots, lossless):
    c = bots.counts
    v.check(c is not None, "the bots ran to their end and summed up "
            "(exit %s%s)" % (bots.rc, "" if c else ", no BOTS-SUMMARY line; "
                             "see bots.log"))
    c = c or {}
    get = c.get
    v.check(c and get("state_lost", 1) == 0 and bots.verify_rc == 0,
            "no acknowledged write lost: state_lost=%s during play, the "
            "saved state verified after convergence (exit %s)"
            % (get("state_lost", "?"), bots.verify_rc))
    v.check(c and get("late", 1) == 0, "every command answered or failed "
            "within its deadline: commands=%s replies=%s errors=%s "
            "closed=%s late=%s" % tuple(get(k, "?") for k in (
                "commands", "replies", "errors", "closed", "late")))
    ok = c and get("chats_dup", 1) == 0 and get("chats_reordered", 1) == 0
    if lossless:
        ok = ok and get("chats_lost", 1) == 0
    v.check(ok, "chat lines once and in order%s: sent=%s heard=%s lost=%s "
            "dup=%s reordered=%s" % (
                " and none lost (only lossless faults ran)" if lossless
                else "", *(get(k, "?") for k in (
                    "chats_sent", "chats_heard", "chats_lost", "chats_dup",
                    "chats_reordered"))))
