"""A database that holds a batch of writes without answering (a COMMIT
waiting for a synchronous standby that is gone, as under Patroni's
synchronous_mode_strict with no standby left; a lock another session holds):
after OrdersDatabaseTimeout the request that waits cuts the batch's
connection (ORD00017) and answers 503 with Retry-After; no worker is held
longer; once the database lets go, the client's retry with the same body
settles the order (200 if the COMMIT had taken effect, 202 if not), which
is then stored and Completed once.  A private PostgreSQL (its configuration
changes), then a private MariaDB."""
import time

import pytest

from orders_data import order
from orders_server import assert_no_crash, wait_for

TIMEOUT = 1.0
# The first cut comes after TIMEOUT; a request queued behind a batch that
# was cut may wait for its own batch's cut too.
ANSWERED_WITHIN = 2 * TIMEOUT + 3


class Hold:
    """Makes every COMMIT (PostgreSQL) or the writers' lock (MariaDB) wait
    until released."""

    def __init__(self, db, dbname):
        self.db, self.dbname = db, dbname
        self.conn = None

    def __enter__(self):
        if self.db.driver == "pgsql":
            # A synchronous standby that does not exist: every COMMIT waits.
            self.set_standby("'nobody'")
        else:
            self.conn = self.db.db.connect(self.dbname)
            self.conn.autocommit(False)
            with self.conn.cursor() as cur:
                cur.execute("SELECT until_us FROM order_leases WHERE name = "
                            "'event-writer' FOR UPDATE")
        return self

    def set_standby(self, names):
        pg = self.db.db
        pg.execute("postgres", f"ALTER SYSTEM SET synchronous_standby_names = {names}")
        pg.execute("postgres", "SELECT pg_reload_conf()")
        want = names.strip("'")
        wait_for(lambda: pg.execute(self.dbname, "SHOW synchronous_standby_names")
                 .strip() == want, 10, what="the new synchronous_standby_names")

    def __exit__(self, *exc):
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()
        else:
            self.set_standby("''")


@pytest.mark.orders_log("ORD00010", "ORD00013", "ORD00015", "ORD00017")
def test_a_batch_the_database_holds_is_cut_and_answered_503(own_db):
    server = own_db.server(processing_time="0.1",
                           extra_conf=f"OrdersDatabaseTimeout {TIMEOUT}\n")
    try:
        server.start()
        assert server.post("/orders", order("before-1")).status == 202
        wait_for(lambda: server.db_status_counts()["Completed"] == 1, 30,
                 what="the first order to complete")
        with Hold(own_db, server.dbname):
            answers = []
            for i in range(3):
                t0 = time.monotonic()
                r = server.post("/orders", order(f"held-{i}"), timeout=30)
                answers.append((r.status, r.header("Retry-After"),
                                time.monotonic() - t0))
        print(f"\n{own_db.driver}: answers while held {answers}")
        assert all(status == 503 and retry_after for status, retry_after, _ in answers), answers
        assert all(seconds < ANSWERED_WITHIN for _, _, seconds in answers), answers
        assert "ORD00017" in server.read_log()

        # Released: the same bodies again settle each order.
        for i in range(3):
            r = server.post("/orders", order(f"held-{i}"))
            assert r.status in (200, 202), r
        wait_for(lambda: server.db_status_counts() ==
                 {"Pending": 0, "Processing": 0, "Completed": 4, "Cancelled": 0},
                 30, what="every order Completed")
        rows = server.sql("SELECT order_id FROM orders ORDER BY order_id")
        assert [r["order_id"] for r in rows] == ["before-1", "held-0", "held-1", "held-2"]
        server.stop()
        assert "AH00045" not in server.read_log() and "AH00046" not in server.read_log()
        assert_no_crash(server)
    finally:
        server.cleanup()
