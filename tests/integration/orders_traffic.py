"""Clients that keep placing and reading orders while a test breaks the
database underneath: each thread places an order, then reads one placed
before, in a loop, and retries an order answered 503 with the same body
(as a client told Retry-After would) until it is acknowledged.

Every answer is kept as a Record; a request that hangs past `timeout` or
whose connection breaks is status 0.
"""
import collections
import threading
import time

from orders_data import order
from orders_server import wait_for

Record = collections.namedtuple(
    "Record", "t0 kind status order_id t1 retry_after port")


class Traffic:
    """`clients` threads; client i talks to servers[i % len(servers)]."""

    def __init__(self, servers, clients, prefix="traffic", timeout=10,
                 back_off=0.05):
        self.servers = list(servers)
        self.prefix = prefix
        self.timeout = timeout
        self.back_off = back_off
        self.records = []
        self.acked = []             # order ids answered 202 or 200
        self.unsettled = []         # orders never acknowledged, at the end
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(clients)]

    def request(self, server, kind, method, path, body=None, order_id=None):
        t0 = time.monotonic()
        try:
            r = server.request(method, path, body=body, timeout=self.timeout)
            status, retry_after = r.status, r.header("Retry-After")
        except OSError:
            status, retry_after = 0, None
        rec = Record(t0, kind, status, order_id, time.monotonic(), retry_after,
                     server.port)
        with self.lock:
            self.records.append(rec)
            if kind == "post" and status in (200, 202):
                self.acked.append(order_id)
        return status

    def run(self, client):
        server = self.servers[client % len(self.servers)]
        n = 0
        pending = None      # an order not yet acknowledged: sent again
        while not self.stop.is_set():
            if pending is None:
                n += 1
                pending = order(f"{self.prefix}-{client}-{n}", user_id=client,
                                item_ids=[n], total_amount=1.25)
            status = self.request(server, "post", "POST", "/orders", pending,
                                  pending["order_id"])
            if status in (200, 202):
                pending = None
            with self.lock:
                known = (self.acked[-1 - (n % min(50, len(self.acked)))]
                         if self.acked else None)
            if known:
                self.request(server, "get", "GET", f"/orders/{known}",
                             order_id=known)
            if status == 503:
                time.sleep(self.back_off)   # the client's back-off
        # The order under way is settled before the client goes: a 202 that
        # is never retried after a 503 would leave its fate unknown.
        deadline = time.monotonic() + 30
        while pending is not None and time.monotonic() < deadline:
            if self.request(server, "post", "POST", "/orders", pending,
                            pending["order_id"]) in (200, 202):
                pending = None
            else:
                time.sleep(self.back_off)
        if pending is not None:
            with self.lock:
                self.unsettled.append(pending["order_id"])

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def answered(self, kind, status, after):
        """Times at which answers of `kind` with `status` came, after `after`."""
        with self.lock:
            return sorted(r.t1 for r in self.records
                          if r.kind == kind and r.status == status and r.t1 >= after)

    def first(self, kind, status, after):
        """When the first request of `kind` sent after `after` was answered
        `status`, by its start."""
        with self.lock:
            times = [r.t0 for r in self.records
                     if r.kind == kind and r.status == status and r.t0 >= after]
        return min(times) if times else None

    def wait_for_202_after(self, t, timeout):
        return wait_for(lambda: self.first("post", 202, t), timeout,
                        what="a 202 after the database answered again")

    def wait_acked(self, count, timeout):
        """Waits until `count` more orders are acknowledged than now."""
        with self.lock:
            want = len(self.acked) + count
        wait_for(lambda: len(self.acked) >= want, timeout,
                 what=f"{count} more orders acknowledged")
