"""Finished orders (Completed, Cancelled) are answered from the child's
memory once read (OrdersCacheEntries): the same body and ETag as from the
database, 304 alike, still answered while the database is away, where an
unfinished order answers 503; with OrdersCacheEntries 0 every read asks the
database; a bound user still sees only their own."""
import os
import subprocess

import pytest

from orders_data import order
from orders_server import wait_for
from test_collection import auth, bound_conf

# One child, so that the read that keeps an answer and the reads that find
# it are served by the same memory.
ONE_CHILD = "StartServers 1\nServerLimit 1\nMaxRequestWorkers 128\n"


def place(server, order_id, **headers):
    r = server.post("/orders", order(order_id, user_id=7, item_ids=[1, "b"],
                                     total_amount=12.5),
                    headers=headers or None)
    assert r.status == 202, (r, server.read_log()[-3000:])


def completed(server, order_id, **headers):
    """The 200 of order_id once it reads Completed."""
    found = {}

    def done():
        r = server.get(f"/orders/{order_id}", headers=headers or None)
        assert r.status == 200, r
        found["r"] = r
        return r.json()["status"] == "Completed"
    wait_for(done, 30, what=f"{order_id} Completed")
    return found["r"]


# The database away: a read of the unfinished order (ORD00054), the job's
# completion of it (ORD00013 and the retry's ORD00010), the first failure of
# each kind and the recovery pass's (ORD00015, ORD00021, ORD00023).
@pytest.mark.orders_log("ORD00010", "ORD00013", "ORD00015", "ORD00021",
                        "ORD00023", "ORD00054")
@pytest.mark.parametrize("entries, finished_answers", [(None, 200), ("0", 503)],
                         ids=["cache on", "OrdersCacheEntries 0"])
def test_a_finished_order_read_once_needs_no_database(own_db, entries, finished_answers):
    conf = ONE_CHILD + (f"OrdersCacheEntries {entries}\n" if entries else "")
    s = own_db.server(processing_time="3", recovery_interval="60", extra_conf=conf).start()
    try:
        place(s, "cache-done")
        first = completed(s, "cache-done")
        place(s, "cache-busy")
        assert s.get("/orders/cache-busy").json()["status"] in ("Pending", "Processing")

        own_db.stop()
        again = s.get("/orders/cache-done")
        assert again.status == finished_answers, (again, s.read_log()[-2000:])
        if finished_answers == 200:
            # The same answer as the database gave, headers and all.
            assert again.body == first.body
            for h in ("ETag", "Content-Type", "Cache-Control"):
                assert again.header(h) == first.header(h), h
            assert again.header("Request-Id") != first.header("Request-Id")
            r = s.get("/orders/cache-done", headers={"If-None-Match": first.header("ETag")})
            assert r.status == 304 and r.header("ETag") == first.header("ETag"), r
            assert s.get("/orders/cache-done",
                         headers={"If-None-Match": '"other"'}).status == 200
        # An order that may still change is read from the database: away.
        busy = s.get("/orders/cache-busy")
        assert busy.status == 503 and busy.header("Retry-After"), busy
        # An unknown id is never taken for a kept one.
        assert s.get("/orders/cache-don").status == 503
    finally:
        own_db.start()
        s.cleanup()


def test_a_bound_user_sees_a_kept_order_of_their_own_only(fresh):
    s = fresh(processing_time="0", extra_conf=ONE_CHILD)
    htpasswd = os.path.join(s.dir, "htpasswd")
    for i, user in enumerate(["alice", "bob"]):
        subprocess.run(["htpasswd", "-b"] + (["-c"] if i == 0 else []) +
                       [htpasswd, user, f"pw-{user}"], check=True, capture_output=True)
    os.chmod(htpasswd, 0o644)
    s.extra_conf = ONE_CHILD + bound_conf(htpasswd)
    s.render()
    s.start()
    r = s.post("/orders", order("alice-kept", user_id="alice", item_ids=[1], total_amount=1),
               headers=auth("alice"))
    assert r.status == 202, r
    first = completed(s, "alice-kept", **auth("alice"))
    # Read twice more by each: kept after the first read, the answers stay.
    for _ in range(2):
        r = s.get("/orders/alice-kept", headers=auth("alice"))
        assert r.status == 200 and r.body == first.body, r
        r = s.get("/orders/alice-kept", headers=auth("bob"))
        assert r.status == 404, r
        assert r.json()["error"] == "no order has that order_id"
