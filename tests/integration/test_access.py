"""The sample configuration keeps the operators' endpoints (/metrics,
/server-status, populate) to this machine, and the API open.

Every request here goes over loopback; a remote client is simulated with
mod_remoteip, which takes the client address from X-Forwarded-For when the
connection comes from the trusted proxy 127.0.0.1."""
import pytest

from orders_data import order
from orders_server import MODDIR

REMOTE = {"X-Forwarded-For": "203.0.113.5"}
AS_BEHIND_PROXY = (f"LoadModule remoteip_module {MODDIR}/mod_remoteip.so\n"
                   "RemoteIPHeader X-Forwarded-For\n"
                   "RemoteIPInternalProxy 127.0.0.1\n"
                   # Turned on below the sample's own <Location>, which keeps
                   # its `Require local`.
                   "<Location /orders/populate>\n OrdersPopulate On\n</Location>\n")


@pytest.fixture(scope="module")
def proxied(request):
    from conftest import _server_for
    s = _server_for(request, "sqlite3", extra_conf=AS_BEHIND_PROXY).start()
    yield s
    s.cleanup()


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/metrics", None),
    ("GET", "/metrics?format=prometheus", None),
    ("GET", "/server-status", None),
    ("GET", "/server-status?auto", None),
    ("POST", "/orders/populate", {"total_entries": 5, "batch_id": "from-afar"}),
])
def test_operator_endpoints_refuse_remote_clients(proxied, method, path, body):
    r = proxied.request(method, path, body=body, headers=REMOTE)
    assert r.status == 403, r
    assert proxied.sql("SELECT count(*) AS n FROM orders WHERE order_id LIKE 'from-afar%'")[0]["n"] == 0


def test_operator_endpoints_answer_this_machine(proxied):
    assert proxied.get("/metrics").status == 200
    assert proxied.get("/server-status?auto").status == 200
    r = proxied.post("/orders/populate", {"total_entries": 5, "batch_id": "from-here"})
    assert r.status == 201, r
    assert proxied.sql("SELECT count(*) AS n FROM orders WHERE order_id LIKE 'from-here%'")[0]["n"] == 5


def test_the_api_stays_open_to_remote_clients(proxied):
    # A user populate's random orders (users 1-1000) never have.
    body = order("remote-1", user_id=100009, item_ids=[1], total_amount=4.25)
    r = proxied.post("/orders", body, headers=REMOTE)
    assert r.status == 202, r
    r = proxied.get("/orders/remote-1", headers=REMOTE)
    assert r.status == 200 and r.json()["total_amount"] == 4.25
    r = proxied.get("/orders?user_id=100009", headers=REMOTE)
    assert r.status == 200 and [o["order_id"] for o in r.json()["orders"]] == ["remote-1"]


def test_a_nested_location_does_not_move_the_mount(proxied):
    # /orders/populate has a <Location> of its own (for Require): the
    # collection is still mounted at /orders, so populate is populate and
    # an order id "populate" is still reachable by GET.
    r = proxied.post("/orders/populate", {"total_entries": 2, "batch_id": "nested"})
    assert r.status == 201 and r.json()["batch_id"] == "nested", r
    r = proxied.get("/orders/nested-1")
    assert r.status == 200 and r.json()["order_id"] == "nested-1"
