"""The events feed (GET /orders/events) and the conditional and waiting
reads of one order (ETag, If-None-Match, Prefer: wait): API.md sections 2
and 5.

Every transition writes its event in its own transaction, so a reader that
follows `next` sees every transition of every order exactly once and in
order, also while several servers write into one PostgreSQL or MariaDB.
"""
import collections
import threading
import time

import pytest

from orders_data import order
from orders_server import wait_for

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
