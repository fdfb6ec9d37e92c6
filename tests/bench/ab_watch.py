#!/usr/bin/env python3
"""What the statement watch (OrdersDatabaseTimeout) costs, on PostgreSQL and
MariaDB: the module of BENCH_BASE (default 0b682fc, the commit before the
watch) and today's, each on a server of its own against the same private
database server, alternating, two rounds; POST and GET at 100 connections
for 5 s, each as a ratio to the static file of its own server in the same
run.  Prints one line per server; writes nothing.

    make && python3 tests/bench/ab_watch.py
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("BENCH_BASE", "0b682fc")
import bench  # noqa: E402
from orders_server import Server  # noqa: E402
from pg_server import PostgresServer  # noqa: E402
from mariadb_server import MariaDBServer  # noqa: E402

old, why = bench.base_module()
assert old, why
new = os.path.join(bench.TOP, "mod_orders", ".libs", "mod_orders.so")
D = 5
for db in ("pgsql", "mysql"):
    dbs = PostgresServer().start() if db == "pgsql" else MariaDBServer().start()
    key = {"pg": dbs} if db == "pgsql" else {"my": dbs}
    try:
        for rnd in range(2):
            for label, mod in (("before the watch (0b682fc)", old), ("with the watch", new)):
                s = Server(driver=db, **key, processing_time="2", recovery_interval="10",
                           extra_conf=bench.POPULATE)
                s.env["ORDERS_LOGLEVEL"] = "warn"; s.env["ORDERS_MODULE"] = mod; s.render()
                try:
                    s.start()
                    assert s.post("/orders/populate", {"total_entries": bench.ORDERS, "batch_id": "bench"}).status == 201
                    bench.wrk(s, "/static.txt", 100, 2)
                    st = bench.wrk(s, "/static.txt", 100, D)
                    bench.wrk(s, "/orders", 100, 2, "post_order.lua")
                    po = bench.wrk(s, "/orders", 100, D, "post_order.lua")
                    ge = bench.wrk(s, "/orders", 100, D, "get_order.lua")
                    print(f"{db} round {rnd+1} {label:28} static {st['rps']:8.0f}  POST {po['rps']:7.0f} ({po['rps']/st['rps']:.2f}, p99 {po['p99']:.1f} ms)  GET {ge['rps']:7.0f} ({ge['rps']/st['rps']:.2f}, p99 {ge['p99']:.1f} ms)  non-2xx {po['non2xx']}/{ge['non2xx']}", flush=True)
                finally:
                    s.cleanup()
    finally:
        dbs.cleanup()
