"""Webhooks (API.md section 6) against a real receiver in the test: every
event POSTed as the Standard Webhooks specification says, verified here
independently of the module (Python's hmac), retried, given up, in order,
and never in the way of intake or processing."""
import base64
import collections
import hashlib
import hmac
import http.server
import json
import threading
import time

import pytest

from orders_data import order
from orders_server import free_port, wait_for

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_" + base64.b64encode(b"an older key of 24 bytes!").decode()
COMPLETED = ["order.created", "order.processing", "order.completed"]


def signatures_valid(headers, body, secrets):
    """Whether webhook-signature holds a v1 signature by each secret."""
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    given = set(headers["webhook-signature"].split(" "))
    for secret in secrets:
        key = base64.b64decode(secret[len("whsec_"):])
        mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256)
        if "v1," + base64.b64encode(mac.digest()).decode() not in given:
            return False
    return True


class Receiver:
    """A real HTTP server on loopback; `answer(webhook_id, attempt)` says
    what to do: (status, seconds to stall first, extra headers)."""

    def __init__(self, answer=lambda i, n: (200, 0, {}), port=None):
        self.answer = answer
        self.calls = []         # (time, headers dict, body bytes, status)
        self.lock = threading.Lock()
        self.port = port or free_port()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    n = 1 + sum(1 for c in receiver.calls
                                if c[1]["webhook-id"] == headers["webhook-id"])
                status, stall, extra = receiver.answer(headers["webhook-id"], n)
                with receiver.lock:
                    receiver.calls.append((time.monotonic(), headers, body, status))
                if stall:
                    time.sleep(stall)
                try:
                    self.send_response(status)
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            # listen()'s backlog: socketserver's 5 drops the SYNs of a
            # child's 32 transfers at once, which then wait for the
            # kernel's 1 s retransmit and miss OrdersWebhookTimeout.
            request_queue_size = 256

        self.httpd = Server(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def delivered(self):
        """webhook-id -> the event JSON of its 2xx answer."""
        with self.lock:
            return {c[1]["webhook-id"]: json.loads(c[2]) for c in self.calls
                    if 200 <= c[3] < 300}


def webhook_conf(url, extra="", attempts=4):
    return (f"OrdersWebhookURL {url}\nOrdersWebhookSecret {SECRET} {OLD_SECRET}\n"
            f"OrdersWebhookTimeout 1\nOrdersWebhookRetry 0.2 1\n"
            f"OrdersWebhookAttempts {attempts}\n" + extra)


# The SIGKILL tests count deliveries, not give-ups: a receiver that this
# loaded machine makes miss the 1 s timeout a few times must not end an
# event's tries.
PATIENT = 50
# How late the receiver, on a loaded machine, may stamp a request.
STAMP_LAG = 2


@pytest.fixture
def receiver():
    made = []

    def make(answer=lambda i, n: (200, 0, {})):
        r = Receiver(answer)
        made.append(r)
        return r
    yield make
    for r in made:
        r.stop()


def place(server, prefix, count):
    for i in range(count):
        assert server.post("/orders", order(f"{prefix}-{i}", i)).status == 202


def test_every_event_is_delivered_signed_once_and_in_order(fresh, receiver):
    r = receiver()
    server = fresh(processing_time="0.2", extra_conf=webhook_conf(r.url())).start()
    place(server, "hook", 10)
    wait_for(lambda: len(r.delivered()) == 30, 30, interval=0.1,
             what="30 events delivered")
    calls = r.calls[:]
    for _, headers, body, _ in calls:
        assert signatures_valid(headers, body, [SECRET, OLD_SECRET]), headers
        assert headers["content-type"] == "application/json"
        assert headers["user-agent"].startswith("mod_orders/")
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
        assert json.loads(body)["id"] == headers["webhook-id"]
    # Each event once (no failures here), each order's in order.
    assert len(calls) == 30
    per_order = collections.defaultdict(list)
    for _, headers, body, _ in sorted(calls, key=lambda c: c[0]):
        event = json.loads(body)
        per_order[event["order"]["order_id"]].append(event["type"])
    assert all(types == COMPLETED for types in per_order.values()), per_order
    # The database says delivered, with one attempt each.
    rows = server.sql("SELECT delivery, attempts, last_status FROM order_events")
    assert {(x["delivery"], x["attempts"], x["last_status"]) for x in rows} \
        == {("delivered", 1, 200)}
    # The feed shows each event's delivery; the receiver got the event
    # without it.
    feed = server.get("/orders/events?limit=1000").json()["events"]
    assert {json.dumps(e["delivery"], sort_keys=True) for e in feed} == {json.dumps(
        {"state": "delivered", "attempts": 1, "last_status": 200,
         "next_attempt_at": None}, sort_keys=True)}
    assert all("delivery" not in json.loads(c[2]) for c in calls)


def test_failures_are_retried_with_the_same_id_and_growing_gaps(fresh, receiver):
    # Each event: 500, then 503 with Retry-After, then 200.
    def answer(msg_id, n):
        return {1: (500, 0, {}), 2: (503, 0, {"Retry-After": "0"})}.get(n, (200, 0, {}))
    r = receiver(answer)
    server = fresh(processing_time="30", extra_conf=webhook_conf(r.url())).start()
    place(server, "retry", 1)
    created = wait_for(lambda: [c for c in r.calls if c[3] == 200], 30,
                       interval=0.1, what="the created event delivered")
    msg_id = created[0][1]["webhook-id"]
    attempts = [c for c in r.calls if c[1]["webhook-id"] == msg_id]
    assert [c[3] for c in attempts] == [500, 503, 200]
    gaps = [b[0] - a[0] for a, b in zip(attempts, attempts[1:])]
    assert gaps[0] >= 0.19 and gaps[1] >= 0.39, gaps     # MIN 0.2, doubling
    row = server.sql(f"SELECT delivery, attempts, last_status FROM order_events "
                     f"WHERE seq = {int(msg_id[4:])}")[0]
    assert row == {"delivery": "delivered", "attempts": 3, "last_status": 200}


def test_gone_gives_up_at_once_and_the_last_attempt_gives_up(fresh, receiver):
    def answer(msg_id, n):
        return (410, 0, {}) if int(msg_id[4:]) % 2 else (500, 0, {})
    r = receiver(answer)
    server = fresh(processing_time="30", extra_conf=webhook_conf(r.url())).start()
    place(server, "gone", 2)       # two created events: evt_1 and evt_3 odd
    wait_for(lambda: server.sql("SELECT COUNT(*) AS n FROM order_events "
                                "WHERE delivery = 'failed'")[0]["n"] >= 4, 30,
             interval=0.2, what="every event given up")
    rows = server.sql("SELECT seq, attempts, last_status FROM order_events "
                      "WHERE delivery = 'failed'")
    for row in rows:
        assert row["attempts"] == (1 if row["seq"] % 2 else 4), row
        assert row["last_status"] == (410 if row["seq"] % 2 else 500), row
    # ?delivery=failed lists the given-up ones, with their delivery.
    failed = server.get("/orders/events?delivery=failed&limit=1000").json()["events"]
    assert sorted(int(e["id"][4:]) for e in failed) == sorted(r["seq"] for r in rows)
    assert all(e["delivery"]["state"] == "failed" and e["delivery"]["next_attempt_at"] is None
               for e in failed)
    assert server.get("/orders/events?delivery=lost").status == 400


def test_a_hanging_receiver_does_not_touch_intake_or_processing(fresh, receiver):
    r = receiver(lambda i, n: (200, 3, {}))        # answers after 3 s; timeout 1 s
    server = fresh(processing_time="0.1", extra_conf=webhook_conf(r.url())).start()
    t0 = time.monotonic()
    place(server, "hang", 40)
    intake = time.monotonic() - t0
    wait_for(lambda: server.db_status_counts()["Completed"] == 40, 20,
             interval=0.1, what="processing while the receiver hangs")
    # The receiver was hit (and hung) meanwhile; every attempt timed out.
    assert r.calls
    assert server.sql("SELECT COUNT(*) AS n FROM order_events "
                      "WHERE delivery = 'delivered'")[0]["n"] == 0
    print(f"\n40 orders placed in {intake:.2f} s and completed while every "
          f"delivery timed out ({len(r.calls)} attempts so far)")
    assert intake < 10, intake


def webhook_figures_when(server, ok, what, timeout=10):
    """The "webhooks" figures of /metrics once ok(figures) holds."""
    return wait_for(lambda: ok(w := server.metrics()["webhooks"]) and w,
                    timeout, interval=0.2, what=what)


def test_a_receiver_down_for_a_while_loses_nothing(fresh):
    port = free_port()
    server = fresh(processing_time="0.1",
                   extra_conf=webhook_conf(f"http://127.0.0.1:{port}/hooks")).start()
    place(server, "down", 5)
    wait_for(lambda: server.db_status_counts()["Completed"] == 5, 20,
             interval=0.1, what="processing")
    # Connections refused meanwhile: attempts counted, nothing delivered;
    # /metrics shows the backlog and its age growing.
    wait_for(lambda: server.sql("SELECT MAX(attempts) AS n FROM order_events")[0]["n"] >= 1,
             10, interval=0.1, what="an attempt")
    down = webhook_figures_when(
        server, lambda w: w["pending"] == 15 and w["oldest_pending_seconds"] >= 1,
        "the backlog in /metrics")
    assert down["delivered"] == down["failed"] == 0 and down["retried"] >= 1, down
    oldest = server.sql("SELECT MIN(updated_us) AS at FROM order_events")[0]["at"]
    assert abs(time.time() - oldest / 1e6 - down["oldest_pending_seconds"]) < 2.5, down
    r = Receiver(port=port)
    try:
        wait_for(lambda: len(r.delivered()) == 15, 30, interval=0.2,
                 what="every event delivered once the receiver is up")
        rows = server.sql("SELECT delivery FROM order_events")
        assert {x["delivery"] for x in rows} == {"delivered"}
        up = webhook_figures_when(server, lambda w: w["pending"] == 0, "no backlog")
        assert up["delivered"] == 15 and up["oldest_pending_seconds"] == 0, up
    finally:
        r.stop()


def test_metrics_figures_equal_what_the_receiver_saw(fresh, receiver):
    # By the event's number: a third refused at once (410), a third failing
    # once (500) then delivered, a third delivered at the first attempt.
    def answer(msg_id, n):
        kind = int(msg_id[4:]) % 3
        return (410, 0, {}) if kind == 0 else (500, 0, {}) if kind == 1 and n == 1 \
            else (200, 0, {})
    r = receiver(answer)
    server = fresh(processing_time="0.1", extra_conf=webhook_conf(r.url())).start()
    place(server, "count", 8)
    wait_for(lambda: server.sql("SELECT COUNT(*) AS n FROM order_events "
                                "WHERE delivery = 'pending'")[0]["n"] == 0
             and server.db_status_counts()["Completed"] == 8, 30, interval=0.2,
             what="every event delivered or given up")
    with r.lock:
        answered = collections.Counter(c[3] for c in r.calls)
    assert answered[410] > 0 and answered[500] > 0 and answered[200] > 0, answered
    assert sum(answered.values()) == answered[410] + answered[500] + answered[200]
    want = {"delivered": answered[200], "failed": answered[410],
            "retried": answered[500], "pending": 0,
            "oldest_pending_seconds": 0}
    # The backlog is read again within about a second.
    got = webhook_figures_when(server, lambda w: w["pending"] == 0, "no backlog")
    assert got == want
    db = {row["delivery"]: row["n"] for row in server.sql(
        "SELECT delivery, COUNT(*) AS n FROM order_events GROUP BY delivery")}
    assert db == {"delivered": want["delivered"], "failed": want["failed"]}
    text = server.get("/metrics?format=prometheus").body.decode()
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines()
                   if line.startswith("mod_orders_webhooks_"))
    assert samples == {
        "mod_orders_webhooks_delivered_total": str(want["delivered"]),
        "mod_orders_webhooks_failed_total": str(want["failed"]),
        "mod_orders_webhooks_retried_total": str(want["retried"]),
        "mod_orders_webhooks_pending": "0",
        "mod_orders_webhooks_oldest_pending_seconds": "0",
    }


def first_receipts_in_order(calls):
    """Each order's events, by the first time the receiver got each."""
    first = {}
    for t, headers, body, _ in sorted(calls, key=lambda c: c[0]):
        first.setdefault(headers["webhook-id"], (t, json.loads(body)))
    per_order = collections.defaultdict(list)
    for _, event in sorted(first.values(), key=lambda v: v[0]):
        per_order[event["order"]["order_id"]].append(event["type"])
    return per_order


def wait_all_delivered(server, orders, what):
    wait_for(lambda: server.db_status_counts()["Completed"] == orders
             and server.sql("SELECT COUNT(*) AS n FROM order_events "
                            "WHERE delivery = 'delivered'")[0]["n"] == 3 * orders,
             60, interval=0.2, what=what)


def assert_at_least_once_duplicates_only_around(r, server, killed_at):
    """Every event of the table reached the receiver; an event that came
    more than once had first come before the kill or had a failed attempt,
    and each order's events came in order."""
    ids = {f"evt_{row['seq']}" for row in server.sql("SELECT seq FROM order_events")}
    with r.lock:
        calls = r.calls[:]
    times = collections.defaultdict(list)
    for t, headers, _, _ in calls:
        times[headers["webhook-id"]].append(t)
    assert set(times) == ids
    again = {i: ts for i, ts in times.items() if len(ts) > 1}
    # Sent again because its outcome died with the child that sent it (its
    # first came before the kill), or because an attempt failed (a time-out
    # on a loaded machine: the row counts more than one attempt).
    attempts = {f"evt_{row['seq']}": row["attempts"] for row in server.sql(
        "SELECT seq, attempts FROM order_events")}
    # The receiver stamps a request when its thread gets to it: one a child
    # sent just before the kill can be stamped a moment after it.
    assert all(min(ts) < killed_at + STAMP_LAG or attempts[i] > 1
               for i, ts in again.items()), \
        {i: (ts, attempts[i]) for i, ts in again.items()}
    per_order = first_receipts_in_order(calls)
    assert all(types == COMPLETED for types in per_order.values()), per_order
    return len(again)


@pytest.mark.orders_log("ORD00010")
def test_sigkill_of_every_child_while_deliveries_are_due(fresh, receiver):
    r = receiver(lambda i, n: (200, 0.3, {}))     # slow: deliveries in flight
    server = fresh(processing_time="0.1",
                   extra_conf=webhook_conf(r.url(), attempts=PATIENT)).start()
    place(server, "killed", 40)
    wait_for(lambda: len(r.calls) >= 20, 30, interval=0.05, what="20 deliveries")
    killed = server.kill_children()
    killed_at, calls_before = time.monotonic(), len(r.calls)
    assert calls_before < 120, "every delivery done before the kill"
    wait_for(lambda: set(server.children()) - set(killed), 20,
             what="the parent to fork new children")
    wait_all_delivered(server, 40, "every event delivered after the kill")
    again = assert_at_least_once_duplicates_only_around(r, server, killed_at)
    print(f"\n120 events delivered: children killed after {calls_before} calls, "
          f"{len(r.calls)} in all; {again} events sent again after the kill")
    assert server.crashes(allow_killed=True) == []


@pytest.mark.orders_log("ORD00010", "ORD00013")
def test_sigkill_of_one_of_two_servers_while_deliveries_are_due(shared_db, receiver):
    r = receiver(lambda i, n: (200, 0.3, {}))
    dbname = shared_db.create_database()
    a, b = (shared_db.server(dbname=dbname, processing_time="0.1",
                             extra_conf=webhook_conf(r.url(), attempts=PATIENT))
            for _ in range(2))
    try:
        a.start()
        b.start()
        for i in range(20):
            assert a.post("/orders", order(f"a-{i}", i)).status == 202
            assert b.post("/orders", order(f"b-{i}", i)).status == 202
        wait_for(lambda: len(r.calls) >= 20, 30, interval=0.05, what="20 deliveries")
        a.kill()
        killed_at, calls_before = time.monotonic(), len(r.calls)
        assert calls_before < 120, "every delivery done before the kill"
        wait_all_delivered(b, 40, "every event delivered through B")
        again = assert_at_least_once_duplicates_only_around(r, b, killed_at)
        print(f"\n120 events delivered: A killed after {calls_before} calls, "
              f"{len(r.calls)} in all; {again} events sent again after the kill")
        assert b.crashes() == []
    finally:
        a.cleanup()
        b.cleanup()


def test_redeliver_queues_a_given_up_event_again(fresh, receiver):
    state = {"up": False}
    r = receiver(lambda i, n: (200, 0, {}) if state["up"] else (410, 0, {}))
    server = fresh(processing_time="30", extra_conf=webhook_conf(
        r.url(), "<Location /orders/events>\n    OrdersWebhookAdmin On\n</Location>\n")).start()
    place(server, "again", 1)
    wait_for(lambda: server.get("/orders/events?delivery=failed").json()["events"], 20,
             interval=0.2, what="the created event given up")
    event = server.get("/orders/events?delivery=failed").json()["events"][0]
    state["up"] = True
    # Named with leading zeros, it answers with the event's own id.
    padded = "evt_00" + event["id"][4:]
    resp = server.post(f"/orders/events/{padded}/redeliver", None)
    assert resp.status == 202, resp
    assert resp.json() == {"id": event["id"], "delivery": "pending"}
    wait_for(lambda: event["id"] in r.delivered(), 20, interval=0.1,
             what="the event delivered after the redeliver")
    assert server.post("/orders/events/evt_999999/redeliver", None).status == 404
    assert server.post("/orders/events/junk/redeliver", None).status == 404
    assert server.get(f"/orders/events/{event['id']}/redeliver").status == 405


def test_redeliver_is_404_where_not_enabled(fresh, receiver):
    r = receiver()
    server = fresh(extra_conf=webhook_conf(r.url())).start()
    resp = server.post("/orders/events/evt_1/redeliver", None)
    assert resp.status == 404 and "error" in resp.json()
