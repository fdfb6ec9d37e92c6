"""PostgreSQL that fails over, under a real HA manager: a private Patroni
cluster (etcd and two PostgreSQL 15 nodes in synchronous mode,
patroni_cluster.py), two Apache back-ends on it with a libpq multi-host
DBDParams (`host=127.0.0.1,127.0.0.1 port=p,q target_session_attrs=read-write
connect_timeout=2`), each delivering its events to a webhook receiver, and 8
clients placing and reading orders all along.  Once with Patroni's
synchronous_mode, once with synchronous_mode_strict.

First the primary is SIGKILLed (its Patroni and its postmaster) and Patroni
promotes the synchronous standby.  Without strict mode the new primary
writes alone until the killed node is back; with it, no COMMIT is
acknowledged until then (each one is cut after OrdersDatabaseTimeout and
answered 503), and not one 202 comes in between.  Then the killed node is
back as the standby, and a planned switchover (`patronictl switchover`)
moves the primary back to it.  After each: every order acknowledged at any
time (202 or 200) is on the primary (and on the standby, once there is
one), each is Completed exactly once, every event delivered, no answer was
a 500, a false 404 or a hang, every 503 carried Retry-After, the first 202
after the database could write again came within FIRST_202_WITHIN, the
cluster's /metrics equal the table, and no child crashed.  Nothing restarts
Apache.
"""
import collections
import time

import pytest

from orders_server import Server, assert_no_crash, wait_completions_logged, wait_for
from orders_traffic import Traffic
from patroni_cluster import PatroniCluster
from test_webhooks import PATIENT, Receiver, webhook_conf

CLIENTS = 8
# A request's bound: a client gives up after this (status 0, a failure).
# Connections to a dead node are refused at once on loopback, to the standby
# refused by target_session_attrs, so nothing in the module waits longer
# than its own statement: a hang is a bug.
REQUEST_TIMEOUT = 10
# From the moment the new primary is seen promoted (Patroni's GET /patroni,
# polled every 0.1 s) to the first 202 of the back-ends.  mod_dbd's pooled
# connections notice at their next use (a broken session fails its statement
# once, then is reset by mod_dbd's check onto the new primary) and the
# writer's batch runs again on a new session at once: measured 0.1-0.9 s
# (see the README); the bound leaves room for a loaded CI machine.
FIRST_202_WITHIN = 5.0
# How many orders are acknowledged before the fault, and after it, before the
# clients stop.
BEFORE, AFTER = 100, 100


# A statement waits at most this long (a COMMIT with no standby to
# acknowledge it, in strict mode), so that a POST answers within a few
# seconds.
DATABASE_TIMEOUT = 2


@pytest.fixture(scope="module", params=[False, True],
                ids=["synchronous_mode", "synchronous_mode_strict"])
def patroni(request):
    cluster = PatroniCluster(strict=request.param).start()
    yield cluster
    cluster.cleanup()


def back_ends(patroni, dbname, receiver):
    """Two back-ends on one database of the cluster, each delivering the
    events to `receiver` (their delivery threads' connections fail over
    too)."""
    return [Server(driver="pgsql", pg=patroni, dbname=dbname,
                   processing_time="0.2", recovery_interval="1",
                   extra_conf=webhook_conf(receiver.url(), attempts=PATIENT)
                   + f"OrdersDatabaseTimeout {DATABASE_TIMEOUT}\n")
            for _ in range(2)]


def check_on_standby(patroni, dbname, acked):
    """Every acknowledged order is on the synchronous standby too (once it
    has replayed what it flushed)."""
    standby = patroni.replica()["name"]
    want = set(acked)

    def missing():
        rows = patroni.query_node(standby, dbname, "SELECT order_id FROM orders")
        return want - {r["order_id"] for r in rows}
    wait_for(lambda: not missing(), 30, interval=0.2,
             what=f"every acknowledged order on the standby {standby}")


def check_answers(traffic, fault_at, back_at):
    """The answers the clients saw: never a 500, a false 404 or a hang;
    every 503 with Retry-After, and only from the fault until shortly after
    the database was back (a batch whose COMMIT outcome was lost answers 503
    later too: its retry then got 200 or 202)."""
    records = traffic.records
    by = collections.Counter((r.kind, r.status) for r in records)
    odd = [r for r in records if r.status not in ((200, 202, 503) if r.kind == "post"
                                                  else (200, 503))]
    assert odd == [], odd[:5]
    no_retry_after = [r for r in records if r.status == 503 and not r.retry_after]
    assert no_retry_after == [], no_retry_after[:5]
    late = [r for r in records if r.status == 503
            and not fault_at - 0.5 <= r.t0 <= back_at + FIRST_202_WITHIN]
    assert all(r.kind == "post" and r.order_id in set(traffic.acked) for r in late), late[:5]
    assert traffic.unsettled == []
    slowest = max(r.t1 - r.t0 for r in records)
    return by, slowest, len(late)


def check_settled(patroni, servers, dbname, acked):
    """Every acknowledged order is on the primary and Completed exactly
    once; both back-ends' cluster /metrics equal the table."""
    def stored():
        return {r["order_id"]: r["status"]
                for r in patroni.query(dbname, "SELECT order_id, status FROM orders")}
    missing = set(acked) - set(stored())
    assert missing == set(), f"{len(missing)} acknowledged orders lost: {sorted(missing)[:5]}"
    wait_for(lambda: set(stored().values()) == {"Completed"}, 60,
             what="every order to complete")
    ids = set(stored())
    # Once in the table: one order.completed event each (the outbox is
    # written in the transaction that completes the order) ...
    events = collections.Counter(
        r["order_id"] for r in patroni.query(
            dbname, "SELECT order_id FROM order_events WHERE type = 'order.completed'"))
    assert {i: events[i] for i in ids if events[i] != 1} == {}
    # ... and once in the logs: no order's completion logged twice across
    # both back-ends.  (An order whose completing COMMIT answered nothing has
    # no line: the recovery pass found it Completed.)
    unlogged = wait_completions_logged(servers, ids, timeout=10)
    logged = collections.Counter(i for s in servers for i in s.completions())
    assert {i: n for i, n in logged.items() if n > 1} == {}
    # One without a line completed in a COMMIT whose answer was lost
    # (ORD00015), its job then leaving it to the recovery pass (ORD00010),
    # which found it Completed: its row and event show the one completion.
    log = "".join(s.read_log() for s in servers)
    assert all(f"ORD00010: order {i}:" in log for i in unlogged), sorted(unlogged)[:5]
    assert not unlogged or "ORD00015" in log, sorted(unlogged)[:5]

    def metrics_match(server):
        r = server.get("/metrics?scope=cluster")
        if r.status != 200:
            return False
        m = r.json()
        counts = collections.Counter(stored().values())
        return (m["total_orders"] == len(ids)
                and all(m["status_counts"].get(k, 0) == n for k, n in counts.items())
                and sum(m["status_counts"].values()) == len(ids))
    for server in servers:
        wait_for(lambda: metrics_match(server), 15,
                 what=f"/metrics?scope=cluster of {server} to equal the table")
    return len(ids), len(unlogged)


def check_delivered(patroni, dbname, receiver):
    """Every event of the table delivered (at least once: an attempt whose
    outcome died with the primary is made again) and none pending."""
    def undelivered():
        return patroni.query(dbname, "SELECT COUNT(*) AS n FROM order_events "
                                     "WHERE delivery <> 'delivered'")[0]["n"]
    wait_for(lambda: undelivered() == 0, 120, interval=0.2,
             what="every event delivered")
    events = {f"evt_{r['seq']}" for r in patroni.query(
        dbname, "SELECT seq FROM order_events")}
    with receiver.lock:
        got = collections.Counter(c[1]["webhook-id"] for c in receiver.calls
                                  if 200 <= c[3] < 300)
    assert events - set(got) == set()
    return len(events), sum(1 for n in got.values() if n > 1)


def gap(times, after):
    """Seconds from `after` to the first of `times` at or after it."""
    later = [t for t in times if t >= after]
    return (min(later) - after) if later else None


def settle(what, traffic, fault, fault_at, back, back_at, patroni, servers,
           dbname, receiver):
    """Every check after one fault (`fault_at`: the kill or the switchover's
    request; `back_at`: the promotion or the switch), and a line of figures
    for the README; the first 202 after `back_at` within FIRST_202_WITHIN."""
    by, slowest, late = check_answers(traffic, fault_at, back_at)
    first_503 = gap(traffic.answered("post", 503, 0) + traffic.answered("get", 503, 0),
                    fault_at)
    first_202 = gap(traffic.answered("post", 202, 0), back_at)
    n, unlogged = check_settled(patroni, servers, dbname, traffic.acked)
    events, again = check_delivered(patroni, dbname, receiver)
    print(f"\n{what}: {fault} to first 503 "
          f"{'none' if first_503 is None else f'{first_503:.3f} s'}, {fault} to "
          f"{back} {back_at - fault_at:.2f} s, {back} to first 202 {first_202:.3f} s; "
          f"slowest answer {slowest:.2f} s; {dict(by)}; {late} late 503s; {n} "
          f"orders, all Completed once ({unlogged} by the recovery pass); "
          f"{events} events delivered, {again} more than once")
    assert first_202 <= FIRST_202_WITHIN, first_202


# What the fault makes the module log: the writer's batch (ORD00013) and a
# request (ORD00054) meeting the dead primary, once per incident; a COMMIT
# whose answer died with the primary (ORD00015); an order in its processing
# step while there is no primary, left to the recovery pass (ORD00010); the
# recovery pass (ORD00021) or the reload of the counters after a lost
# COMMIT (ORD00023) meeting the database first in a child.  In strict mode:
# the statements cut after OrdersDatabaseTimeout (ORD00017), and that
# reload meeting transitions still waiting for their COMMIT (ORD00024).
@pytest.mark.orders_log("ORD00010", "ORD00013", "ORD00015", "ORD00017",
                        "ORD00021", "ORD00023", "ORD00024", "ORD00054")
def test_failover_then_switchover_lose_no_acknowledged_order(patroni):
    dbname = patroni.create_database()
    receiver = Receiver()
    servers = back_ends(patroni, dbname, receiver)
    try:
        for s in servers:
            s.start()
        pids = {s.port: s.proc.pid for s in servers}

        # 1. The primary dies: SIGKILL of its Patroni and its postmaster.
        with Traffic(servers, CLIENTS, prefix="failover",
                     timeout=REQUEST_TIMEOUT) as traffic:
            traffic.wait_acked(BEFORE, 60)
            killed = patroni.kill_leader()
            promoted_at = patroni.wait_new_leader(60)
            writes_at = promoted_at
            if patroni.strict:
                # No standby, no acknowledged COMMIT: each is cut and
                # answered 503 until the killed node streams again.
                wait_for(lambda: traffic.answered("post", 503,
                                                  promoted_at + DATABASE_TIMEOUT),
                         30, what="a 503 of a COMMIT left waiting")
                alone_until = time.monotonic()
                writes_at = patroni.restart_killed()
                # Neither a 202 nor a 200 (a retry finding its order): both
                # acknowledge.
                alone = [t for status in (200, 202)
                         for t in traffic.answered("post", status, promoted_at)
                         if t < alone_until]
                assert alone == [], f"{len(alone)} orders acknowledged with no standby"
            wait_for(lambda: traffic.answered("post", 202, writes_at), 30,
                     what="a 202 after the promotion")
            traffic.wait_acked(AFTER, 60)
        settle("failover", traffic, "kill", killed["killed_at"],
               "standby back" if patroni.strict else "promotion", writes_at,
               patroni, servers, dbname, receiver)
        if patroni.strict:
            check_on_standby(patroni, dbname, traffic.acked)

        # 2. The killed node back, as the synchronous standby; then a planned
        # switchover moves the primary back to it.
        if not patroni.strict:
            patroni.restart_killed()
        old = patroni.leader()["name"]
        with Traffic(servers, CLIENTS, prefix="switchover",
                     timeout=REQUEST_TIMEOUT) as traffic:
            traffic.wait_acked(BEFORE, 60)
            switch = patroni.switchover(via="patronictl", healthy=False)
            writes_at = switch["switched_at"]
            if patroni.strict:
                # The new primary acknowledges no COMMIT until the old one
                # streams to it as its synchronous standby: Patroni's time
                # (a demotion and a restart), not the module's.  A CI run
                # saw its first 202 5.6 s after the switch.
                writes_at = patroni.wait_sync_streaming(patroni.leader()["name"], dbname)
            wait_for(lambda: traffic.answered("post", 202, writes_at), 30,
                     what="a 202 after the switchover")
            traffic.wait_acked(AFTER, 60)
        patroni.wait_healthy()
        assert patroni.leader()["name"] != old
        settle("switchover", traffic, "request", switch["requested_at"],
               "standby back" if patroni.strict else "switch", writes_at,
               patroni, servers, dbname, receiver)
        check_on_standby(patroni, dbname, traffic.acked)

        # The same two Apache servers all along: never restarted.
        assert {s.port: s.proc.pid for s in servers} == pids
        assert all(s.proc.poll() is None for s in servers)
        for s in servers:
            s.stop()
            # Every child stopped when asked: none was stuck.
            assert "AH00045" not in s.read_log() and "AH00046" not in s.read_log()
        assert_no_crash(*servers)
    finally:
        for s in servers:
            s.cleanup()
        receiver.stop()
