"""/metrics beyond its plain JSON (API.md section 4), against a real apache2
on SQLite and on PostgreSQL: ?order_ids=true (and its cut at 1000 per
status), the Prometheus text format by ?format and by Accept (checked by
`promtool check metrics`, and equal to the JSON and to the database), and
mod_orders' section of /server-status."""
import subprocess
import uuid
from decimal import Decimal

import pytest

from orders_data import order
from orders_server import assert_error, assert_no_crash, concurrent_posts, wait_for

STATUSES = ["Pending", "Processing", "Completed", "Cancelled"]
PROM_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PROMTOOL = "/usr/bin/promtool"
# ord_processing_bounds_us of ord_store.c, as Prometheus `le` labels.
BOUNDS_US = [50000, 100000, 250000, 500000, 1000000, 2000000, 3000000,
             5000000, 10000000, 30000000, 60000000]
SCRAPE_ACCEPT = ("application/openmetrics-text;version=1.0.0,"
                 "application/openmetrics-text;version=0.0.1;q=0.75,"
                 "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


# -- helpers ------------------------------------------------------------------

def place(server, n):
    """Places `n` orders of a fresh prefix one by one; their ids."""
    prefix = "m" + uuid.uuid4().hex[:10]
    ids = [f"{prefix}-{i}" for i in range(n)]
    for i in ids:
        r = server.post("/orders", order(i, user_id=7, item_ids=[1, "x-2"],
                                         total_amount=12.34))
        assert r.status == 202, r
    return ids


def settled(server):
    """Nothing is Pending or Processing in the database and the shared
    counts agree with it: the figures cannot move while a test compares."""
    db = server.db_status_counts()
    if db["Pending"] or db["Processing"]:
        return False
    m = server.metrics()
    return m["status_counts"] == db and m["queue_depth"] == 0 \
        and m["workers_busy"] == 0


def wait_settled(server):
    wait_for(lambda: settled(server), 30, what="every order Completed")


def json_of(r, status=200):
    assert r.status == status, r
    assert (r.header("Content-Type") or "").split(";")[0] == "application/json", r.headers
    return r.json()


def is_prometheus(r):
    assert r.status == 200, r
    return r.header("Content-Type") == PROM_TYPE


def promtool(text):
    """(exit status, output) of `promtool check metrics` on `text`."""
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                       capture_output=True)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


def parse_prometheus(text):
    """{name or name{labels}: value text} of the sample lines, and
    {family: (type, help)} of the comments; fails on anything else."""
    samples, families = {}, {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, help_text = line[7:].split(" ", 1)
            families.setdefault(name, [None, None])[1] = help_text
        elif line.startswith("# TYPE "):
            name, typ = line[7:].split(" ")
            families.setdefault(name, [None, None])[0] = typ
        else:
            key, value = line.rsplit(" ", 1)
            assert key not in samples, f"sample {key} twice"
            samples[key] = value
    return samples, {k: tuple(v) for k, v in families.items()}


def le(us):
    """Bucket label from microseconds, as the module writes it."""
    return format(Decimal(us) / Decimal(10**6), "f").rstrip("0").rstrip(".") \
        if us % 10**6 else str(us // 10**6)


def db_ids(server, status, limit):
    rows = server.sql(f"SELECT order_id FROM orders WHERE status = '{status}' "
                      f"ORDER BY seq LIMIT {limit}")
    return [row["order_id"] for row in rows]


def db_histogram(server):
    """(cumulative bucket counts incl. +Inf, sum of microseconds) of the
    Completed orders, from the table."""
    cases = ", ".join(
        f"SUM(CASE WHEN completed_us - started_us <= {b} THEN 1 ELSE 0 END) AS b{i}"
        for i, b in enumerate(BOUNDS_US))
    row = server.sql(f"SELECT COUNT(*) AS n, SUM(completed_us - started_us) AS s, "
                     f"{cases} FROM orders WHERE status = 'Completed'")[0]
    buckets = [int(row[f"b{i}"] or 0) for i in range(len(BOUNDS_US))]
    return buckets + [int(row["n"])], int(row["s"] or 0)


def assert_histogram_consistent(samples):
    name = "mod_orders_processing_seconds"
    labels = [le(b) for b in BOUNDS_US] + ["+Inf"]
    values = [int(samples[f'{name}_bucket{{le="{x}"}}']) for x in labels]
    assert values == sorted(values), f"buckets not cumulative: {values}"
    assert values[-1] == int(samples[f"{name}_count"])
    assert int(samples["mod_orders_orders_completed_total"]) == values[-1]
    return values


def status_auto(server):
    r = server.get("/server-status?auto")
    assert r.status == 200, r
    lines = dict(line.split(": ", 1) for line in r.body.decode().splitlines()
                 if ": " in line)
    return {k: v for k, v in lines.items() if k.startswith("Orders")}


# -- ?order_ids -----------------------------------------------------------------

def test_without_order_ids_or_false_there_are_no_ids(server):
    for path in ("/metrics", "/metrics?order_ids=false",
                 "/metrics?order_ids=false&scope=server",
                 "/metrics?unknown=1&other"):
        body = json_of(server.get(path))
        assert "order_ids" not in body and "order_ids_truncated" not in body, path
        assert set(STATUSES) == set(body["status_counts"]), path


def test_order_ids_true_lists_every_status_like_the_database(server):
    ids = place(server, 5)
    wait_settled(server)
    for path in ("/metrics?order_ids=true", "/metrics?order_ids=true&scope=cluster",
                 "/metrics?scope=server&order_ids=true&whatever=x"):
        body = json_of(server.get(path))
        assert set(body["order_ids"]) == set(STATUSES), path
        assert body["order_ids_truncated"] is False, path
        for st in STATUSES:
            assert body["order_ids"][st] == db_ids(server, st, 1000), (path, st)
            assert len(body["order_ids"][st]) == body["status_counts"][st]
        # Oldest first: ours are the last five Completed, in order placed.
        assert body["order_ids"]["Completed"][-5:] == ids, path
        # The figures are those of the same request without ids.
        plain = json_of(server.get(path.replace("order_ids=true", "order_ids=false")))
        for key in ("total_orders", "status_counts", "total_processed"):
            assert body[key] == plain[key], key


@pytest.mark.parametrize("value", ["yes", "1", "TRUE", "True", "", "true "])
def test_order_ids_other_value_is_400(server, value):
    r = server.get("/metrics?order_ids=" + value.replace(" ", "%20"))
    assert_error(r, 400, "order_ids", "true", "false")
    r = server.request("HEAD", "/metrics?order_ids=" + value.replace(" ", "%20"))
    assert r.status == 400 and r.body == b""


def test_order_ids_cut_at_1000_with_truncated_true(fresh):
    """Orders held Pending (a queue of one, processing of a minute): 1001 of
    one status come back as the oldest 1000 and order_ids_truncated."""
    server = fresh(processing_time="60", workers="1",
                   extra_conf="OrdersQueueSize 1\n").start()
    prefix = "t" + uuid.uuid4().hex[:8]
    bodies = [order(f"{prefix}-{i}", user_id=7, item_ids=[1, "x-2"], total_amount=12.34)
              for i in range(1006)]
    results = concurrent_posts(server.port, bodies)
    assert sorted({s for s, _, _ in results}) == [202], \
        sorted(s for s, _, _ in results if s != 202)[:5]

    def stable():
        db = server.db_status_counts()
        # At most one order per child's queue, Processing for a minute.
        return db if sum(db.values()) == 1006 and 1 <= db["Processing"] <= 2 else None
    db = wait_for(stable, 30, what="the orders stored, one per queue claimed")
    assert db["Pending"] >= 1004
    pending = db_ids(server, "Pending", 2000)
    r = server.request("DELETE", f"/orders/{pending[-1]}")
    assert r.status == 200, r
    db = server.db_status_counts()
    assert db["Pending"] >= 1003 and db["Cancelled"] == 1

    for path in ("/metrics?order_ids=true", "/metrics?order_ids=true&scope=cluster"):
        body = json_of(server.get(path))
        assert body["order_ids_truncated"] is True, path
        got = body["order_ids"]
        assert len(got["Pending"]) == 1000
        assert got["Pending"] == db_ids(server, "Pending", 1000)   # the oldest
        assert got["Processing"] == db_ids(server, "Processing", 1000)
        assert got["Cancelled"] == [pending[-1]]
        assert got["Completed"] == []
        assert len(set(got["Pending"])) == 1000
        assert body["status_counts"] == db, path

    # A status of exactly 1000 is not cut: cancel Pending orders down to 1000.
    extra = db_ids(server, "Pending", 2000)[1000:]
    for i in extra:
        assert server.request("DELETE", f"/orders/{i}").status == 200
    db = server.db_status_counts()
    assert db["Pending"] == 1000
    body = json_of(server.get("/metrics?order_ids=true"))
    assert body["order_ids_truncated"] is False
    assert len(body["order_ids"]["Pending"]) == 1000
    assert body["order_ids"]["Cancelled"] == db_ids(server, "Cancelled", 1000)

    # While orders are in flight, the text format is still valid.
    r = server.get("/metrics?format=prometheus")
    assert is_prometheus(r)
    assert promtool(r.body) == (0, "")
    samples, _ = parse_prometheus(r.body.decode())
    assert samples['mod_orders_orders{status="Pending"}'] == "1000"
    assert int(samples["mod_orders_queue_depth"]) >= 1
    assert_no_crash(server)


# -- Prometheus -----------------------------------------------------------------

def test_prometheus_by_format_passes_promtool_and_equals_json_and_db(server):
    place(server, 4)
    wait_settled(server)
    r = server.get("/metrics?format=prometheus")
    assert is_prometheus(r), r.headers
    assert r.header("Cache-Control") == "no-store"
    assert promtool(r.body) == (0, "")
    text = r.body.decode()
    samples, families = parse_prometheus(text)
    m = server.metrics()
    db = server.db_status_counts()

    assert {name: typ for name, (typ, _) in families.items()} == {
        "mod_orders_orders": "gauge",
        "mod_orders_orders_created_total": "counter",
        "mod_orders_orders_completed_total": "counter",
        "mod_orders_processing_seconds": "histogram",
        "mod_orders_completion_seconds_total": "counter",
        "mod_orders_queue_depth": "gauge",
        "mod_orders_workers_busy": "gauge",
        "mod_orders_uptime_seconds": "gauge",
        "mod_orders_answers_total": "counter",
        "mod_orders_webhooks_delivered_total": "counter",
        "mod_orders_webhooks_failed_total": "counter",
        "mod_orders_webhooks_retried_total": "counter",
        "mod_orders_webhooks_pending": "gauge",
        "mod_orders_webhooks_oldest_pending_seconds": "gauge",
    }
    assert all(h for _, h in families.values())
    for st in STATUSES:
        assert int(samples[f'mod_orders_orders{{status="{st}"}}']) \
            == m["status_counts"][st] == db[st]
    assert int(samples["mod_orders_orders_created_total"]) \
        == m["total_orders"] == sum(db.values())
    assert int(samples["mod_orders_orders_completed_total"]) \
        == m["total_processed"] == db["Completed"]
    assert int(samples["mod_orders_queue_depth"]) == m["queue_depth"] == 0
    assert int(samples["mod_orders_workers_busy"]) == m["workers_busy"] == 0
    assert abs(int(samples["mod_orders_uptime_seconds"]) - m["uptime_seconds"]) <= 1

    buckets = assert_histogram_consistent(samples)
    assert buckets[-1] == db["Completed"] >= 4
    db_buckets, db_sum_us = db_histogram(server)
    assert buckets == db_buckets
    # The sum is written exactly from microseconds; the shared memory's
    # agrees with the table's to within a microsecond per order.
    total = Decimal(samples["mod_orders_processing_seconds_sum"])
    assert abs(total * 10**6 - db_sum_us) <= db["Completed"]
    assert abs(float(total) / db["Completed"]
               - m["average_processing_time"]) < 2e-6
    # With processing 0.2 s, everything falls in (0.1, 0.25] or later.
    assert buckets[1] == 0


def test_prometheus_cluster_scope_is_the_database_exactly(server):
    place(server, 2)
    wait_settled(server)
    r = server.get("/metrics?scope=cluster&format=prometheus")
    assert is_prometheus(r)
    assert promtool(r.body) == (0, "")
    samples, _ = parse_prometheus(r.body.decode())
    db = server.db_status_counts()
    for st in STATUSES:
        assert int(samples[f'mod_orders_orders{{status="{st}"}}']) == db[st]
    assert int(samples["mod_orders_orders_created_total"]) == sum(db.values())
    buckets = assert_histogram_consistent(samples)
    db_buckets, db_sum_us = db_histogram(server)
    assert buckets == db_buckets
    assert Decimal(samples["mod_orders_processing_seconds_sum"]) * 10**6 == db_sum_us
    # order_ids has no place in the text format: it changes nothing there.
    again = server.get("/metrics?scope=cluster&format=prometheus&order_ids=true")
    assert is_prometheus(again)
    s2, _ = parse_prometheus(again.body.decode())
    s2.pop("mod_orders_uptime_seconds"), samples.pop("mod_orders_uptime_seconds")
    # The answers counter counts the first of the two requests too.
    first = samples.pop('mod_orders_answers_total{outcome="metrics"}')
    assert int(s2.pop('mod_orders_answers_total{outcome="metrics"}')) == int(first) + 1
    assert s2 == samples


@pytest.mark.parametrize("accept", [
    "text/plain",
    "text/plain; version=0.0.4",
    "application/openmetrics-text",
    SCRAPE_ACCEPT,
    "application/json;q=0.5, text/plain",
    "text/*",
])
def test_accept_preferring_text_gives_prometheus(server, accept):
    r = server.get("/metrics", headers={"Accept": accept})
    assert is_prometheus(r), (accept, r.headers)
    assert "Accept" in (r.header("Vary") or "")
    assert promtool(r.body) == (0, "")
    # ?format=json wins over any Accept.
    json_of(server.get("/metrics?format=json", headers={"Accept": accept}))


@pytest.mark.parametrize("accept", [
    None,
    "*/*",
    "application/json",
    "text/plain;q=0.5, application/json",
    "text/plain;q=0.5, */*",
    "text/plain;q=0",
    "text/html",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
])
def test_accept_not_preferring_text_gives_json(server, accept):
    headers = {"Accept": accept} if accept is not None else {}
    r = server.get("/metrics", headers=headers)
    body = json_of(r)
    assert "total_orders" in body
    assert r.header("Cache-Control") == "no-store"
    # ?format=prometheus wins over any Accept.
    assert is_prometheus(server.get("/metrics?format=prometheus", headers=headers))


@pytest.mark.parametrize("value", ["text", "Prometheus", "", "openmetrics", "xml"])
def test_format_other_value_is_400(server, value):
    assert_error(server.get("/metrics?format=" + value), 400, "format",
                 "json", "prometheus")
    assert_error(server.get("/metrics?format=" + value,
                            headers={"Accept": "text/plain"}), 400, "format")


def test_head_prometheus_has_the_headers_and_no_body(server):
    r = server.request("HEAD", "/metrics?format=prometheus")
    assert r.status == 200 and r.body == b""
    assert r.header("Content-Type") == PROM_TYPE


def test_bad_scope_still_400_with_the_new_parameters(server):
    assert_error(server.get("/metrics?scope=all&format=prometheus"), 400, "scope")
    assert_error(server.get("/metrics?scope=all&order_ids=true"), 400, "scope")


# -- mod_status -----------------------------------------------------------------

def test_server_status_auto_has_the_orders_lines_equal_to_metrics(server):
    place(server, 3)
    wait_settled(server)
    lines = status_auto(server)
    m = server.metrics()
    assert lines == {
        "OrdersTotal": str(m["total_orders"]),
        "OrdersPending": str(m["status_counts"]["Pending"]),
        "OrdersProcessing": str(m["status_counts"]["Processing"]),
        "OrdersCompleted": str(m["status_counts"]["Completed"]),
        "OrdersCancelled": str(m["status_counts"]["Cancelled"]),
        "OrdersQueueDepth": str(m["queue_depth"]),
        "OrdersWorkersBusy": str(m["workers_busy"]),
    }
    assert int(lines["OrdersCompleted"]) >= 3


def test_server_status_html_has_a_mod_orders_section(server):
    wait_settled(server)
    r = server.get("/server-status")
    assert r.status == 200, r
    html = r.body.decode()
    assert "<h2>mod_orders</h2>" in html
    section = html.split("<h2>mod_orders</h2>", 1)[1]
    m = server.metrics()
    for st in STATUSES:
        assert f"<th>{st}</th>" in section
    assert f"<td>{m['total_orders']}</td>" in section
    # Without tables too.
    r = server.get("/server-status?notable")
    assert r.status == 200 and "<h2>mod_orders</h2>" in r.body.decode()
    assert f"<dt>Completed</dt><dd>{m['status_counts']['Completed']}</dd>" \
        in r.body.decode()
