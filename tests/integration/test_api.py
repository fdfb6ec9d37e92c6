"""The HTTP contract of mod_orders (API.md sections 1, 2 and 4), against a
real apache2 (the module's `server` runs once per database driver of
conftest.DRIVERS): POST/GET/HEAD of orders, every error status, the
exact JSON that comes back, /metrics, mounting elsewhere and configtest."""
import http.client
import json
import re
import socket
import subprocess
import uuid

import pytest

from orders_data import OMIT, order
from orders_server import (Response, Server, assert_error, assert_json, assert_no_crash,
                           wait_for)

ISO_US = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
ORDER_KEYS = {"order_id", "user_id", "item_ids", "total_amount", "status",
              "created_at", "updated_at", "processing_started_at",
              "completed_at", "pending_duration", "processing_duration",
              "total_duration"}
STATUSES = {"Pending", "Processing", "Completed", "Cancelled"}


# -- helpers ------------------------------------------------------------------

def row_count(server):
    return server.sql("SELECT COUNT(*) AS n FROM orders")[0]["n"]


def db_row(server, order_id):
    rows = server.sql("SELECT order_id, order_id_int, user_id, user_id_int, "
                      "item_ids, amount_cents, amount_scale, created_us "
                      f"FROM orders WHERE order_id = '{order_id}'")
    return rows[0] if rows else None


def raw(server, data, timeout=5):
    """Sends `data` (a whole request, bytes of our own making) on a fresh
    socket; returns the parsed response as an orders_server.Response."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(data)
        resp = http.client.HTTPResponse(s, method=data.split(b" ", 1)[0].decode())
        resp.begin()
        return Response(resp.status, resp.getheaders(), resp.read())


def raw_until_close(server, data, timeout=5):
    """Sends `data`, reads everything until the server closes; raw bytes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                return b"".join(chunks)
            chunks.append(b)


def post_bytes(path, extra=b"", body=b""):
    """A POST request written by hand: `extra` header lines, then `body`."""
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + extra
            + b"Connection: close\r\n\r\n" + body)


def wait_settled(server, timeout=20):
    """Waits until no order in the database is Pending or Processing."""
    def settled():
        c = server.db_status_counts()
        return c["Pending"] == 0 and c["Processing"] == 0
    wait_for(settled, timeout, what="every order Completed or Cancelled")


# -- POST /orders: accepted -----------------------------------------------------

def test_post_valid_order_is_202_durable_with_types_kept(server):
    body = (b'{"order_id": "post-valid-1", "user_id": 42, '
            b'"item_ids": [101, "item-b", 7], "total_amount": 149.99}')
    r = server.post("/orders", body)
    assert r.status == 202, r
    # Durable before the answer: the row is there right now.
    row = db_row(server, "post-valid-1")
    assert row is not None
    assert (row["amount_cents"], row["amount_scale"]) == (14999, 2)

    o = assert_json(r, 202)
    assert r.header("Location") == "/orders/post-valid-1"
    assert set(o) == ORDER_KEYS
    assert o["order_id"] == "post-valid-1"
    assert o["user_id"] == 42 and type(o["user_id"]) is int
    assert o["item_ids"] == [101, "item-b", 7]
    assert [type(x) for x in o["item_ids"]] == [int, str, int]
    assert o["total_amount"] == 149.99
    assert b'"total_amount":149.99' in r.body.replace(b" ", b"")
    assert o["status"] == "Pending"
    assert ISO_US.match(o["created_at"]) and ISO_US.match(o["updated_at"])
    # Answered before its 0.2 s of processing could end: not reached yet,
    # so null.
    assert o["completed_at"] is None
    assert o["total_duration"] is None


@pytest.mark.parametrize("text", ["60.0", "60", "0.5", "0", "1000000000000"])
def test_total_amount_keeps_the_decimals_sent(server, text):
    oid = f"amount-{text.replace('.', '_')}"
    body = ('{"order_id": "%s", "user_id": 1, "item_ids": [1], '
            '"total_amount": %s}' % (oid, text)).encode()
    r = server.post("/orders", body)
    assert_json(r, 202)
    assert server.sql(f"SELECT COUNT(*) AS n FROM orders WHERE order_id = '{oid}'")[0]["n"] == 1
    expected = f'"total_amount":{text}'.encode()
    assert expected + b"," in r.body.replace(b" ", b"")
    g = server.get(f"/orders/{oid}")
    assert_json(g, 200)
    assert expected + b"," in g.body.replace(b" ", b"")


def test_order_id_absent_is_generated_uuid(server):
    r = server.post("/orders", order(OMIT, user_id="alice", item_ids=[1],
                                     total_amount=5))
    o = assert_json(r, 202)
    oid = o["order_id"]
    assert isinstance(oid, str)
    assert str(uuid.UUID(oid)) == oid.lower()
    assert r.header("Location") == f"/orders/{oid}"
    assert db_row(server, oid) is not None
    assert assert_json(server.get(f"/orders/{oid}"), 200)["order_id"] == oid


def test_integer_order_id_stays_integer(server):
    r = server.post("/orders", order(9007199254740991))  # 2^53-1
    o = assert_json(r, 202)
    assert o["order_id"] == 9007199254740991 and type(o["order_id"]) is int
    assert r.header("Location") == "/orders/9007199254740991"
    g = assert_json(server.get("/orders/9007199254740991"), 200)
    assert g["order_id"] == 9007199254740991 and type(g["order_id"]) is int
    assert b'"order_id":9007199254740991' in server.get(
        "/orders/9007199254740991").body.replace(b" ", b"")


def test_status_pending_is_accepted(server):
    r = server.post("/orders", order("status-pending", status="Pending"))
    assert assert_json(r, 202)["status"] == "Pending"


def test_status_other_than_pending_is_400(server):
    before = row_count(server)
    r = server.post("/orders", order("status-completed", status="Completed"))
    assert_error(r, 400, "status")
    assert row_count(server) == before
    assert db_row(server, "status-completed") is None


def test_comma_separated_item_ids_become_an_array(server):
    r = server.post("/orders", order("comma-items", item_ids="item_1, item_2"))
    o = assert_json(r, 202)
    assert o["item_ids"] == ["item_1", "item_2"]
    assert json.loads(db_row(server, "comma-items")["item_ids"]) == ["item_1", "item_2"]
    g = assert_json(server.get("/orders/comma-items"), 200)
    assert g["item_ids"] == ["item_1", "item_2"]


def test_content_type_with_charset_is_accepted(server):
    r = server.post("/orders", order("charset-utf8"),
                    headers={"Content-Type": "application/json; charset=utf-8"})
    assert_json(r, 202)
    assert db_row(server, "charset-utf8") is not None


def test_chunked_body_is_accepted(server):
    body = json.dumps(order("chunked-1")).encode()
    parts = [body[:10], body[10:25], body[25:]]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    r = raw(server, post_bytes("/orders",
                         b"Content-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n", chunked))
    o = assert_json(r, 202)
    assert o["order_id"] == "chunked-1"
    assert r.header("Location") == "/orders/chunked-1"
    assert db_row(server, "chunked-1") is not None


def test_sql_injection_looking_values_are_stored_verbatim(server):
    evil = "x'); DROP TABLE orders;--"
    evil2 = "1 OR 1=1; --\"'"
    r = server.post("/orders", order("sqli-1", user_id=evil, item_ids=[evil, evil2]))
    o = assert_json(r, 202)
    assert o["user_id"] == evil and o["item_ids"] == [evil, evil2]
    g = assert_json(server.get("/orders/sqli-1"), 200)
    assert g["user_id"] == evil and g["item_ids"] == [evil, evil2]
    # The table is still there (a query on it works) and holds the text as sent.
    assert row_count(server) >= 1
    rows = server.sql("SELECT user_id, item_ids FROM orders WHERE order_id = 'sqli-1'")
    assert len(rows) == 1 and rows[0]["user_id"] == evil
    assert json.loads(rows[0]["item_ids"]) == [evil, evil2]


# -- safe retry and conflict ---------------------------------------------------

def test_same_order_twice_is_200_with_one_row(server):
    body = order("retry-same", user_id="bob", item_ids=[1, "two"], total_amount=60.0)
    first = assert_json(server.post("/orders", body), 202)
    r = server.post("/orders", body)
    again = assert_json(r, 200)
    assert server.sql("SELECT COUNT(*) AS n FROM orders WHERE order_id = 'retry-same'") == [{"n": 1}]
    for k in ("order_id", "user_id", "item_ids", "total_amount", "created_at"):
        assert again[k] == first[k], k
    assert again["status"] in STATUSES
    assert b'"total_amount":60.0,' in r.body.replace(b" ", b"")


def test_same_order_id_other_content_is_409_and_row_unchanged(server):
    assert_json(server.post("/orders", order("conflict-1")), 202)
    before = db_row(server, "conflict-1")
    count = row_count(server)
    for other in (order("conflict-1", user_id=2),
                  order("conflict-1", item_ids=[101]),
                  order("conflict-1", total_amount=10.51),
                  order("conflict-1", user_id="1")):        # other JSON type
        assert_error(server.post("/orders", other), 409)
    assert db_row(server, "conflict-1") == before
    assert row_count(server) == count


# -- GET / HEAD -------------------------------------------------------------------

def test_get_order_eventually_completed_with_consistent_durations(server):
    created = assert_json(server.post("/orders", order("get-complete")), 202)
    first = assert_json(server.get("/orders/get-complete"), 200)
    assert first["order_id"] == "get-complete"
    assert first["status"] in ("Pending", "Processing", "Completed")

    def completed():
        o = assert_json(server.get("/orders/get-complete"), 200)
        return o if o["status"] == "Completed" else None
    o = wait_for(completed, 10, what="get-complete to be Completed")
    assert set(o) == ORDER_KEYS
    assert o["created_at"] == created["created_at"]
    for k in ("created_at", "updated_at", "processing_started_at", "completed_at"):
        assert isinstance(o[k], str) and ISO_US.match(o[k]), (k, o[k])
    assert o["created_at"] <= o["processing_started_at"] <= o["completed_at"]
    assert o["updated_at"] == o["completed_at"]
    for k in ("pending_duration", "processing_duration", "total_duration"):
        assert type(o[k]) in (int, float) and o[k] >= 0, (k, o[k])
    # OrdersProcessingTime is 0.2 s for this server.
    assert o["processing_duration"] >= 0.2 - 1e-3
    assert o["pending_duration"] + o["processing_duration"] == pytest.approx(
        o["total_duration"], abs=1e-5)


def test_get_unknown_order_is_404_json(server):
    assert_error(server.get("/orders/no-such-order"), 404)


def test_head_order_is_200_without_body(server):
    assert_json(server.post("/orders", order("head-1")), 202)
    raw_resp = raw_until_close(server, b"HEAD /orders/head-1 HTTP/1.1\r\n"
                               b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
    head_part, _, rest = raw_resp.partition(b"\r\n\r\n")
    assert head_part.startswith(b"HTTP/1.1 200"), raw_resp
    assert re.search(rb"(?im)^Content-Type:\s*application/json", head_part), head_part
    assert rest == b""


def test_an_accepted_order_id_is_readable(server):
    # "populate" matches the order_id syntax but is also a route below the
    # collection: it must be refused (README: a reserved order id) or, if
    # accepted, be readable like any other order.
    r = server.post("/orders", order("populate"))
    if r.status == 400:
        assert_error(r, 400, "order_id")
        assert db_row(server, "populate") is None
    else:
        assert_json(r, 202)
        assert assert_json(server.get("/orders/populate"), 200)["order_id"] == "populate"


def test_path_below_an_order_is_404_json(server):
    assert_error(server.get("/orders/a/b"), 404)


def test_path_outside_the_mount_is_404(server):
    # /ordersX is not under <Location /orders>: Apache itself answers.
    assert server.get("/ordersX").status == 404


# -- 400: malformed or invalid ------------------------------------------------------

def _j(**fields):
    return json.dumps(fields).encode()


BAD_BODIES = [
    # (test id, body bytes, words the error must contain)
    ("missing_user_id", _j(order_id="bad-1", item_ids=[1], total_amount=1), ["user_id"]),
    ("missing_item_ids", _j(order_id="bad-2", user_id=1, total_amount=1), ["item_ids"]),
    ("missing_total_amount", _j(order_id="bad-3", user_id=1, item_ids=[1]), ["total_amount"]),
    ("empty_item_ids", _j(order_id="bad-4", user_id=1, item_ids=[], total_amount=1), ["item_ids"]),
    ("too_many_item_ids", _j(order_id="bad-5", user_id=1, item_ids=list(range(1001)),
                             total_amount=1), ["item_ids"]),
    ("negative_amount", b'{"order_id":"bad-6","user_id":1,"item_ids":[1],"total_amount":-0.01}',
     ["total_amount"]),
    ("three_decimals", b'{"order_id":"bad-7","user_id":1,"item_ids":[1],"total_amount":5.999}',
     ["total_amount"]),
    ("amount_1e13", b'{"order_id":"bad-8","user_id":1,"item_ids":[1],"total_amount":1e13}',
     ["total_amount"]),
    ("amount_as_string", _j(order_id="bad-9", user_id=1, item_ids=[1], total_amount="10.00"),
     ["total_amount"]),
    ("order_id_slash", _j(order_id="a/b", user_id=1, item_ids=[1], total_amount=1), ["order_id"]),
    ("order_id_space", _j(order_id="a b", user_id=1, item_ids=[1], total_amount=1), ["order_id"]),
    ("order_id_65_chars", _j(order_id="o" * 65, user_id=1, item_ids=[1], total_amount=1),
     ["order_id"]),
    ("user_id_65_chars", _j(order_id="bad-10", user_id="u" * 65, item_ids=[1], total_amount=1),
     ["user_id"]),
    ("unknown_field", _j(order_id="bad-11", user_id=1, item_ids=[1], total_amount=1,
                         coupon="X"), ["coupon"]),
    ("duplicate_key", b'{"order_id":"bad-12","user_id":1,"user_id":2,"item_ids":[1],'
                      b'"total_amount":1}', ["user_id"]),
    ("trailing_garbage", b'{"order_id":"bad-13","user_id":1,"item_ids":[1],'
                         b'"total_amount":1} x', ["body"]),
    ("second_object", b'{"order_id":"bad-14","user_id":1,"item_ids":[1],'
                      b'"total_amount":1}{}', ["body"]),
    ("invalid_utf8", b'{"order_id":"bad-15","user_id":"caf\xc3\x28","item_ids":[1],'
                     b'"total_amount":1}', ["body"]),
    ("overlong_utf8", b'{"order_id":"bad-20","user_id":"\xc0\xaf","item_ids":[1],'
                      b'"total_amount":1}', ["user_id"]),
    # An escaped lone surrogate is no character at all (README: "surrogates
    # are 400"); it must not be stored as something else.
    ("lone_surrogate_escape", b'{"order_id":"bad-21","user_id":"\\ud800","item_ids":[1],'
                              b'"total_amount":1}', []),
    ("json_array", b'[{"order_id":"bad-16","user_id":1,"item_ids":[1],"total_amount":1}]',
     ["object"]),
    ("deep_nesting", b'{"order_id":"bad-17","user_id":1,"item_ids":' + b"[" * 200
                     + b"1" + b"]" * 200 + b',"total_amount":1}', ["body"]),
    ("nested_item", _j(order_id="bad-18", user_id=1, item_ids=[[1]], total_amount=1),
     ["item_ids"]),
    ("empty_body", b"", ["body"]),
    ("nul_byte", b'{"order_id":"bad-19","user_id":"a\x00b","item_ids":[1],'
                 b'"total_amount":1}', ["body"]),
]


@pytest.mark.parametrize("body,words", [(b, w) for _, b, w in BAD_BODIES],
                         ids=[name for name, _, _ in BAD_BODIES])
def test_invalid_order_is_400_naming_the_field_and_creates_nothing(server, body, words):
    before = row_count(server)
    r = server.post("/orders", body)   # http.client sends Content-Length
    assert_error(r, 400, *words)
    assert row_count(server) == before


# -- 411 / 413 / 415 ---------------------------------------------------------------

def test_no_content_type_is_415(server):
    before = row_count(server)
    body = json.dumps(order("ct-none")).encode()
    r = raw(server, post_bytes("/orders",
                         f"Content-Length: {len(body)}\r\n".encode(), body))
    assert_error(r, 415)
    assert row_count(server) == before


def test_text_plain_is_415(server):
    before = row_count(server)
    r = server.post("/orders", order("ct-text"), headers={"Content-Type": "text/plain"})
    assert_error(r, 415)
    assert row_count(server) == before


def test_no_length_and_no_chunking_is_411(server):
    r = raw(server, post_bytes("/orders", b"Content-Type: application/json\r\n"))
    assert_error(r, 411)


def test_body_over_64_kib_is_413(server):
    before = row_count(server)
    items = [f"item-{i:05d}-" + "x" * 52 for i in range(1100)]
    body = json.dumps(order("too-big", item_ids=items)).encode()
    assert len(body) > 70000
    assert_error(server.post("/orders", body), 413)
    assert row_count(server) == before


def test_declared_length_over_limit_is_413_without_reading_the_body(server):
    before = row_count(server)
    r = raw(server, post_bytes("/orders",
                         b"Content-Type: application/json\r\n"
                         b"Content-Length: 10000000\r\n",
                         b'{"order_id": "huge", "user_id": 1, '), timeout=5)
    assert_error(r, 413)
    assert row_count(server) == before


# -- 405 ----------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,allow", [
    ("PUT", "/orders", {"GET", "HEAD", "POST"}),
    ("PUT", "/orders/X", {"GET", "HEAD", "DELETE"}),
    ("PATCH", "/orders/X", {"GET", "HEAD", "DELETE"}),
    ("POST", "/metrics", {"GET", "HEAD"}),
])
def test_unsupported_method_is_405_with_allow(server, method, path, allow):
    r = server.request(method, path, body=b"{}")
    assert_error(r, 405)
    assert {m.strip() for m in r.header("Allow").split(",")} == allow


# -- /metrics ------------------------------------------------------------------------

def test_metrics_shape(server):
    m = assert_json(server.get("/metrics"), 200)
    assert set(m) == {"total_orders", "total_processed", "average_processing_time",
                      "average_processing_time_from_creation", "status_counts",
                      "queue_depth", "workers_busy", "uptime_seconds", "webhooks"}
    assert set(m["status_counts"]) == STATUSES
    assert set(m["webhooks"]) == {"delivered", "failed", "retried", "pending",
                                  "oldest_pending_seconds"}
    # No OrdersWebhookURL here: nothing sent, nothing waiting.
    assert m["webhooks"] == {"delivered": 0, "failed": 0, "retried": 0, "pending": 0,
                             "oldest_pending_seconds": 0}
    for k in ("total_orders", "total_processed", "queue_depth", "workers_busy",
              "uptime_seconds"):
        assert type(m[k]) is int and m[k] >= 0, (k, m[k])
    for k in ("average_processing_time", "average_processing_time_from_creation"):
        assert type(m[k]) in (int, float) and m[k] >= 0, (k, m[k])
    assert all(type(v) is int and v >= 0 for v in m["status_counts"].values())


def test_metrics_agree_with_the_database_once_settled(server):
    # Runs after the other tests of this module: many orders are in by now.
    assert_json(server.post("/orders", order("metrics-last")), 202)
    wait_settled(server)
    db = server.db_status_counts()
    assert db["Completed"] >= 1

    def agrees():
        return server.metrics()["status_counts"] == server.db_status_counts()
    wait_for(agrees, 5, what="/metrics status_counts to equal the database")
    m = server.metrics()
    assert m["status_counts"] == server.db_status_counts()
    assert m["total_orders"] == row_count(server)
    assert m["total_processed"] == m["status_counts"]["Completed"]
    assert m["queue_depth"] == 0 and m["workers_busy"] == 0
    avg = server.sql("SELECT AVG(completed_us - started_us) / 1e6 AS p, "
                     "AVG(completed_us - created_us) / 1e6 AS c "
                     "FROM orders WHERE status = 'Completed'")[0]
    assert m["average_processing_time"] == pytest.approx(avg["p"], abs=1e-5)
    assert m["average_processing_time_from_creation"] == pytest.approx(avg["c"], abs=1e-5)


# -- other servers --------------------------------------------------------------------

def test_mounted_at_a_nested_path():
    s = Server(extra_conf="<Location /api/v1/orders>\n SetHandler orders\n</Location>\n")
    s.start()
    try:
        r = s.post("/api/v1/orders", order("nested-1"))
        o = assert_json(r, 202)
        assert r.header("Location") == "/api/v1/orders/nested-1"
        g = assert_json(s.get(r.header("Location")), 200)
        assert g["order_id"] == "nested-1"
        assert g["created_at"] == o["created_at"]
        assert_error(s.get("/api/v1/orders/nope"), 404)
        assert_no_crash(s)
    finally:
        s.cleanup()


def test_limit_request_body_lowers_the_limit_chunked_too():
    s = Server(extra_conf="<Location /small/orders>\n SetHandler orders\n"
                          " LimitRequestBody 100\n</Location>\n")
    s.start()
    try:
        body = json.dumps(order("small-1", item_ids=["x" * 50] * 3)).encode()
        assert len(body) > 100
        assert_error(s.post("/small/orders", body), 413)
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        r = raw(s, post_bytes("/small/orders", b"Content-Type: application/json\r\n"
                              b"Transfer-Encoding: chunked\r\n", chunked))
        assert_error(r, 413)
        assert row_count(s) == 0
        assert_no_crash(s)
    finally:
        s.cleanup()


@pytest.mark.parametrize("line,words", [
    ("OrdersWorkers 0", ["OrdersWorkers", "1", "1024", "'0'"]),
    ("OrdersProcessingTime 5 1", ["OrdersProcessingTime", "MAX", "MIN"]),
    ("OrdersProcessingTime -1", ["OrdersProcessingTime", "0", "3600"]),
    ("OrdersQueueSize abc", ["OrdersQueueSize", "1", "10000000", "'abc'"]),
    ("OrdersRecoveryInterval 0", ["OrdersRecoveryInterval", "1", "3600"]),
    ("OrdersMaxItems 100001", ["OrdersMaxItems", "1", "100000", "'100001'"]),
])
def test_bad_directive_value_fails_configtest(line, words):
    s = Server(extra_conf=line + "\n")
    try:
        p = subprocess.run(["apache2", "-t", "-f", s.conf], capture_output=True,
                           text=True, env=s.env, timeout=30)
        assert p.returncode != 0, p
        for w in words:
            assert w in p.stderr, (w, p.stderr)
    finally:
        s.cleanup()


def test_good_directive_values_pass_configtest():
    s = Server(extra_conf="OrdersProcessingTime 0.5 1.5\nOrdersMaxItems 100000\n")
    try:
        p = subprocess.run(["apache2", "-t", "-f", s.conf], capture_output=True,
                           text=True, env=s.env, timeout=30)
        assert p.returncode == 0, p.stderr
    finally:
        s.cleanup()
