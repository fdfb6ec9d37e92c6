"""Processing under load and through crashes: every accepted order reaches
Completed exactly once, and /metrics agrees with the database."""
import collections
import os
import shutil
import subprocess
import threading
import time

import pytest

from orders_data import order
from orders_server import (IS_ROOT, Server, assert_no_crash, concurrent_posts,
                           wait_completions_logged,
                           wait_for)


def all_completed(server, n):
    counts = server.db_status_counts()
    return counts["Completed"] == n and sum(counts.values()) == n


def assert_metrics_match_database(server):
    """The shared-memory figures equal an aggregate of the table."""
    db = server.db_status_counts()
    m = server.metrics()
    assert m["status_counts"] == db
    assert m["total_orders"] == sum(db.values())
    assert m["total_processed"] == db["Completed"]
    avg = server.sql("SELECT AVG(completed_us - started_us) / 1e6 AS p, "
                     "AVG(completed_us - created_us) / 1e6 AS c "
                     "FROM orders WHERE status = 'Completed'")[0]
    assert m["average_processing_time"] == pytest.approx(avg["p"], abs=1e-5)
    assert m["average_processing_time_from_creation"] == pytest.approx(avg["c"], abs=1e-5)


def assert_completed_once(server, ids):
    wait_completions_logged([server], ids)
    seen = collections.Counter(server.completions())
    assert {i: seen[i] for i in ids if seen[i] != 1} == {}


def test_thousand_simultaneous_orders_all_complete(fresh):
    server = fresh(processing_time="0.5").start()
    bodies = [order(f"burst-{i}", i) for i in range(1000)]

    t0 = time.monotonic()
    results = concurrent_posts(server.port, bodies)
    accepted_in = time.monotonic() - t0
    statuses = collections.Counter(status for status, _, _ in results)
    assert statuses == {202: 1000}

    wait_for(lambda: all_completed(server, 1000), 60, what="1000 Completed")
    completed_in = time.monotonic() - t0
    latencies = sorted(seconds for _, seconds, _ in results)
    print(f"\n1000 simultaneous POSTs: all 202 in {accepted_in:.2f}s "
          f"(p50 {latencies[500] * 1000:.0f} ms, p99 {latencies[990] * 1000:.0f} ms); "
          f"all Completed {completed_in:.2f}s after the first was sent "
          f"(processing time 0.5s)")

    assert_completed_once(server, [b["order_id"] for b in bodies])
    assert_metrics_match_database(server)
    # Every job ends, those the recovery pass added for slow claims too.
    wait_for(lambda: server.metrics()["queue_depth"] == 0, 20, what="an empty queue")
    assert_no_crash(server)


def test_sigkill_of_every_child_then_full_restart_loses_nothing(fresh):
    server = fresh(processing_time="1 2", recovery_interval="1").start()
    bodies = [order(f"kill-{i}", i) for i in range(300)]
    results = concurrent_posts(server.port, bodies)
    assert collections.Counter(s for s, _, _ in results) == {202: 300}

    # Orders are pending or processing right now: kill every child.
    in_flight = server.db_status_counts()
    assert in_flight["Completed"] < 300
    killed = server.kill_children()
    assert killed
    # The parent forks new children; then the whole server stops and starts.
    wait_for(lambda: set(server.children()) - set(killed), 20,
             what="the parent to fork new children")
    server.stop()
    server.start()

    wait_for(lambda: all_completed(server, 300), 60, what="300 Completed")
    assert_completed_once(server, [b["order_id"] for b in bodies])
    assert_metrics_match_database(server)
    # SIGKILL is expected in this log; nothing else may have crashed.
    assert server.crashes(allow_killed=True) == []


def test_whole_server_sigkill_then_start_loses_nothing(fresh):
    server = fresh(processing_time="1", recovery_interval="1").start()
    bodies = [order(f"crash-{i}", i) for i in range(200)]
    results = concurrent_posts(server.port, bodies)
    assert collections.Counter(s for s, _, _ in results) == {202: 200}
    assert server.db_status_counts()["Completed"] < 200

    server.kill()
    server.start()

    wait_for(lambda: all_completed(server, 200), 60, what="200 Completed")
    assert_completed_once(server, [b["order_id"] for b in bodies])
    assert_metrics_match_database(server)


def test_full_queue_leaves_orders_to_the_recovery_pass(fresh):
    server = fresh(processing_time="0.5", recovery_interval="1",
                   extra_conf="").start()
    # OrdersQueueSize is global: set it through a re-rendered config.
    server.stop()
    with open(server.conf, "a") as f:
        f.write("OrdersQueueSize 5\n")
    server.start()

    bodies = [order(f"full-{i}", i) for i in range(60)]
    results = concurrent_posts(server.port, bodies)
    assert collections.Counter(s for s, _, _ in results) == {202: 60}
    m = server.metrics()
    assert m["queue_depth"] <= 5 * 2    # two children, five each at most

    wait_for(lambda: all_completed(server, 60), 60, what="60 Completed")
    assert_completed_once(server, [b["order_id"] for b in bodies])
    assert_metrics_match_database(server)
    assert "ORD00022" in server.read_log()   # the recovery pass took some


def test_graceful_restart_under_load_loses_nothing(fresh):
    server = fresh(processing_time="0.5 1", recovery_interval="1").start()
    stop = threading.Event()
    results = []

    def place(prefix):
        i = 0
        while not stop.is_set():
            body = order(f"{prefix}-{i}", i)
            results.append((server.post("/orders", body).status, body["order_id"]))
            i += 1

    clients = [threading.Thread(target=place, args=(f"graceful{n}",)) for n in range(4)]
    for c in clients:
        c.start()
    try:
        wait_for(lambda: len(results) >= 200, 30, what="200 orders before the restart")
        old = set(server.children())
        server.graceful()
        wait_for(lambda: server.children() and not (set(server.children()) & old), 30,
                 what="a new generation of children")
        placed = len(results)
        wait_for(lambda: len(results) >= placed + 200, 30,
                 what="200 orders after the restart")
    finally:
        stop.set()
        for c in clients:
            c.join(30)

    assert collections.Counter(s for s, _ in results) == {202: len(results)}
    wait_for(lambda: all_completed(server, len(results)), 60,
             what=f"{len(results)} Completed")
    assert_completed_once(server, [oid for _, oid in results])
    assert_metrics_match_database(server)
    assert_no_crash(server)


@pytest.mark.parametrize("existing_page_size, expected", [
    (None, 1024),    # the module makes the file: 1 KiB pages
    (4096, 4096),    # a file made elsewhere keeps its pages and serves
])
def test_sqlite_page_size_of_the_file_the_module_makes(existing_page_size, expected):
    server = Server(driver="sqlite3")
    try:
        if existing_page_size:
            os.makedirs(os.path.dirname(server.db_path), exist_ok=True)
            top = os.path.join(os.path.dirname(__file__), "..", "..")
            with open(os.path.join(top, "sql", "sqlite.sql")) as f:
                schema = f.read()
            subprocess.run(["sqlite3", server.db_path,
                            f"PRAGMA page_size = {existing_page_size};"
                            "PRAGMA journal_mode = WAL;" + schema],
                           check=True, capture_output=True)
            if IS_ROOT:
                shutil.chown(server.db_path, "www-data", "www-data")
        server.start()
        oid = f"page-{existing_page_size}"
        assert server.post("/orders", order(oid)).status == 202
        wait_for(lambda: server.get(f"/orders/{oid}").json()["status"] == "Completed", 10)
        assert server.sql("PRAGMA page_size") == [{"page_size": expected}]
        assert server.sql("PRAGMA journal_mode") == [{"journal_mode": "wal"}]
    finally:
        server.cleanup()
