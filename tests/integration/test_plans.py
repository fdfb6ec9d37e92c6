"""PostgreSQL plans a prepared statement on its first runs and then keeps a
generic plan, costed against the tables as they were then.  On a new
database that was a sequential scan of `orders` for every event's
INSERT ... SELECT of the writer's batches, which stayed as the table grew
(15-23 ms a batch at 6,000 orders, until autovacuum's ANALYZE replanned
it): POST at a fifth of its speed in the first minute of a database.

auto_explain, loaded for the test's database alone, logs the plan of every
statement the module runs there; 600 orders placed 50 at a time into a new
database, and processed, must show plans for the writer's statements and
not one sequential scan of `orders` or `order_events` among them.
"""
import os
import re

from orders_data import order
from orders_server import Server, concurrent_posts, wait_for

ORDERS, AT_ONCE = 600, 50
# The writer's statements: each reads or changes rows of a growing table
# by its key, in the batch's transaction.
WRITER = ("INSERT INTO orders", "INSERT INTO order_events", "UPDATE orders")
SEQ_SCAN = re.compile(r"Seq Scan on (orders|order_events)\b")


def plans(log_text):
    """[(query text, plan lines)] of auto_explain's entries."""
    out = []
    for entry in log_text.split("LOG:  duration: ")[1:]:
        lines = entry.splitlines()
        query = next((line.split("Query Text: ", 1)[1] for line in lines
                      if "Query Text: " in line), "")
        out.append((query, [line.strip() for line in lines[2:]
                            if not line.startswith("20")]))
    return out


def test_writer_statements_use_their_indexes_on_a_new_database(postgres):
    dbname = postgres.create_database()
    for setting in ("session_preload_libraries = 'auto_explain'",
                    "auto_explain.log_min_duration = 0"):
        postgres.execute("postgres", f"ALTER DATABASE {dbname} SET {setting}")
    log = os.path.join(postgres.dir, "postgres.log")
    start = os.path.getsize(log)
    server = Server(driver="pgsql", pg=postgres, dbname=dbname,
                    processing_time="0.05").start()
    try:
        for first in range(0, ORDERS, AT_ONCE):
            bodies = [order(f"plan-{i}", i) for i in range(first, first + AT_ONCE)]
            assert {s for s, _, _ in concurrent_posts(server.port, bodies)} == {202}
        wait_for(lambda: postgres.query(
            dbname, "SELECT 1 FROM orders WHERE status = 'Completed' "
            f"HAVING COUNT(*) = {ORDERS}"), 60, interval=0.2,
            what=f"{ORDERS} orders Completed")
    finally:
        server.cleanup()
        postgres.execute("postgres", f"ALTER DATABASE {dbname} RESET ALL")
    with open(log, errors="replace") as f:
        f.seek(start)
        entries = plans(f.read())
    writer = [(q, p) for q, p in entries if any(w in q for w in WRITER)]
    kinds = {w for w in WRITER for q, _ in writer if w in q}
    assert kinds == set(WRITER), f"auto_explain logged {len(entries)} plans, of {kinds}"
    scans = [(q[:120], [line for line in p if SEQ_SCAN.search(line)]) for q, p in writer]
    scans = [(q, s) for q, s in scans if s]
    assert scans == [], f"{len(scans)} of {len(writer)} plans scan a table: {scans[:3]}"
