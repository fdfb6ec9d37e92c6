"""The events feed (GET /orders/events) and the conditional and waiting
reads of one order (ETag, If-None-Match, Prefer: wait): API.md sections 2
and 5.

Every transition writes its event in its own transaction, so a reader that
follows `next` sees every transition of every order exactly once and in
order, also while several servers write into one PostgreSQL or MariaDB.
"""
import collections
import http.client
import threading
import time

import pytest

from orders_data import OMIT, order
from orders_server import wait_for
# The bound-user server of the collection's tests (Basic auth: alice, bob),
# shared rather than built a second time.
from test_collection import auth, bound  # noqa: F401 (bound is a fixture)

# The events one order goes through, by how it ends.
COMPLETED = ["order.created", "order.processing", "order.completed"]
CANCELLED = ["order.created", "order.cancelled"]


def read_feed(server, start="/orders/events?limit=7", stop_when_empty=True):
    """Follows `next` from `start` until a page is empty: (events, last next)."""
    events, link = [], start
    while True:
        r = server.get(link)
        assert r.status == 200, r
        page = r.json()
        assert set(page) == {"events", "next"}
        events += page["events"]
        link = page["next"]
        if not page["events"] and stop_when_empty:
            return events, link


def by_order(events):
    seen = collections.defaultdict(list)
    for e in events:
        seen[e["order"]["order_id"]].append(e["type"])
    return seen


def all_completed(server, ids):
    def done():
        rows = server.sql("SELECT status FROM orders")
        return rows and all(r["status"] in ("Completed", "Cancelled") for r in rows)
    wait_for(done, 60, interval=0.2, what="every order to finish")


def test_feed_holds_every_transition_once_and_in_order(fresh):
    server = fresh(processing_time="0.3").start()
    ids = [f"feed-{i}" for i in range(30)]
    cancelled = set()
    for i, oid in enumerate(ids):
        r = server.post("/orders", order(oid, i))
        assert r.status == 202, r
    # Some are cancelled while still Pending (the others' claims race it).
    for oid in ids[::5]:
        if server.request("DELETE", f"/orders/{oid}").status == 200:
            cancelled.add(oid)
    all_completed(server, ids)

    events, last = read_feed(server)
    seen = by_order(events)
    assert set(seen) == set(ids)
    for oid in ids:
        assert seen[oid] == (CANCELLED if oid in cancelled else COMPLETED), oid
    # Unique ids, and each event shows the order right after its change.
    assert len({e["id"] for e in events}) == len(events)
    for e in events:
        want = {"order.created": "Pending", "order.processing": "Processing",
                "order.completed": "Completed", "order.cancelled": "Cancelled"}
        assert e["order"]["status"] == want[e["type"]], e
        assert e["id"].startswith("evt_")
        # No webhook here: no delivery member (PostgreSQL's NULL is "" to
        # apr_dbd, and once made an empty one).
        assert "delivery" not in e, e
    completed = [e for e in events if e["type"] == "order.completed"]
    assert all(e["order"]["completed_at"] for e in completed)

    # Nothing new: the last next gives an empty page and the same next.
    r = server.get(last)
    assert r.status == 200 and r.json()["events"] == [] and r.json()["next"] == last

    # Filters: one order's events; one type.
    r = server.get(f"/orders/events?order_id={ids[1]}")
    assert [e["type"] for e in r.json()["events"]] == seen[ids[1]]
    r = server.get("/orders/events?type=order.completed&limit=1000")
    assert {e["order"]["order_id"] for e in r.json()["events"]} == set(ids) - cancelled


@pytest.mark.parametrize("query, names", [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("wait=31", "wait"),
    ("wait=-1", "wait"), ("after=junk", "after"), ("after=1-", "after"),
    ("type=order.shipped", "type"), ("order_id=a%20b", "order_id"),
    ("colour=red", "colour"), ("limit=1&limit=2", "limit"),
])
def test_bad_feed_parameters_are_400_naming_them(server, query, names):
    r = server.get(f"/orders/events?{query}")
    assert r.status == 400, r
    assert names in r.json()["error"]


def test_events_is_reserved_and_not_an_order(server):
    r = server.post("/orders", order("events"))
    assert r.status == 400 and "reserved" in r.json()["error"]
    r = server.request("DELETE", "/orders/events")
    assert r.status == 405 and r.header("Allow") == "GET, HEAD"


def test_a_long_poll_answers_on_a_change_and_after_n_otherwise(fresh):
    server = fresh(processing_time="30").start()
    _, last = read_feed(server)
    # Nothing happens: an empty page once the wait is over, not before.
    t0 = time.monotonic()
    r = server.get(last.replace("limit=7", "wait=2&limit=7"))
    waited = time.monotonic() - t0
    assert r.status == 200 and r.json()["events"] == []
    assert waited >= 1.9, waited
    # An order placed while a reader waits wakes it with that order's event.
    result = {}

    def reader():
        t = time.monotonic()
        result["r"] = server.get(last.replace("limit=7", "wait=30&limit=7"), timeout=40)
        result["t"] = time.monotonic() - t
    th = threading.Thread(target=reader)
    th.start()
    time.sleep(0.5)
    assert server.post("/orders", order("poll-1")).status == 202
    th.join(40)
    page = result["r"].json()
    assert page["events"] and page["events"][0]["order"]["order_id"] == "poll-1"
    assert result["t"] < 15, result["t"]   # far from the 30 s it could have waited


def test_waiting_reads_are_capped_per_child(fresh):
    # One child, so that every wait lands on it; two places.
    server = fresh(extra_conf="OrdersMaxWaiters 2\nStartServers 1\nServerLimit 1\n"
                              "MaxRequestWorkers 128\n").start()
    _, last = read_feed(server)
    waiting = last.replace("limit=7", "wait=5&limit=7")
    answers = []

    def wait_once():
        t = time.monotonic()
        r = server.get(waiting, timeout=20)
        answers.append((time.monotonic() - t, r))
    threads = [threading.Thread(target=wait_once) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    quick = [r for t, r in answers if t < 2]
    assert len(quick) == 1, [(round(t, 2), r.header("Retry-After")) for t, r in answers]
    assert quick[0].header("Retry-After") == "1" and quick[0].json()["events"] == []
    assert all(r.header("Retry-After") is None for t, r in answers if t >= 2)


def test_etag_304_and_prefer_wait(fresh):
    server = fresh(processing_time="3").start()
    assert server.post("/orders", order("etag-1")).status == 202
    # Once claimed it stays Processing for the 3 s of processing.
    r = wait_for(lambda: (lambda r: r if r.json()["status"] == "Processing" else None)(
        server.get("/orders/etag-1")), 10, what="the claim")
    tag = r.header("ETag")
    assert r.status == 200 and tag and tag.startswith('"')
    r = server.get("/orders/etag-1", headers={"If-None-Match": tag})
    assert r.status == 304 and r.body == b"" and r.header("ETag") == tag
    r = server.get("/orders/etag-1", headers={"If-None-Match": f'"x", W/{tag}'})
    assert r.status == 304
    r = server.get("/orders/etag-1", headers={"If-None-Match": '"x"'})
    assert r.status == 200
    # Waiting for the change: the completion comes within the wait.
    r = server.get("/orders/etag-1", headers={"If-None-Match": tag,
                                              "Prefer": "wait=15"}, timeout=30)
    assert r.status == 200, r
    assert r.json()["status"] == "Completed"
    assert r.header("Preference-Applied") == "wait=15"
    assert r.header("ETag") != tag
    # A Completed order does not change: 304 after the wait, honoured.
    tag = r.header("ETag")
    t0 = time.monotonic()
    r = server.get("/orders/etag-1", headers={"If-None-Match": tag, "Prefer": "wait=1"})
    assert r.status == 304 and r.header("Preference-Applied") == "wait=1"
    assert time.monotonic() - t0 >= 0.9
    # Without If-None-Match, Prefer changes nothing.
    r = server.get("/orders/etag-1", headers={"Prefer": "wait=5"})
    assert r.status == 200 and r.header("Preference-Applied") is None


@pytest.mark.orders_log("ORD00026")
def test_a_cursor_older_than_retention_is_410(fresh):
    server = fresh(processing_time="0.1",
                   extra_conf="OrdersEventRetention 1\n").start()
    assert server.post("/orders", order("old-1")).status == 202
    all_completed(server, ["old-1"])
    r = server.get("/orders/events?limit=1")
    first_next = r.json()["next"]
    # The recovery pass (every second here) removes events older than 1 s.
    wait_for(lambda: server.sql("SELECT COUNT(*) AS n FROM order_events")[0]["n"] == 0,
             30, interval=0.2, what="retention to remove the events")
    r = server.get(first_next)
    assert r.status == 410, r
    assert "OrdersEventRetention" in r.json()["error"]
    # Without a cursor the feed starts again from what is kept.
    assert server.post("/orders", order("new-1")).status == 202
    r = server.get("/orders/events")
    assert [e["order"]["order_id"] for e in r.json()["events"]][:1] == ["new-1"]


def test_two_servers_one_reader_never_skips_or_repeats(shared_db):
    """Eight writers post through two servers on one database (PostgreSQL,
    then MariaDB) while a reader follows `next` with wait: the reader sees
    every event of the table exactly once, each order's in order."""
    a = shared_db.server(processing_time="0.2")
    b = shared_db.server(dbname=a.dbname, processing_time="0.2")
    try:
        a.start()
        b.start()
        stop = threading.Event()
        seen = []

        def reader():
            link = "/orders/events?wait=1&limit=50"
            while True:
                page = a.get(link, timeout=30).json()
                seen.extend(page["events"])
                link = page["next"]
                if stop.is_set() and not page["events"]:
                    return

        def writer(w):
            for i in range(40):
                target = a if (i + w) % 2 else b
                assert target.post("/orders", order(f"two-{w}-{i}", i)).status == 202
        rt = threading.Thread(target=reader)
        rt.start()
        writers = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
        for t in writers:
            t.start()
        for t in writers:
            t.join(120)
        all_completed(a, None)
        # One more page after every order finished, then stop.
        time.sleep(1.5)
        stop.set()
        rt.join(60)
        assert not rt.is_alive()
        ids = [e["id"] for e in seen]
        assert len(ids) == len(set(ids)), "an event was seen twice"
        table = a.sql("SELECT seq FROM order_events")
        assert sorted(int(i[4:]) for i in ids) == sorted(r["seq"] for r in table)
        per_order = by_order(seen)
        assert len(per_order) == 320
        assert all(types == COMPLETED for types in per_order.values())
    finally:
        a.cleanup()
        b.cleanup()


# -- populate ------------------------------------------------------------------

POPULATE = "<Location /orders>\n OrdersPopulate On\n</Location>\n"


def test_populated_orders_have_created_then_processing_then_completed_events(fresh):
    """POST /orders/populate writes each order's created event with its
    INSERT (a multi-row one), and processing adds the other two: every
    populated order has created, processing, completed, once each and in
    that order."""
    server = fresh(processing_time="0.2", extra_conf=POPULATE).start()
    r = server.post("/orders/populate", {"total_entries": 40, "batch_id": "pop"})
    assert r.status == 201, r
    assert r.json()["success_count"] == 40
    ids = {f"pop-{n}" for n in range(1, 41)}
    # Durable before the 201: every created event is in the feed already.
    r = server.get("/orders/events?type=order.created&limit=1000")
    assert r.status == 200, r
    created = [e["order"]["order_id"] for e in r.json()["events"]]
    assert sorted(created) == sorted(ids)
    all_completed(server, ids)

    events, _ = read_feed(server)
    seen = by_order(events)
    assert set(seen) == ids
    assert {oid: types for oid, types in seen.items() if types != COMPLETED} == {}
    assert len({e["id"] for e in events}) == len(events) == 3 * 40


# -- the outbox after a crash ----------------------------------------------------

# The events an order has, in order, by the status its row has: never a
# transition without its event nor an event without its transition.
EVENTS_OF_STATUS = {
    "Pending": ["order.created"],
    "Processing": ["order.created", "order.processing"],
    "Completed": COMPLETED,
    "Cancelled": CANCELLED,
}
STATUS_OF_EVENT = {"order.created": "Pending", "order.processing": "Processing",
                   "order.completed": "Completed", "order.cancelled": "Cancelled"}

# Each order with its events, and the events of no order, in one statement:
# one snapshot of both tables, on every driver, while the server still works.
OUTBOX = (
    "SELECT o.order_id AS order_id, o.status AS status, "
    "o.completed_us AS order_completed_us, e.seq AS seq, e.type AS type, "
    "e.status AS event_status, e.completed_us AS event_completed_us "
    "FROM orders o LEFT JOIN order_events e ON e.order_id = o.order_id "
    "UNION ALL "
    "SELECT e.order_id, NULL, NULL, e.seq, e.type, e.status, e.completed_us "
    "FROM order_events e WHERE NOT EXISTS "
    "(SELECT 1 FROM orders o WHERE o.order_id = e.order_id)")


def outbox_mismatches(server):
    """(orders by status, {order_id: what is wrong}) from one snapshot of
    the database: an order whose events are not those of its status, in
    that order, each showing the status of its change (and a completion
    the completion time of the row), or an event without an order."""
    rows = server.sql(OUTBOX)
    orders = {}
    for row in rows:
        o = orders.setdefault(row["order_id"], {"status": row["status"],
                                                "completed_us": row["order_completed_us"],
                                                "events": []})
        if row["seq"] is not None:
            o["events"].append(row)
    wrong = {}
    counts = collections.Counter()
    for oid, o in orders.items():
        counts[o["status"]] += 1
        events = sorted(o["events"], key=lambda e: e["seq"])
        types = [e["type"] for e in events]
        if o["status"] is None:
            wrong[oid] = f"events {types} of no order"
        elif types != EVENTS_OF_STATUS[o["status"]]:
            wrong[oid] = f"{o['status']} with events {types}"
        elif any(e["event_status"] != STATUS_OF_EVENT[e["type"]] for e in events):
            wrong[oid] = f"event statuses {[(e['type'], e['event_status']) for e in events]}"
        elif o["status"] == "Completed" and events[-1]["event_completed_us"] != o["completed_us"]:
            wrong[oid] = f"completed_us {o['completed_us']} but its event has " \
                         f"{events[-1]['event_completed_us']}"
    return counts, wrong


def test_sigkill_of_every_child_leaves_every_transition_with_its_event(fresh):
    """Clients place (and cancel some) orders while every child is
    SIGKILLed mid-flight; the parent forks new ones and the recovery pass
    takes the orders left over.  Both tables, read in one statement right
    after the kill and again once every order finished, agree: each order
    has exactly the events of its status, in order, and no event lacks its
    order."""
    server = fresh(processing_time="0.5 1", recovery_interval="1").start()
    stop = threading.Event()
    placed, broken, odd, cancels = [], [], [], collections.Counter()

    def client(c):
        i = 0
        while not stop.is_set():
            oid = f"crash-{c}-{i}"
            i += 1
            try:
                r = server.post("/orders", order(oid, i), timeout=20)
            except (OSError, http.client.HTTPException):
                broken.append(oid)     # killed mid-request: in or out
                continue
            if r.status != 202:
                odd.append((oid, r))   # asserted below, not in this thread
                continue
            placed.append(oid)
            if i % 5 == 0:
                try:
                    cancels[server.request("DELETE", f"/orders/{oid}",
                                           timeout=20).status] += 1
                except (OSError, http.client.HTTPException):
                    cancels["broken"] += 1
    clients = [threading.Thread(target=client, args=(c,)) for c in range(4)]
    for t in clients:
        t.start()
    try:
        # Some orders in each state when the children die.
        wait_for(lambda: len(placed) >= 150 and server.db_status_counts()["Completed"],
                 30, interval=0.1, what="150 orders, some Completed, before the kill")
        in_flight = server.db_status_counts()
        killed = server.kill_children()
        assert killed
        # The kill's snapshot: orders Pending and Processing, in the tables
        # as the dead children left them (the new ones work meanwhile).
        counts, wrong = outbox_mismatches(server)
        assert wrong == {}, wrong
        wait_for(lambda: set(server.children()) - set(killed), 20,
                 what="the parent to fork new children")
        at_kill = len(placed)
        wait_for(lambda: len(placed) >= at_kill + 100, 30,
                 what="100 orders after the kill")
    finally:
        stop.set()
        for t in clients:
            t.join(30)
    print(f"\nat the kill: {in_flight}; its snapshot: {dict(counts)}; "
          f"{len(placed)} placed, {len(broken)} broken by the kill, cancels {dict(cancels)}")
    assert odd == []
    assert in_flight["Processing"] > 0 and in_flight["Completed"] > 0, in_flight

    def finished():
        c = server.db_status_counts()
        return c["Pending"] == c["Processing"] == 0
    wait_for(finished, 60, interval=0.2, what="every order to finish")
    counts, wrong = outbox_mismatches(server)
    assert wrong == {}, wrong
    assert set(counts) <= {"Completed", "Cancelled"}, counts
    # Every 202 is in the tables; nothing is there that was not sent.
    stored = {r["order_id"] for r in server.sql("SELECT order_id FROM orders")}
    assert set(placed) - stored == set()
    assert stored - set(placed) - set(broken) == set()
    assert counts["Cancelled"] >= 1 and counts["Completed"] >= 1, counts
    assert server.crashes(allow_killed=True) == []


# -- orders bound to users ---------------------------------------------------------

def test_a_bound_user_reads_only_the_events_of_their_own_orders(bound):
    """With OrdersBindUser On the feed is each user's own: alice and bob
    each see every event of their orders and none of the other's, through
    order_id and type filters and a waiting read too."""
    s = bound
    mine = {"alice": ["alice-1", "alice-2"], "bob": ["bob-1"]}
    for user, ids in mine.items():
        for oid in ids:
            r = s.post("/orders", order(oid, user_id=OMIT), headers=auth(user))
            assert r.status == 202, r
    all_completed(s, None)

    nexts = {}
    for user, ids in mine.items():
        events, link = [], "/orders/events?limit=2"
        while True:
            r = s.get(link, headers=auth(user))
            assert r.status == 200, r
            page = r.json()
            events += page["events"]
            link = page["next"]
            if not page["events"]:
                break
        nexts[user] = link
        assert by_order(events) == {oid: COMPLETED for oid in ids}, user
        assert {e["order"]["user_id"] for e in events} == {user}
        other = "bob-1" if user == "alice" else "alice-1"
        for query in (f"order_id={other}", "type=order.created&limit=1000"):
            got = s.get(f"/orders/events?{query}", headers=auth(user)).json()["events"]
            assert {e["order"]["order_id"] for e in got} <= set(ids), (user, query)
    assert s.get("/orders/events").status == 401       # Apache's own Basic auth

    # bob waits at his end of the feed while alice places an order: nothing
    # of it reaches him; alice's next page has it.
    result = {}

    def bob_waits():
        result["r"] = s.get(nexts["bob"].replace("limit=2", "wait=2&limit=2"),
                            headers=auth("bob"), timeout=20)
    t = threading.Thread(target=bob_waits)
    t.start()
    r = s.post("/orders", order("alice-3", user_id=OMIT), headers=auth("alice"))
    assert r.status == 202, r
    t.join(20)
    assert result["r"].status == 200 and result["r"].json()["events"] == []
    got = s.get(nexts["alice"], headers=auth("alice")).json()["events"]
    assert [e["order"]["order_id"] for e in got][:1] == ["alice-3"]


# -- waiting reads of one order ------------------------------------------------------

def request_seen_by(server, path):
    """Whether a worker of `server` is serving a request for `path` now
    (mod_status' table of workers, ExtendedStatus being on by default)."""
    return f"GET {path} HTTP/1.1" in server.get("/server-status").body.decode(errors="replace")


# One child with a queue of one (see test_collection.STUCK): while the
# first order is Processing for 30 s, a later one stays Pending; a long
# recovery interval (the lease of a new order too) keeps either server's
# recovery pass off it for the test's length.
STUCK = "OrdersQueueSize 1\nStartServers 1\nServerLimit 1\nMaxRequestWorkers 128\n"


def test_a_waiting_read_on_one_server_sees_a_cancel_through_another(shared_db):
    """Two servers on one database: a read waiting on A (If-None-Match of
    the current ETag, Prefer: wait=10) answers 200 with the Cancelled order
    soon after it was cancelled through B, with Preference-Applied; A learns
    of B's commit only by looking at the database (once a second)."""
    a = shared_db.server(processing_time="30", recovery_interval="30", extra_conf=STUCK)
    b = shared_db.server(dbname=a.dbname, processing_time="30", recovery_interval="30",
                         extra_conf=STUCK)
    try:
        a.start()
        b.start()
        assert a.post("/orders", order("hold-a")).status == 202
        wait_for(lambda: a.get("/orders/hold-a").json()["status"] == "Processing", 10,
                 what="A's one place to be taken")
        # The read must be waiting when the cancel lands: the test cannot
        # see the moment it starts to, so a cancel that came first (the
        # read then answers at once, without Preference-Applied) is tried
        # again with another order, a bounded number of times.
        for attempt in range(3):
            watched = f"watched-{attempt}"
            assert a.post("/orders", order(watched)).status == 202
            r = a.get(f"/orders/{watched}")
            assert r.status == 200 and r.json()["status"] == "Pending", r
            tag = r.header("ETag")
            result = {}

            def waiting_read():
                result["r"] = a.get(f"/orders/{watched}", timeout=20,
                                    headers={"If-None-Match": tag, "Prefer": "wait=10"})
                result["at"] = time.monotonic()
            t = threading.Thread(target=waiting_read)
            t0 = time.monotonic()
            t.start()
            wait_for(lambda: request_seen_by(a, f"/orders/{watched}"), 5,
                     what="the waiting read to reach a worker of A")
            # Its one SELECT before it waits takes milliseconds.
            time.sleep(0.3)
            assert "r" not in result, "the read did not wait"
            r = b.request("DELETE", f"/orders/{watched}")
            assert r.status == 200 and r.json()["status"] == "Cancelled", r
            cancelled_at = time.monotonic()
            t.join(15)
            assert not t.is_alive()
            r = result["r"]
            assert r.status == 200, r
            assert r.json()["status"] == "Cancelled"
            assert r.header("ETag") not in (None, tag)
            if r.header("Preference-Applied") == "wait=10":
                break
            print(f"\nattempt {attempt}: the cancel came before the read waited; again")
        assert r.header("Preference-Applied") == "wait=10", "no read ever waited"
        lag = result["at"] - cancelled_at
        print(f"\n{shared_db}: the waiting read on A answered {lag:.3f} s after "
              f"the cancel through B ({result['at'] - t0:.3f} s after it was sent)")
        assert lag < 3, lag
    finally:
        a.cleanup()
        b.cleanup()


@pytest.mark.parametrize("max_waiters, readers", [(2, 3), (0, 2)],
                         ids=["two-places-three-readers", "no-places"])
def test_waiting_reads_of_an_order_are_capped_per_child(fresh, max_waiters, readers):
    """GET {id} with If-None-Match and Prefer: wait holds one of the child's
    OrdersMaxWaiters places: past them the read answers 304 at once, without
    Preference-Applied; those that got a place wait out the N seconds."""
    server = fresh(extra_conf=f"OrdersMaxWaiters {max_waiters}\n"
                              "StartServers 1\nServerLimit 1\nMaxRequestWorkers 128\n").start()
    assert server.post("/orders", order("capped")).status == 202
    all_completed(server, ["capped"])      # a Completed order never changes
    tag = server.get("/orders/capped").header("ETag")
    answers = []

    def wait_once():
        t = time.monotonic()
        r = server.get("/orders/capped", timeout=20,
                       headers={"If-None-Match": tag, "Prefer": "wait=3"})
        answers.append((time.monotonic() - t, r))
    threads = [threading.Thread(target=wait_once) for _ in range(readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    summary = [(round(t, 2), r.status, r.header("Preference-Applied")) for t, r in answers]
    assert len(answers) == readers and all(r.status == 304 for _, r in answers), summary
    waited = [r for t, r in answers if t >= 2.9]
    quick = [r for t, r in answers if t < 1.5]
    assert len(waited) == min(max_waiters, readers), summary
    assert len(quick) == readers - len(waited), summary
    assert all(r.header("Preference-Applied") == "wait=3" for r in waited), summary
    assert all(r.header("Preference-Applied") is None for r in quick), summary
