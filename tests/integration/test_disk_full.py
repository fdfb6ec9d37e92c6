"""SQLite on a full disk: the database directory is a small tmpfs that fills
up.  Writes are answered 503 with the cause logged once, the orders already
accepted stay intact and readable, and once space is freed orders are
accepted again without a restart; the database file passes
`PRAGMA integrity_check`."""
import errno
import os
import shutil
import subprocess
import time

import pytest

from orders_data import order
from orders_server import IS_ROOT, Server, assert_no_crash, wait_for

TMPFS_SIZE = "8m"
CHUNK = 64 * 1024
# Every row is made big (about 38 KB of item ids, under the module's 64 KiB
# body limit) so that the little room SQLite's WAL may still have is used up
# in a few dozen POSTs.
ITEMS_PER_ORDER = 600
# Bounds, never hopes: how many POSTs may go by before the first 503, and
# how many more are sent while the disk is full.
MAX_POSTS_UNTIL_FULL = 500
POSTS_WHILE_FULL = 15


# -- helpers ------------------------------------------------------------------

def large_items(order_id):
    """Item ids that make an order's row large (and its own)."""
    return [f"{order_id}-item-{i:04d}-" + "x" * 32 for i in range(ITEMS_PER_ORDER)]


def mount_tmpfs(path):
    """Mounts a small tmpfs on `path`; False if this machine does not allow it."""
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755",
                        "tmpfs", path], capture_output=True, text=True)
    return r.returncode == 0


def is_mountpoint(path):
    return subprocess.run(["mountpoint", "-q", path]).returncode == 0


def umount(path):
    """Unmounts `path`, retrying while something still holds it (a child
    that has not quite gone); lazily as the last resort so that no mount is
    ever left behind."""
    deadline = time.monotonic() + 10
    while is_mountpoint(path):
        if subprocess.run(["umount", path]).returncode == 0:
            continue
        if time.monotonic() > deadline:
            subprocess.run(["umount", "-l", path], check=True)
        time.sleep(0.2)


def fill(directory):
    """Writes a filler file into `directory` until the file system says
    ENOSPC; returns its path.  As root: tmpfs keeps no reserve for root, so
    the server's user gets no more room than we did."""
    path = os.path.join(directory, "filler")
    chunk = b"\0" * CHUNK
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            try:
                os.write(fd, chunk)
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    return path
                raise
    finally:
        os.close(fd)


def assert_unavailable(r):
    """A 503 as API clients are told to expect it: Retry-After and a JSON
    error."""
    assert r.status == 503, r
    assert r.header("Retry-After"), r.headers
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"], body


def status_of(server, order_id):
    r = server.get(f"/orders/{order_id}")
    assert r.status == 200, (order_id, r)
    return r.json()["status"]


def wait_completed(server, ids, timeout):
    """Every order of `ids` reaches Completed within `timeout` seconds."""
    pending = set(ids)

    def done():
        for order_id in list(pending):
            if status_of(server, order_id) == "Completed":
                pending.discard(order_id)
        return not pending
    wait_for(done, timeout, interval=0.2,
             what=f"{len(pending)} order(s) to be Completed")


def assert_readable(server, body):
    """GET answers the order with what was POSTed."""
    r = server.get(f"/orders/{body['order_id']}")
    assert r.status == 200, (body["order_id"], r)
    got = r.json()
    for key in ("order_id", "user_id", "item_ids", "total_amount"):
        assert got[key] == body[key], (body["order_id"], key, got[key])


def database_errors(server):
    """The error-level lines in which the module reports the database's
    first cause of an incident (ORD00013)."""
    return [line for line in server.read_log().splitlines()
            if ":error]" in line and "ORD00013" in line]


def stored_ids(server):
    return {row["order_id"] for row in server.sql("SELECT order_id FROM orders")}


# -- the fixture ----------------------------------------------------------------

@pytest.fixture
def small_disk_server():
    """A SQLite server whose db/ directory is an 8 MiB tmpfs of its own.
    Teardown stops httpd first (nothing may hold the mount), unmounts, and
    only then removes the directory, so that neither the mount nor the
    directory outlives the test, whether it passes or fails."""
    if not IS_ROOT:
        pytest.skip("mounting a tmpfs needs root")
    server = Server(driver="sqlite3", processing_time="0.2", recovery_interval="1")
    db_dir = os.path.dirname(server.db_path)
    try:
        if not mount_tmpfs(db_dir):
            pytest.skip("mount -t tmpfs is not allowed here")
        try:
            # The mount hides the directory render.sh gave to www-data.
            shutil.chown(db_dir, "www-data", "www-data")
            server.start()
            yield server
        finally:
            server.stop()
            umount(db_dir)
    finally:
        server.cleanup()


# -- the test -------------------------------------------------------------------

# The writer's batch on the full disk: the cause (disk full), once per
# child and incident.
@pytest.mark.orders_log("ORD00013")
def test_full_disk_answers_503_and_recovers_without_restart(small_disk_server):
    server = small_disk_server
    db_dir = os.path.dirname(server.db_path)
    accepted = {}       # order_id -> body, every order answered 202
    refused = []        # order_ids answered 503

    def place(order_id, n):
        # A large row; `n` makes its content its own.
        body = order(order_id, user_id=n % 97, item_ids=large_items(order_id),
                     total_amount=10.25 + n)
        r = server.post("/orders", body)
        # A full disk is "unavailable", never an internal error.
        assert r.status in (202, 503), (order_id, r)
        if r.status == 202:
            accepted[order_id] = body
        else:
            assert_unavailable(r)
            refused.append(order_id)
        return r.status

    # Orders accepted and processed while there is room.
    before = [f"before-{i}" for i in range(5)]
    for i, order_id in enumerate(before):
        assert place(order_id, i) == 202
    wait_completed(server, before, 15)

    filler = fill(db_dir)

    # The WAL may still have room for a few rows: keep placing orders until
    # the first refusal, then some more while the disk stays full.
    for i in range(MAX_POSTS_UNTIL_FULL):
        if place(f"full-{i}", 100 + i) == 503:
            break
    else:
        pytest.fail(f"{MAX_POSTS_UNTIL_FULL} POSTs on a full disk, none answered 503")
    for i in range(POSTS_WHILE_FULL):
        place(f"still-full-{i}", 1000 + i)
    assert len(refused) >= 10, (len(refused), "503s while the disk was full")

    # The cause is in the error_log, once per incident (a line for each of
    # the two children at most, and not one per refused order).
    logged = database_errors(server)
    errors = [line for line in logged if "disk full" in line]
    assert 1 <= len(errors) <= 3, (f"{len(refused)} answers 503; the ORD00013 "
                                   "error lines:", logged)

    # Nothing accepted was lost, and the disk is still full.
    for body in accepted.values():
        assert_readable(server, body)

    # Free the space; the same server accepts orders again by itself.
    os.unlink(filler)
    after = []

    def accepts_again():
        order_id = f"after-{len(after)}"
        after.append(order_id)
        return place(order_id, 2000 + len(after)) == 202
    wait_for(accepts_again, 10, interval=0.2, what="a 202 after the space was freed")
    # The last of `after` was accepted; some before it may have been refused.
    for i in range(3):
        order_id = f"after-more-{i}"
        assert place(order_id, 3000 + i) == 202
        after.append(order_id)
    # Every order ever accepted, also those the full disk kept from being
    # processed, reaches Completed (the recovery pass runs every second).
    wait_completed(server, list(accepted), 30)
    for body in accepted.values():
        assert_readable(server, body)

    # The database is sound, and holds exactly the accepted orders: nothing
    # of a refused order was half-written.
    assert server.sql("PRAGMA integrity_check") == [{"integrity_check": "ok"}]
    stored = stored_ids(server)
    assert stored & set(refused) == set(), "orders answered 503 were stored anyway"
    assert stored == set(accepted)
    for order_id in refused:
        assert server.get(f"/orders/{order_id}").status == 404, order_id

    assert_no_crash(server)
    print(f"\n{len(accepted)} orders accepted, {len(refused)} refused (503); "
          f"disk-full errors logged: {len(errors)}")
