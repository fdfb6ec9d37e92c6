"""What the mysql driver makes mod_orders do differently, on a private
MariaDB: a session killed inside a writer's transaction commits nothing of
it (the driver's auto-reconnect is off while mod_orders holds a
connection), and a configuration that asks the driver to count found rows
does not start (nor pass configtest)."""
import os
import subprocess
import threading

import pytest

from orders_data import order
from orders_server import Server, wait_for


@pytest.fixture
def mysql_server(mariadb):
    made = []

    def make(**kw):
        s = Server(driver="mysql", my=mariadb, processing_time="0.1", **kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.cleanup()


def hold_event_writer_lock(mariadb, dbname):
    """A connection of the test's that holds the row every writer's
    transaction locks before its first event (sql/mysql.sql): the module's
    next batch waits on it, inside its transaction, its orders inserted."""
    conn = mariadb.connect(dbname)
    conn.autocommit(False)
    with conn.cursor() as cur:
        cur.execute("SELECT until_us FROM order_leases WHERE name = "
                    "'event-writer' FOR UPDATE")
    return conn


def waiting_for_lock(mariadb):
    """A session of the module's stopped at the lock: a row lock wait
    (INNODB_TRX), a metadata lock wait, or the lock's own statement still
    running (PROCESSLIST).  The last is needed: a transaction that has
    written nothing yet waits in the optimizer's "Statistics" stage, and
    MariaDB 10.11 then often leaves it out of INNODB_TRX."""
    rows = mariadb.query(None, "SELECT COUNT(*) AS n FROM information_schema."
                               "INNODB_TRX WHERE trx_state = 'LOCK WAIT'")
    waits = mariadb.query(None, "SELECT COUNT(*) AS n FROM information_schema."
                                "PROCESSLIST WHERE USER = 'orders' "
                                "AND (STATE LIKE 'Waiting for%' OR "
                                "INFO LIKE '%''event-writer'' FOR UPDATE')")
    return rows[0]["n"] > 0 or waits[0]["n"] > 0


# The killed batch is logged as the writer met it (ORD00013).
@pytest.mark.orders_log("ORD00013")
def test_a_session_killed_inside_a_batch_commits_none_of_it(mysql_server, mariadb):
    server = mysql_server().start()
    assert server.post("/orders", order("before-1")).status == 202
    # Every child has loaded (made or found the schema) once an order has
    # gone through: no DDL of theirs meets the lock below.
    wait_for(lambda: server.db_status_counts()["Completed"] == 1, 30,
             what="the first order to complete")
    holder = hold_event_writer_lock(mariadb, server.dbname)
    answers = []
    try:
        poster = threading.Thread(target=lambda: answers.append(
            server.post("/orders", order("killed-1"))))
        poster.start()
        try:
            wait_for(lambda: waiting_for_lock(mariadb), 30,
                     interval=0.05, what="the batch to wait inside its transaction")
        except AssertionError:
            # What the database was doing instead, for the report.
            raise AssertionError(f"no lock wait; answers {answers}, transactions "
                                 f"{mariadb.query(None, 'SELECT * FROM information_schema.INNODB_TRX')}")
        assert mariadb.kill_connections(server.dbname) > 0
    finally:
        holder.rollback()
        holder.close()
    poster.join(30)
    status = answers[0].status
    # The batch ran again whole on a new session (202), or answered 503:
    # never half of it, never a 500.
    assert status in (202, 503), answers[0]
    orders = server.sql("SELECT COUNT(*) AS n FROM orders WHERE order_id = 'killed-1'")[0]["n"]
    events = server.sql("SELECT COUNT(*) AS n FROM order_events "
                        "WHERE order_id = 'killed-1' AND type = 'order.created'")[0]["n"]
    assert (orders, events) == ((1, 1) if status == 202 else (0, 0)), status
    # And the server goes on.
    assert server.post("/orders", order("after-1")).status == 202
    print(f"\nthe killed batch answered {status}")


def run_httpd(server, *args, timeout=30):
    """apache2 on the server's configuration with `args`: its exit status
    and what it wrote (before its logs are open, to stderr).  One that
    starts after all is the fixture's to stop."""
    out = os.path.join(server.dir, "log", "refused")
    with open(out, "w") as f:
        server.proc = subprocess.Popen(["apache2", "-f", server.conf, *args],
                                       stdout=f, stderr=subprocess.STDOUT,
                                       env=server.env)
        try:
            rc = server.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"apache2 {' '.join(args)} still runs")
    server.proc = None
    with open(out) as f:
        return rc, f.read()


# Where DBDParams ask for the flag: the main server's (as an operator would
# write it), or a virtual host's own (quoted, the key in capitals, spaces
# around `=`, the flag second in a list).
FOUND_ROWS_PLACES = {
    "main-server": lambda s: (s.params + " flags=CLIENT_FOUND_ROWS", ""),
    "virtual-host": lambda s: (s.params, (
        "<VirtualHost 127.0.0.1:9>\n"
        f'    DBDParams "{s.params} FLAGS = CLIENT_COMPRESS|CLIENT_FOUND_ROWS"\n'
        "</VirtualHost>\n")),
}


@pytest.mark.parametrize("how", [("-t",), ("-DFOREGROUND",)],
                         ids=["configtest", "start"])
@pytest.mark.parametrize("place", FOUND_ROWS_PLACES)
def test_found_rows_refuses_to_start_in_one_line(mysql_server, place, how):
    server = mysql_server()
    server.params, server.extra_conf = FOUND_ROWS_PLACES[place](server)
    server.render()
    rc, out = run_httpd(server, *how)
    assert rc != 0, out
    assert "Syntax OK" not in out, out
    ours = [l for l in out.splitlines() if "[orders:" in l or "ORD0" in l]
    assert len(ours) == 1, out
    line = ours[0]
    assert "[orders:crit]" in line and "ORD00007:" in line, out
    assert "flags=CLIENT_FOUND_ROWS" in line and "DBDParams" in line, out
    # It names where the DBDParams are.
    where = "conf.d/test.conf:2" if place == "virtual-host" else "httpd.conf:"
    assert where in line, line
    # Refused before anything ran: no child, no log, no schema.
    assert server.read_log() == "", server.read_log()
    assert server.sql("SELECT COUNT(*) AS n FROM information_schema.TABLES "
                      f"WHERE TABLE_SCHEMA = '{server.dbname}'")[0]["n"] == 0


@pytest.mark.parametrize("flags", ["CLIENT_COMPRESS", "client_found_rows",
                                   "CLIENT_FOUND_ROWSX"])
def test_other_flags_pass_configtest(mysql_server, flags):
    # Flags the driver does not read as CLIENT_FOUND_ROWS (it compares the
    # name exactly) are no reason to refuse.
    server = mysql_server()
    server.params += f" flags={flags}"
    server.render()
    rc, out = run_httpd(server, "-t")
    assert rc == 0 and "Syntax OK" in out, out
    assert "ORD0" not in out, out


def test_auto_reconnect_is_off_and_says_so(mysql_server):
    server = mysql_server().start()
    assert server.post("/orders", order("said-1")).status == 202
    wait_for(lambda: "ORD00005" in server.read_log(), 10, what="the notice")
    line = next(l for l in server.read_log().splitlines() if "ORD00005" in l)
    assert "auto-reconnect off" in line


def test_ids_differing_in_case_are_two_orders(mysql_server):
    # The binary collation: ORD1 and ord1 are two orders, as elsewhere.
    server = mysql_server().start()
    assert server.post("/orders", order("Case-1")).status == 202
    assert server.post("/orders", order("case-1", user_id=2)).status == 202
    assert server.get("/orders/CASE-1").status == 404
    assert server.get("/orders/case-1").json()["user_id"] == 2
