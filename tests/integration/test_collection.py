"""The rest of the collection: list, cancel, populate, orders bound to
users."""
import base64
import os
import subprocess
import threading

import pytest

from orders_data import OMIT, order
from orders_server import MODDIR, wait_for


def place(server, order_id, user_id=1, path="/orders", **headers):
    r = server.post(path, order(order_id, user_id=user_id, item_ids=[1], total_amount=2.5),
                    headers=headers or None)
    assert r.status == 202, (r, server.read_log()[-3000:])
    return r


# -- list -------------------------------------------------------------------

def test_list_pages_through_every_order_oldest_first(server):
    ids = [f"list-{i:03d}" for i in range(25)]
    for i in ids:
        place(server, i, user_id="lister")
    seen, path = [], "/orders?user_id=lister&limit=10"
    while path:
        r = server.get(path)
        assert r.status == 200 and r.header("Content-Type") == "application/json", \
            (r, server.read_log()[-3000:])
        page = r.json()
        assert len(page["orders"]) <= 10
        seen += [o["order_id"] for o in page["orders"]]
        path = page["next"]
        assert path is None or path.startswith("/orders?")
    assert seen == ids


def test_list_stays_right_while_orders_are_added(server):
    first = [f"grow-a{i}" for i in range(30)]
    for i in first:
        place(server, i, user_id="grower")
    stop = threading.Event()
    added = []

    def add():
        n = 0
        while not stop.is_set():
            place(server, f"grow-b{n}", user_id="grower")
            added.append(f"grow-b{n}")
            n += 1
    t = threading.Thread(target=add)
    t.start()
    try:
        seen, path = [], "/orders?user_id=grower&limit=7"
        while path:
            page = server.get(path).json()
            seen += [o["order_id"] for o in page["orders"]]
            path = page["next"]
    finally:
        stop.set()
        t.join(30)
    assert len(seen) == len(set(seen)), "an order came twice"
    assert seen[:30] == first                      # none skipped, in order
    assert all(s.startswith("grow-b") for s in seen[30:])


def test_list_filters_by_status_and_user(server):
    place(server, "filt-1", user_id="filter-u")
    place(server, "filt-2", user_id="filter-v")
    wait_for(lambda: server.get("/orders/filt-1").json()["status"] == "Completed", 10)
    r = server.get("/orders?status=Completed&user_id=filter-u")
    assert [o["order_id"] for o in r.json()["orders"]] == ["filt-1"]
    assert all(o["status"] == "Completed"
               for o in server.get("/orders?status=Completed&limit=1000").json()["orders"])
    assert server.get("/orders?user_id=nobody-at-all").json() == {"orders": [], "next": None}


@pytest.mark.parametrize("query, names", [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=abc", "limit"),
    ("status=Shipped", "status"), ("after=xyz", "after"), ("after=-1", "after"),
    ("colour=red", "colour"), ("limit=5&limit=6", "limit"), ("limit", "value"),
    ("user_id=%ZZ", "escape"),
])
def test_list_rejects_bad_parameters(server, query, names):
    r = server.get("/orders?" + query)
    assert r.status == 400, (query, r)
    assert r.header("Content-Type") == "application/json"
    assert names in r.json()["error"]


def test_next_link_is_relative_to_the_mount(fresh):
    s = fresh(extra_conf="<Location /api/v1/orders>\n SetHandler orders\n</Location>\n").start()
    for i in range(3):
        place(s, f"mnt-{i}", path="/api/v1/orders")
    r = s.get("/api/v1/orders?limit=2")
    assert r.status == 200, (r, s.read_log()[-3000:])
    page = r.json()
    assert page["next"].startswith("/api/v1/orders?")
    assert [o["order_id"] for o in s.get(page["next"]).json()["orders"]] == ["mnt-2"]


# -- cancel -----------------------------------------------------------------

# One child with a queue of one: while the first order is Processing, every
# later one stays Pending until the recovery pass finds room.  One child, so
# that no second child's free queue takes them.
STUCK = ("OrdersQueueSize 1\n"
         "StartServers 1\nServerLimit 1\nMaxRequestWorkers 128\n")


def order_status(server, order_id):
    r = server.get(f"/orders/{order_id}")
    assert r.status == 200, (r, server.read_log()[-3000:])
    return r.json()["status"]


def test_cancel_pending_order_is_never_processed(fresh):
    s = fresh(processing_time="2", recovery_interval="1", extra_conf=STUCK).start()
    place(s, "hold-0")
    wait_for(lambda: order_status(s, "hold-0") == "Processing", 10,
             what="the first order to be claimed")
    assert s.metrics()["queue_depth"] == 1
    place(s, "hold-1")          # waits: the queue is full
    place(s, "to-cancel")       # waits too
    assert order_status(s, "hold-1") == "Pending"
    assert order_status(s, "to-cancel") == "Pending"

    r = s.request("DELETE", "/orders/to-cancel")
    assert r.status == 200, r
    assert r.json()["status"] == "Cancelled"
    again = s.request("DELETE", "/orders/to-cancel")
    assert again.status == 200 and again.json()["status"] == "Cancelled"

    m = s.metrics()
    assert m["status_counts"] == s.db_status_counts()
    assert m["status_counts"]["Cancelled"] == 1
    # Once hold-0 is done the recovery pass has room and takes the Pending
    # hold-1 through to Completed; the Cancelled order, older than hold-1's
    # completion by seconds, was never claimed.
    wait_for(lambda: order_status(s, "hold-1") == "Completed", 20,
             what="the recovery pass to take hold-1")
    assert order_status(s, "to-cancel") == "Cancelled"
    row = s.sql("SELECT started_us FROM orders WHERE order_id = 'to-cancel'")
    assert row[0]["started_us"] is None
    assert "to-cancel" not in s.completions()
    assert s.metrics()["status_counts"] == s.db_status_counts()


def test_cancel_processing_or_completed_is_409_and_unknown_404(server):
    place(server, "cancel-late")
    wait_for(lambda: server.get("/orders/cancel-late").json()["status"] == "Completed", 10)
    r = server.request("DELETE", "/orders/cancel-late")
    assert r.status == 409 and "Completed" in r.json()["error"]
    assert server.get("/orders/cancel-late").json()["status"] == "Completed"
    r = server.request("DELETE", "/orders/never-placed")
    assert r.status == 404 and r.header("Content-Type") == "application/json"


def test_cancel_processing_is_409(fresh):
    s = fresh(processing_time="30").start()
    place(s, "busy-one")
    wait_for(lambda: s.get("/orders/busy-one").json()["status"] == "Processing", 10)
    r = s.request("DELETE", "/orders/busy-one")
    assert r.status == 409 and "Processing" in r.json()["error"]


# -- populate ---------------------------------------------------------------

POPULATE = "<Location /orders>\n OrdersPopulate On\n</Location>\n"


def test_populate_is_404_where_not_enabled(server):
    r = server.post("/orders/populate", {"total_entries": 5})
    assert r.status == 404 and r.header("Content-Type") == "application/json"


def test_populate_creates_and_processes_orders(fresh):
    s = fresh(extra_conf=POPULATE).start()
    r = s.post("/orders/populate", {"total_entries": 300, "batch_id": "load-1"})
    assert r.status == 201, r
    assert r.json() == {"batch_id": "load-1", "total_entries": 300,
                        "success_count": 300, "failure_count": 0, "errors": []}
    ids = {row["order_id"] for row in s.sql("SELECT order_id FROM orders")}
    assert ids == {f"load-1-{n}" for n in range(1, 301)}
    wait_for(lambda: s.db_status_counts()["Completed"] == 300, 60, what="300 Completed")
    assert s.metrics()["status_counts"] == s.db_status_counts()

    again = s.post("/orders/populate", {"total_entries": 1, "batch_id": "load-1"})
    assert again.status == 409 and "load-1" in again.json()["error"]
    generated = s.post("/orders/populate", {"total_entries": 2}).json()
    assert generated["success_count"] == 2 and generated["batch_id"]


@pytest.mark.parametrize("body, field", [
    ({"total_entries": 0}, "total_entries"), ({"total_entries": 100001}, "total_entries"),
    ({"total_entries": "5"}, "total_entries"), ({}, "total_entries"),
    ({"total_entries": 5, "batch_id": "a/b"}, "batch_id"),
    ({"total_entries": 5, "batch_id": "x" * 58}, "batch_id"),
    ({"total_entries": 5, "extra": 1}, "extra"),
])
def test_populate_rejects_bad_bodies(fresh, body, field):
    s = fresh(extra_conf=POPULATE).start()
    r = s.post("/orders/populate", body)
    assert r.status == 400, r
    assert field in r.json()["error"]
    assert s.sql("SELECT COUNT(*) AS n FROM orders")[0]["n"] == 0


# -- orders bound to users ----------------------------------------------------

def bound_conf(htpasswd):
    return f"""
LoadModule authn_core_module  {MODDIR}/mod_authn_core.so
LoadModule authn_file_module  {MODDIR}/mod_authn_file.so
LoadModule auth_basic_module  {MODDIR}/mod_auth_basic.so
LoadModule authz_user_module  {MODDIR}/mod_authz_user.so
<Location /orders>
    OrdersBindUser On
    AuthType Basic
    AuthName "orders"
    AuthBasicProvider file
    AuthUserFile "{htpasswd}"
    Require valid-user
</Location>
"""


def auth(user):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:pw-{user}".encode()).decode()}


# A login name no user_id can be (over 64 characters).
LONG_USER = "u" * 65


@pytest.fixture
def bound(fresh):
    """A server whose /orders needs Basic auth (alice, bob, and LONG_USER)
    and binds orders to the user; the password file lives in the server's
    own directory, where its children can read it."""
    s = fresh()
    htpasswd = os.path.join(s.dir, "htpasswd")
    for i, user in enumerate(["alice", "bob", LONG_USER]):
        subprocess.run(["htpasswd", "-b"] + (["-c"] if i == 0 else []) +
                       [htpasswd, user, f"pw-{user}"], check=True, capture_output=True)
    os.chmod(htpasswd, 0o644)
    s.extra_conf = bound_conf(htpasswd)
    s.render()
    return s.start()


def test_bound_orders_belong_to_the_signed_in_user(bound):
    s = bound
    r = s.post("/orders", order("alice-1", user_id=OMIT, item_ids=[1], total_amount=1),
               headers=auth("alice"))
    assert r.status == 202, r
    assert r.json()["user_id"] == "alice"
    r = s.post("/orders", order("alice-2", user_id="alice", item_ids=[1], total_amount=1),
               headers=auth("alice"))
    assert r.status == 202, r
    r = s.post("/orders", order("bob-as-alice", user_id="alice", item_ids=[1], total_amount=1),
               headers=auth("bob"))
    assert r.status == 403 and "user_id" in r.json()["error"]
    place(s, "bob-1", user_id="bob", **auth("bob"))

    assert s.get("/orders/alice-1", headers=auth("alice")).status == 200
    assert s.get("/orders/alice-1", headers=auth("bob")).status == 404
    assert s.request("DELETE", "/orders/alice-1", headers=auth("bob")).status == 404
    mine = s.get("/orders", headers=auth("bob")).json()["orders"]
    assert [o["order_id"] for o in mine] == ["bob-1"]
    assert s.get("/orders?user_id=alice", headers=auth("bob")).json()["orders"] == []
    assert s.get("/orders/alice-1").status == 401      # Apache's own Basic auth
    assert s.sql("SELECT COUNT(*) AS n FROM orders WHERE order_id = 'bob-as-alice'")[0]["n"] == 0


def test_a_login_name_that_is_no_user_id_is_refused(bound):
    r = bound.post("/orders", order("long-1", user_id=OMIT, item_ids=[1], total_amount=1),
                   headers=auth(LONG_USER))
    assert r.status == 403 and "user name" in r.json()["error"], r
    assert bound.sql("SELECT COUNT(*) AS n FROM orders")[0]["n"] == 0

