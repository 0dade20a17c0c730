"""pg.py: a throwaway PostgreSQL server for the Python db tests, as
test/integration/pg_server.c makes one for the C ones: initdb in a fresh
temporary directory, the server on a Unix socket there only (no TCP),
trust for the user wisp; as root, initdb and postgres (which refuse to run
as root) run as nobody through setpriv. Never touches a system instance."""

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time

START_S = 60
DROP = ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
        "--clear-groups", "--"]


def find_bin():
    """The newest version's bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return os.path.dirname(found[-1]) if found else None


class Server:
    def __init__(self, port):
        self.bin = find_bin()
        if self.bin is None:
            raise SystemExit("no PostgreSQL in /usr/lib/postgresql/*/bin "
                             "(tools/setup.sh --tests installs it)")
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="wisp_pg_")
        self.proc = None
        if os.geteuid() == 0:
            os.chmod(self.dir, 0o700)
            shutil.chown(self.dir, "nobody", "nogroup")

    def _argv(self, args):
        return (DROP if os.geteuid() == 0 else []) + args

    def start(self):
        data = os.path.join(self.dir, "data")
        subprocess.run(self._argv([os.path.join(self.bin, "initdb"), "-D",
                                   data, "-U", "wisp", "-A", "trust"]),
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.STDOUT)
        log = open(os.path.join(self.dir, "postgres.log"), "w")
        self.proc = subprocess.Popen(self._argv([
            os.path.join(self.bin, "postgres"), "-D", data, "-k", self.dir,
            "-p", str(self.port), "-c", "listen_addresses=",
            "-c", "max_connections=20"]), stdout=log, stderr=subprocess.STDOUT)
        end = time.monotonic() + START_S
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise SystemExit("postgres exited: see " + log.name)
            if self.sql("postgres", "SELECT 1", check=False) == "1":
                return
            time.sleep(0.1)
        raise SystemExit("postgres did not start within %d s" % START_S)

    def sql(self, db, query, check=True):
        """The query's result as text (psql -tA)."""
        p = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v",
                            "ON_ERROR_STOP=1", "-h", self.dir, "-p",
                            str(self.port), "-U", "wisp", "-d", db, "-c",
                            query], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise SystemExit("psql: " + p.stderr.strip())
        return p.stdout.strip()

    def conninfo(self, db):
        return "host=%s port=%d user=wisp dbname=%s" % (self.dir, self.port,
                                                        db)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
