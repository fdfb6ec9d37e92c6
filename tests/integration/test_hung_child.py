"""A hung child: the one running the recovery pass is SIGSTOPped for longer
than its leases.  Another child takes over the recovery lease and the hung
child's orders, and completes them once; after SIGCONT the resumed child's
late completions fail under its stale claims, and nothing is done twice."""
import collections
import os
import re
import signal
import subprocess
import time
import uuid

from orders_server import (IS_ROOT, assert_no_crash, concurrent_posts, wait_completions_logged,
                           wait_for)
from orders_data import order
from test_processing import assert_metrics_match_database

PROCESSING = 3          # seconds an order sits in Processing
INTERVAL = 1            # OrdersRecoveryInterval
STOP_ATTEMPTS = 10      # stops retried when the child was stopped holding locks
BATCHES = 6             # POST batches to get orders claimed by the holder
WANTED = 3              # orders of the holder in Processing before the stop
COMPLETION = re.compile(r"ORD00012: order (\S+) completed under claim (\S+)")


# -- helpers --------------------------------------------------------------

def now_us():
    return int(time.time() * 1_000_000)


def pid_of(token):
    """The child pid that a token prefix "<pid>-<hex>[-<n>]" names."""
    return int(token.split("-", 1)[0]) if token else None


def lease(server):
    rows = server.sql("SELECT holder, until_us FROM order_leases "
                      "WHERE name = 'recovery'")
    assert len(rows) == 1, rows
    return rows[0]


def lease_holder(server):
    """The recovery lease's holder prefix, once it is one of the children."""
    holder = lease(server)["holder"]
    return holder if holder and pid_of(holder) in server.children() else None


def process_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def claimed_by(server, prefix, status="Processing"):
    """order_id -> lease_until_us of the orders in `status` under a claim of
    the child whose token prefix is `prefix`."""
    rows = server.sql("SELECT order_id, lease_until_us FROM orders "
                      f"WHERE status = '{status}' "
                      f"AND claim_token LIKE '{prefix}-%'")
    return {r["order_id"]: r["lease_until_us"] for r in rows}


def holds_file_lock(pid):
    """Lines of /proc/locks where `pid` holds a write lock: the orders-write
    mutex (fcntl on an unlinked file) or SQLite's WAL write lock.  The read
    locks every SQLite connection keeps are not a problem for the others."""
    with open("/proc/locks") as f:
        return [line.strip() for line in f
                if "->" not in line and len(line.split()) > 4
                and line.split()[4] == str(pid) and " WRITE " in line]


def sqlite_write_lock_free(server):
    """True when another writer can take SQLite's write lock within 0.5 s
    (a batch of the running child takes a few ms)."""
    cmd = ["sqlite3", "-cmd", ".timeout 500", server.db_path,
           "BEGIN IMMEDIATE; ROLLBACK;"]
    if IS_ROOT:
        cmd = ["runuser", "-u", "www-data", "--"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode == 0 and "locked" not in p.stderr + p.stdout


def pg_transactions_left_open(server):
    """Sessions of the test database inside a transaction for more than
    300 ms: a batch of the stopped child (or one waiting for its locks)."""
    return server.sql(
        "SELECT pid, state, xact_start::text AS since FROM pg_stat_activity "
        f"WHERE datname = '{server.dbname}' AND pid <> pg_backend_pid() "
        "AND state <> 'idle' AND xact_start IS NOT NULL "
        "AND xact_start < clock_timestamp() - interval '300 milliseconds'")


def stopped_holding_locks(server, pid):
    """Why the stopped `pid` blocks the other children (empty if it does
    not): it was stopped inside a database transaction or holding the
    orders-write mutex."""
    time.sleep(0.4)    # lets the running child's own transactions end
    why = holds_file_lock(pid)
    if server.driver == "sqlite3":
        if not sqlite_write_lock_free(server):
            why.append("SQLite write lock held")
    elif server.driver == "mysql":
        why += [str(r) for r in server.my.transactions_left_open(server.dbname)]
    else:
        why += [str(r) for r in pg_transactions_left_open(server)]
    return why


def completion_tokens(server):
    """order_id -> [claim tokens of every completion logged for it]."""
    tokens = collections.defaultdict(list)
    for m in COMPLETION.finditer(server.read_log()):
        tokens[m.group(1)].append(m.group(2))
    return tokens


# -- the test ---------------------------------------------------------------

def test_sigstopped_recovery_holder_is_taken_over_and_nothing_done_twice(fresh):
    server = fresh(processing_time=str(PROCESSING),
                   recovery_interval=str(INTERVAL)).start()
    t0 = time.monotonic()
    assert len(server.children()) == 2, server.children()
    prefix = "hung" + uuid.uuid4().hex[:6]
    posted = []

    def post_batch():
        bodies = [order(f"{prefix}-{len(posted) + i}", len(posted) + i) for i in range(40)]
        results = concurrent_posts(server.port, bodies)
        assert collections.Counter(s for s, _, _ in results) == {202: 40}, results
        posted.extend(b["order_id"] for b in bodies)

    stopped = None          # (pid, token prefix) while SIGSTOPped
    try:
        # Stop the child holding the recovery lease while some orders of its
        # own are in their processing time; again if it was stopped inside
        # a transaction (it would block everyone, not only itself).
        for attempt in range(STOP_ATTEMPTS):
            holder = wait_for(lambda: lease_holder(server), 15,
                              what="a child to hold the recovery lease")
            hpid = pid_of(holder)
            for _ in range(BATCHES):
                if len(claimed_by(server, holder)) >= WANTED:
                    break
                post_batch()
                wait_for(lambda: server.sql(
                    "SELECT COUNT(*) AS n FROM orders "
                    "WHERE status = 'Pending'")[0]["n"] == 0
                    or len(claimed_by(server, holder)) >= WANTED, 2,
                    what="the batch claimed")
            assert len(claimed_by(server, holder)) >= WANTED, (
                f"{BATCHES} batches of 40 and fewer than {WANTED} orders "
                f"claimed by the lease holder {holder}")
            os.kill(hpid, signal.SIGSTOP)
            stopped = (hpid, holder)
            wait_for(lambda: process_state(hpid) == "T", 5,
                     what=f"child {hpid} stopped")
            why = stopped_holding_locks(server, hpid)
            taken = claimed_by(server, holder)
            if not why and len(taken) >= 1 and lease_holder(server) == holder:
                break
            print(f"\nattempt {attempt}: stopped holding {why}, "
                  f"{len(taken)} orders of its own; again")
            os.kill(hpid, signal.SIGCONT)
            stopped = None
            time.sleep(0.3)
        else:
            raise AssertionError(f"{STOP_ATTEMPTS} stops of the lease holder "
                                 "all caught it holding locks")
        stopped_at = time.monotonic()
        hung_pid, hung_prefix = stopped
        hung_lease_until = lease(server)["until_us"]
        total = server.sql("SELECT COUNT(*) AS n FROM orders")[0]["n"]
        assert total == len(posted)

        # The recovery lease passes to the other child once it runs out.
        new_holder = wait_for(
            lambda: (lambda h: h if h and pid_of(h) != hung_pid else None)(
                lease_holder(server)),
            3 * INTERVAL + 10, what="the recovery lease to pass to another child")
        assert pid_of(new_holder) in server.children()
        assert f"ORD00025: this child ({new_holder}) now runs the recovery pass" \
            in server.read_log()
        lease_moved_in = time.monotonic() - stopped_at

        # The hung child's orders are claimed again by another child and
        # Completed.
        def taken_over():
            rows = server.sql(
                "SELECT order_id, status, claim_token FROM orders WHERE order_id IN ("
                + ", ".join(f"'{i}'" for i in taken) + ")")
            return (len(rows) == len(taken)
                    and all(r["status"] == "Completed"
                            and not r["claim_token"].startswith(hung_prefix + "-")
                            and pid_of(r["claim_token"]) != hung_pid
                            for r in rows)) and rows
        rows = wait_for(taken_over, PROCESSING + 3 * INTERVAL + 15, interval=0.2,
                        what=f"the {len(taken)} orders of the stopped child "
                             "claimed again by another and Completed")
        taken_over_in = time.monotonic() - stopped_at
        # ... while it was still stopped, and after their leases ran out.
        assert process_state(hung_pid) == "T"
        assert now_us() > max(taken.values()), "leases not run out yet"
        assert now_us() > hung_lease_until
        tokens = completion_tokens(server)
        for r in rows:
            assert tokens[r["order_id"]] == [r["claim_token"]], (r, tokens[r["order_id"]])
        # Everything else completes meanwhile too.
        wait_for(lambda: server.db_status_counts()["Completed"] == total,
                 PROCESSING + 3 * INTERVAL + 15, interval=0.2,
                 what=f"all {total} orders Completed while the child is stopped")
    finally:
        if stopped:
            log_at_resume = len(server.read_log())
            os.kill(stopped[0], signal.SIGCONT)

    # Resumed: its timers fire.  Its next recovery pass finds the lease
    # taken, and its parked jobs try to complete under their stale claims.
    wait_for(lambda: process_state(hung_pid) != "T", 5, what="the child resumed")
    wait_for(lambda: f"ORD00025: this child ({hung_prefix}) no longer runs the "
                     "recovery pass" in server.read_log()[log_at_resume:],
             3 * INTERVAL + 5,
             what="the resumed child's recovery pass to see the lease gone")
    wait_for(lambda: server.metrics()["queue_depth"] == 0, 10,
             what="the resumed child's jobs to end")
    # Two more renewals by the new holder: passes ran after the resumed
    # child's late writes, and the lease stayed where it is.
    renewals = [lease(server)["until_us"]]

    def renewed_twice():
        current = lease(server)
        assert current["holder"] == new_holder, current
        if current["until_us"] != renewals[-1]:
            renewals.append(current["until_us"])
        return len(renewals) >= 3
    wait_for(renewed_twice, 2 * INTERVAL + 5, interval=0.1,
             what="two renewals of the recovery lease after the resume")
    assert lease_holder(server) == new_holder

    # Every order Completed exactly once, by one claim; nothing stuck; the
    # shared counters are the database's.
    counts = server.db_status_counts()
    assert counts == {"Pending": 0, "Processing": 0, "Completed": total,
                      "Cancelled": 0}, counts
    wait_completions_logged([server], posted)
    seen = collections.Counter(server.completions())
    assert {i: seen[i] for i in posted if seen[i] != 1} == {}
    assert set(seen) == set(posted)
    tokens = completion_tokens(server)
    done = {r["order_id"]: r["claim_token"] for r in server.sql(
        "SELECT order_id, claim_token FROM orders")}
    assert {i: t for i, t in tokens.items() if t != [done[i]]} == {}
    assert all(not t.startswith(hung_prefix + "-") for i, t in done.items()
               if i in taken)
    m = server.metrics()
    assert m["total_processed"] == total
    assert m["queue_depth"] == 0
    assert_metrics_match_database(server)
    # The resumed child is still serving and no child crashed.
    assert hung_pid in server.children()
    assert_no_crash(server)
    # Everything was Completed before SIGCONT: nothing completes after it.
    late = [line for line in server.read_log()[log_at_resume:].splitlines()
            if "ORD00012:" in line]
    assert late == []
    print(f"\n{server.driver}: {total} orders, {len(taken)} held by the stopped "
          f"lease holder {hung_prefix}; lease to {new_holder} after "
          f"{lease_moved_in:.1f}s, its orders Completed by another after "
          f"{taken_over_in:.1f}s; whole test {time.monotonic() - t0:.1f}s")
