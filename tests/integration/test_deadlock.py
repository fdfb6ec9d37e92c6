"""A writer's batch that loses a deadlock runs again, and its requests see
nothing of it.

POST /orders/populate of dl-1, dl-2, dl-3 (its ids count from 1) is one
INSERT of the writer's batch.  Two sessions of the test's hold dl-3 (S) and
dl-2 (T) uncommitted; the batch inserts dl-1 and waits for T.  S then
inserts dl-1, which waits for the batch; T rolls back, so the batch goes on
to dl-3 and waits for S: the cycle closes with the batch's wait.
PostgreSQL checks for a deadlock once a wait has lasted deadlock_timeout
(1 s), in the waiting session: S puts its own check off (60 s), so the
batch's finds the cycle and rolls the batch back;
MariaDB checks as the cycle closes and rolls back the lighter transaction,
so S first writes rows of its own.  The batch runs again, waits for S,
which rolls back; then the populate answers 201 with all three orders, and
the log says ORD00018 at info, no failure.
"""
import queue
import subprocess
import threading

from orders_server import IS_ROOT, wait_for

POPULATE = "<Location /orders>\n    OrdersPopulate On\n</Location>\n"
PAD = 50        # rows the session writes first, on MariaDB (see above)
ROW = ("INSERT INTO orders (order_id, order_id_int, user_id, user_id_int, "
       "item_ids, amount_cents, amount_scale, status, created_us, updated_us) "
       "VALUES ('{id}', 0, 'u', 0, '[\"i\"]', 100, 2, 'Pending', 1, 1)")


class PgSession:
    """One psql session of the test's, statement by statement."""

    def __init__(self, pg, dbname):
        cmd = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
               "-h", pg.dir, "-p", str(pg.port), "-U", "postgres", "-d", dbname]
        if IS_ROOT:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        # In a directory the postgres user may enter (psql says so on
        # stderr otherwise, as under .ci/run's private temp directory).
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, cwd=pg.dir)
        # Its lines as they come, read on a thread: a statement that waits
        # for a lock holds its answer back.
        self.lines = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.proc.stdout],
                         daemon=True).start()
        self.steps = 0

    def run(self, sql, timeout=20):
        """Runs `sql` and returns its output, once it has finished."""
        self.steps += 1
        mark = f"--step {self.steps} done--"
        # A query's answer, not \\echo: psql flushes those into the pipe.
        self.proc.stdin.write(f"{sql};\nSELECT '{mark}';\n")
        self.proc.stdin.flush()
        out = []
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"{sql!r} did not finish in {timeout}s: {out}")
            if line.strip() == mark:
                return "".join(out)
            out.append(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)


class MySession:
    """One PyMySQL session of the test's."""

    def __init__(self, my, dbname):
        self.conn = my.connect(dbname)      # autocommit; START TRANSACTION opens one

    def run(self, sql):
        with self.conn.cursor() as c:
            c.execute(sql)
            return str(c.fetchall())

    def close(self):
        self.conn.close()


def waiting_for_a_lock(server, session_ids, ours):
    """The sessions waiting for a row lock: among `session_ids` if `ours`,
    else the others (the module's)."""
    if server.driver == "pgsql":
        rows = server.sql("SELECT pid AS id, wait_event_type AS state FROM pg_stat_activity")
        waiting = "Lock"
    else:
        # innodb_trx said RUNNING for a waiting INSERT while it was read 20
        # times a second; the process list says what the statement does.
        rows = server.sql("SELECT id, state FROM information_schema.processlist "
                          "WHERE info LIKE 'INSERT INTO orders%'")
        waiting = "Update"
    return [r["id"] for r in rows
            if r["state"] == waiting and (int(r["id"]) in session_ids) == ours]


def open_session(shared_db, server):
    """A session of the test's inside a transaction; its id."""
    session = (PgSession(shared_db.db, server.dbname) if server.driver == "pgsql"
               else MySession(shared_db.db, server.dbname))
    session.id = int(session.run("SELECT pg_backend_pid()" if server.driver == "pgsql"
                                 else "SELECT CONNECTION_ID()").strip("(),\n "))
    session.run("BEGIN" if server.driver == "pgsql" else "START TRANSACTION")
    return session


def in_thread(fn):
    """Runs fn() on a thread of its own; the thread and what fn returned."""
    got = {}
    t = threading.Thread(target=lambda: got.update(value=fn()))
    t.start()
    return t, got


def test_a_batch_that_loses_a_deadlock_runs_again(shared_db):
    server = shared_db.server(extra_conf=POPULATE).start()
    sessions = []
    try:
        s = open_session(shared_db, server)
        sessions.append(s)
        if server.driver == "pgsql":
            s.run("SET deadlock_timeout = '60s'")
        else:
            for i in range(PAD):
                s.run(ROW.format(id=f"pad-{i}"))
        s.run(ROW.format(id="dl-3"))
        t = open_session(shared_db, server)
        sessions.append(t)
        t.run(ROW.format(id="dl-2"))
        ids = {s.id, t.id}

        populate, answer = in_thread(lambda: server.post(
            "/orders/populate", {"total_entries": 3, "batch_id": "dl"}, timeout=60))
        wait_for(lambda: waiting_for_a_lock(server, ids, False), 10,
                 what="the batch to wait for T's dl-2")
        s_insert, _ = in_thread(lambda: s.run(ROW.format(id="dl-1")))
        wait_for(lambda: waiting_for_a_lock(server, {s.id}, True), 10,
                 what="S's dl-1 to wait for the batch")
        t.run("ROLLBACK")
        # The batch's wait for S's dl-3 closes the cycle: the batch is the
        # one rolled back, and S's insert goes through.
        wait_for(lambda: "ORD00018" in server.read_log(), 10,
                 what="the batch to say it runs again")
        s_insert.join(20)
        assert not s_insert.is_alive()
        s.run("ROLLBACK")
        populate.join(60)
        assert not populate.is_alive()

        r = answer["value"]
        assert r.status == 201, r
        body = r.json()
        assert (body["success_count"], body["failure_count"]) == (3, 0), body
        rows = server.sql("SELECT order_id FROM orders ORDER BY order_id")
        assert [row["order_id"] for row in rows] == ["dl-1", "dl-2", "dl-3"]
        log = server.read_log()
        line = next(line for line in log.splitlines() if "ORD00018" in line)
        assert "[orders:info]" in line, line
        assert "deadlock" in line.lower(), line
        assert "ORD00052" not in log and "ORD00013" not in log
        print(f"\n{server.driver}: {line.split('ORD00018: ', 1)[1][:200]}")
    finally:
        for session in sessions:
            session.close()
        server.cleanup()
