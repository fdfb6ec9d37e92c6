"""A private Apache httpd with mod_orders, started for the tests.

Each Server lives in its own temporary directory: configuration rendered by
conf/render.sh (the same template `make run` uses), its SQLite database,
logs and pid file.  It listens on a free loopback port and is stopped by its
PID.  Nothing here mocks httpd or the database.
"""
import asyncio
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RENDER = os.path.join(ROOT, "conf", "render.sh")
MODDIR = "/usr/lib/apache2/modules"
IS_ROOT = os.geteuid() == 0

# `make test SANITIZE=1` sets ORDERS_SANITIZE to the ASan runtime and
# ORDERS_MODULE to the module built with ASan and UBSan.  The apache2 of
# sanitize/ (first in PATH from here on, for every apache2 the tests run)
# preloads the runtime and writes reports to <server dir>/sanitizer/.
SANITIZE = os.environ.get("ORDERS_SANITIZE", "")
if SANITIZE:
    os.environ["PATH"] = (os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                       "sanitize") + os.pathsep + os.environ["PATH"])
# What a sanitizer report says in its first line.
SANITIZER_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|"
                              r"runtime error:|WARNING: .*Sanitizer|"
                              r"Sanitizer: failed to")
# Reports found in servers already removed, for the tests' fixtures.
SANITIZER_FINDINGS = []

# The module's own error and warning lines (crit and above too), which each
# test must declare by their tag, and that tag.  Other modules' lines
# ([core:error], [dbd:error], [mpm_event:...]) are not checked.
MODULE_LOG_LINE = re.compile(r"\[orders:(warn|error|crit|alert|emerg)\]")
LOG_TAG = re.compile(r"\b(ORD\d{5}):")
# Every Server not yet removed, so that its new lines can be read whoever
# made it (a fixture of the module, of the test, or the test itself); and
# the lines of those removed since the last look (read at their cleanup).
_LIVE_SERVERS = []
_REMOVED_LINES = []


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_alive(pid):
    """True while `pid` runs (a zombie, whose sockets are closed, is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def terminate(proc, timeout=30):
    """Stops a process the tests started (a subprocess.Popen) by its PID:
    SIGTERM, a wait of `timeout`, then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def wait_for(predicate, timeout, interval=0.05, what="condition"):
    """Polls `predicate` until it returns a true value or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


def assert_json(r, status):
    """`r` has `status`, Content-Type application/json, and a JSON body,
    which is returned."""
    assert r.status == status, r
    ctype = r.header("Content-Type") or ""
    assert ctype.split(";")[0].strip().lower() == "application/json", r.headers
    return r.json()


def assert_error(r, status, *words):
    """`r` is a JSON error {"error": sentence, "request_id": its
    Request-Id} with `status`, the sentence containing every one of
    `words`; the sentence is returned."""
    body = assert_json(r, status)
    assert set(body) == {"error", "request_id"}, body
    assert isinstance(body["error"], str) and body["error"], body
    assert body["request_id"] == r.header("Request-Id"), (body, r.headers)
    for w in words:
        assert w in body["error"], (w, body)
    return body["error"]


class Server:
    def __init__(self, processing_time="0.2", recovery_interval="1",
                 workers="8", extra_conf="", driver="sqlite3", pg=None,
                 dbname=None, my=None):
        """driver "sqlite3" keeps the database in this server's directory;
        "pgsql" needs `pg` (a PostgresServer), "mysql" `my` (a
        MariaDBServer), and makes a fresh database there unless `dbname`
        names one to share."""
        self.dir = tempfile.mkdtemp(prefix="mod_orders-test-")
        os.chmod(self.dir, 0o755)   # the children (www-data) must reach it
        self.port = free_port()
        self.driver = driver
        self.pg = pg
        self.my = my
        self.params = None
        if driver == "pgsql":
            self.dbname = dbname or pg.create_database()
            self.params = pg.params(self.dbname)
        elif driver == "mysql":
            self.dbname = dbname or my.create_database()
            self.params = my.params(self.dbname)
        self.env = dict(os.environ,
                        ORDERS_PROCESSING_TIME=str(processing_time),
                        ORDERS_RECOVERY_INTERVAL=str(recovery_interval),
                        ORDERS_WORKERS=str(workers),
                        ORDERS_LOGLEVEL="warn orders:debug")
        self.extra_conf = extra_conf
        self.proc = None
        self.db_path = os.path.join(self.dir, "db", "orders.db")
        self.error_log = os.path.join(self.dir, "log", "error_log")
        # Where the lines not yet looked at begin (an offset in error_log).
        self.log_mark = 0
        self.render()
        _LIVE_SERVERS.append(self)

    # -- life cycle -------------------------------------------------------
    def render(self):
        args = ["sh", RENDER, self.dir, str(self.port), self.driver]
        if self.params:
            args.append(self.params)
        subprocess.run(args, check=True, env=self.env)
        with open(os.path.join(self.dir, "conf.d", "test.conf"), "w") as f:
            f.write(self.extra_conf)

    @property
    def conf(self):
        return os.path.join(self.dir, "httpd.conf")

    def start(self, timeout=30):
        assert self.proc is None, "already started"
        self.proc = subprocess.Popen(["apache2", "-f", self.conf, "-DFOREGROUND"],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "log", "stderr"), "ab"),
                                     env=self.env)

        def answers():
            if self.proc.poll() is not None:
                with open(os.path.join(self.dir, "log", "stderr"), errors="replace") as f:
                    stderr = f.read()
                raise AssertionError(f"httpd exited with {self.proc.returncode}:\n"
                                     + stderr[-2000:] + self.read_log()[-3000:])
            try:
                return self.get("/metrics").status == 200
            except OSError:
                return False
        wait_for(answers, timeout, what="httpd to answer")
        return self

    def children(self):
        """PIDs of the parent's child processes."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]

    def kill_children(self):
        """SIGKILL every child (the parent stays and forks new ones)."""
        pids = self.children()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids

    def graceful(self):
        os.kill(self.proc.pid, signal.SIGUSR1)

    def stop(self, timeout=30):
        if self.proc is None:
            return
        children = self.children()
        terminate(self.proc, timeout)
        # The parent reaps its children before it exits; make sure of it.
        for pid in children:
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not any(process_alive(pid) for pid in children), 20,
                 what="the children to exit")
        self.proc = None

    def kill(self):
        """SIGKILL the parent and all children: a crash of the whole server.
        Returns once every one of them is gone (their sockets closed)."""
        children = self.children()
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        self.proc.kill()
        self.proc.wait(10)
        self.proc = None
        wait_for(lambda: not any(process_alive(pid) for pid in children), 20,
                 what="the killed children to exit")

    def cleanup(self):
        self.stop()
        # Children report leaks as they exit: only now is everything there.
        SANITIZER_FINDINGS.extend(self.sanitizer_reports())
        # Its lines not yet looked at (its stop's too), before they go with
        # the directory.
        _REMOVED_LINES.extend((self, line) for line in self.new_module_lines())
        if self in _LIVE_SERVERS:
            _LIVE_SERVERS.remove(self)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __str__(self):
        return f"server :{self.port} ({self.driver}, {self.dir})"

    # -- HTTP ---------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode()
            hdrs = dict(headers or {})
            if body is not None and "Content-Type" not in hdrs:
                hdrs["Content-Type"] = "application/json"
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body=body, **kw)

    def metrics(self):
        r = self.get("/metrics")
        assert r.status == 200, r
        return r.json()

    # -- database: PostgreSQL through psql, MariaDB through PyMySQL; SQLite
    # through the sqlite3 CLI as the server's user, so that no file of it is
    # ever created by root ---------------------------------------------------
    def sql(self, query):
        if self.driver == "pgsql":
            return self.pg.query(self.dbname, query)
        if self.driver == "mysql":
            return self.my.query(self.dbname, query)
        cmd = ["sqlite3", "-json", "-cmd", ".timeout 5000", self.db_path, query]
        if IS_ROOT:
            cmd = ["runuser", "-u", "www-data", "--"] + cmd
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        return json.loads(out) if out.strip() else []

    def db_status_counts(self):
        rows = self.sql("SELECT status, COUNT(*) AS n FROM orders GROUP BY status")
        counts = {"Pending": 0, "Processing": 0, "Completed": 0, "Cancelled": 0}
        for row in rows:
            counts[row["status"]] = row["n"]
        return counts

    # -- logs -----------------------------------------------------------------
    def read_log(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def new_module_lines(self):
        """The module's error and warning lines (MODULE_LOG_LINE) logged
        since the last call, whole lines only."""
        try:
            with open(self.error_log, "rb") as f:
                f.seek(self.log_mark)
                data = f.read()
        except FileNotFoundError:
            return []
        data = data[:data.rfind(b"\n") + 1]      # a line being written waits
        self.log_mark += len(data)
        return [line for line in data.decode(errors="replace").splitlines()
                if MODULE_LOG_LINE.search(line)]

    def crashes(self, allow_killed=False):
        """error_log lines that tell of a crash, and sanitizer reports."""
        bad = []
        for line in self.read_log().splitlines():
            if ("Segmentation fault" in line or "AddressSanitizer" in line
                    or "runtime error" in line or "Aborted" in line
                    or ("exit signal" in line
                        and not (allow_killed and "Killed (9)" in line))):
                bad.append(line)
        return bad + self.sanitizer_reports()

    def sanitizer_reports(self):
        """Every ASan, LSan or UBSan report in this server's stderr, error_log
        and report files (sanitize/apache2 sends them to sanitizer/), each
        as '<file>: <its first lines>'."""
        files = [os.path.join(self.dir, "log", "stderr"), self.error_log]
        reports_dir = os.path.join(self.dir, "sanitizer")
        if os.path.isdir(reports_dir):
            files += sorted(os.path.join(reports_dir, f)
                            for f in os.listdir(reports_dir))
        reports = []
        for path in files:
            try:
                with open(path, errors="replace") as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                continue
            for i, line in enumerate(lines):
                if SANITIZER_REPORT.search(line):
                    reports.append(f"{path}: " + "\n".join(lines[i:i + 30]))
        return reports

    def completions(self):
        """Order ids of every completion this server logged (ORD00012)."""
        ids = []
        for line in self.read_log().splitlines():
            if "ORD00012:" in line:
                ids.append(line.split("ORD00012: order ", 1)[1].split(" ", 1)[0])
        return ids


def log_tag(line):
    """The ORDnnnnn tag of an error_log line of the module, or None."""
    m = LOG_TAG.search(line)
    return m.group(1) if m else None


def collect_module_lines():
    """[(server, line)] of every error and warning line of the module logged
    since the last call, by any server: those running and those removed
    meanwhile.  conftest calls it before and after each test."""
    found = _REMOVED_LINES[:]
    del _REMOVED_LINES[:]
    for s in _LIVE_SERVERS:
        found += [(s, line) for line in s.new_module_lines()]
    return found


def wait_completions_logged(servers, ids, timeout=15):
    """Waits (at most `timeout`) until the error_logs of `servers` together
    have a completion line (ORD00012) for every one of `ids`, and returns
    those still without one: the caller's own assertions then say what is
    wrong.  A child logs the line after the COMMIT's answer, so a quick
    reader of the database (PyMySQL answers in a millisecond) can see an
    order Completed before its line is written."""
    want = set(ids)

    def missing():
        return want - {i for s in servers for i in s.completions()}
    try:
        wait_for(lambda: not missing(), timeout, interval=0.1,
                 what="a completion line for every order")
    except AssertionError:
        pass
    return missing()


def assert_no_crash(*servers):
    """No crash and no sanitizer report in any of `servers`; the message
    carries the reports whole."""
    found = [line for s in servers for line in s.crashes()]
    assert found == [], "\n\n".join(found)


async def _one_post(port, body, results, start, path):
    await start.wait()
    t0 = time.monotonic()
    data = json.dumps(body).encode()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
                     + b"Content-Type: application/json\r\nConnection: close\r\n"
                     + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        await writer.drain()
        raw = await reader.read()
        writer.close()
        status = int(raw.split(b" ", 2)[1])
    except (OSError, IndexError, ValueError):
        status = 0
    results.append((status, time.monotonic() - t0, body.get("order_id")))


def concurrent_posts(port, bodies, timeout=120, path="/orders"):
    """POSTs every body on its own connection, all at once.  Returns
    [(status, seconds, order_id)]; status 0 when the connection broke."""
    async def run():
        results = []
        start = asyncio.Event()
        tasks = [asyncio.ensure_future(_one_post(port, b, results, start, path))
                 for b in bodies]
        await asyncio.sleep(0)
        start.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout)
        return results
    return asyncio.run(run())
