#!/usr/bin/env python3
"""The benchmark behind `make bench` (DB=sqlite3, DB=pgsql or DB=mysql).

Starts the private server with the configuration of `make run` (SQLite WAL
with synchronous=FULL, or a private PostgreSQL with synchronous_commit=on),
then, with wrk on loopback, in one run: (a) GET of a 200-byte static file,
(b) POST /orders (a unique order per request), (c) GET /orders/{id} of
existing orders, (d) GET /metrics; each at 100 and 1,000 connections for
DURATION seconds after a warm-up.  Every figure is also given as a ratio to
(a) at the same number of connections.  Then: the time for 1,000 orders
placed at once to all reach Completed, /metrics latency with 10^3 and 10^6
orders stored, and the children's resident memory before and after 10^6
orders.  Last, POST at 100 connections on three servers of their own, each
against its static file: the module of BENCH_BASE (the code before the
events outbox), today's (every transition also writes its event), and
today's with a webhook to a fast receiver on loopback (receiver.c).
Writes tests/bench/RESULTS.md.
"""
import datetime
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from orders_server import Server, concurrent_posts, wait_for  # noqa: E402
from pg_server import PostgresServer  # noqa: E402
from mariadb_server import MariaDBServer  # noqa: E402

DB = os.environ.get("DB", "sqlite3")
# Whose processes are the database server's, for the CPU per request.
DB_USER = {"pgsql": "postgres", "mysql": "mysql"}
# The private database server of DB=pgsql or DB=mysql, as Server's keyword.
DB_SERVER = {}
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
BIG = int(os.environ.get("BENCH_BIG_ORDERS", "1000000"))
ORDERS = 10000          # stored for (c)
PACE_MS = 500           # 1,000 paced connections offer about 2,000 req/s
CHUNK = 10000           # orders per populate request in the memory phase
WARM_POPULATES = 8      # before the first memory reading
POPULATE = "<Location /orders>\n    OrdersPopulate On\n</Location>\n"
# The last commit before the events outbox (issue 10's structure).
BASE = os.environ.get("BENCH_BASE", "d9d13b2")
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


def machine_busy_ticks():
    """CPU time of the whole machine so far, idle and iowait left out."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    return f[0] + f[1] + f[2] + f[5] + f[6] + f[7]


def process_ticks(pids):
    """User and system CPU time of `pids` (those still there)."""
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def user_pids(user):
    """The processes of `user` (the database server's, all its backends)."""
    import pwd
    uid = pwd.getpwnam(user).pw_uid
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.stat(f"/proc/{d}").st_uid == uid:
                    pids.append(int(d))
            except OSError:
                pass
    return pids


class CpuMeter:
    """CPU per request over one wrk run, by /proc: the whole machine, the
    Apache children, the database server's processes (DB_USER), and wrk
    (as a child of this process); with perf stat on the Apache children
    for their task-clock and context switches, as in the first round."""

    def __init__(self, server):
        self.server = server

    def __enter__(self):
        import resource
        self.children = self.server.children()
        self.db = user_pids(DB_USER[DB]) if DB_USER.get(DB) else []
        self.perf = None
        if shutil.which("perf"):
            self.perf = subprocess.Popen(
                ["perf", "stat", "-x,", "-e", "task-clock,context-switches",
                 "-p", ",".join(map(str, self.children))],
                stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.t0 = (machine_busy_ticks(), process_ticks(self.children),
                   process_ticks(self.db),
                   resource.getrusage(resource.RUSAGE_CHILDREN))
        return self

    def __exit__(self, *exc):
        import resource
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        db_now = set(self.db) | set(user_pids(DB_USER[DB]) if DB_USER.get(DB) else [])
        self.t1 = (machine_busy_ticks(), process_ticks(self.children),
                   process_ticks(self.db) + process_ticks(db_now - set(self.db)), ru)
        self.perf_stat = {}
        if self.perf:
            self.perf.send_signal(2)
            _, err = self.perf.communicate(10)
            for line in err.splitlines():
                parts = line.split(",")
                if len(parts) > 2 and parts[0].replace(".", "").isdigit():
                    self.perf_stat[parts[2]] = float(parts[0])

    def per_request(self, requests):
        """Microseconds of CPU per request: machine, apache, database, wrk,
        and perf's apache task-clock and context switches per request."""
        r0, r1 = self.t0[3], self.t1[3]
        wrk_us = ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) * 1e6
        out = {
            "machine": (self.t1[0] - self.t0[0]) * TICK_US / requests,
            "apache": (self.t1[1] - self.t0[1]) * TICK_US / requests,
            "database": (self.t1[2] - self.t0[2]) * TICK_US / requests,
            "wrk": wrk_us / requests,
        }
        if "task-clock" in self.perf_stat:
            out["perf_apache"] = self.perf_stat["task-clock"] * 1000 / requests
            out["perf_cs"] = self.perf_stat.get("context-switches", 0) / requests
        return out


def wrk(server, path, conns, seconds, script=None, pace_ms=0):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        cmd += ["-s", os.path.join(HERE, script)]
    cmd.append(f"http://127.0.0.1:{server.port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True,
                         env=dict(os.environ, BENCH_ORDERS=str(ORDERS),
                                  BENCH_PACE_MS=str(pace_ms))).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": pct(50), "p99": pct(99), "requests": total,
            "non2xx": int(errors.group(1)) if errors else 0,
            "socket": sock.group(1) if sock else "none",
            "sockerr": sum(int(n) for n in re.findall(r"\d+", sock.group(1))) if sock else 0,
            "cmd": (f"BENCH_PACE_MS={pace_ms} " if pace_ms else "") + " ".join(cmd)}


def settle(server, limit=120):
    """Waits (polling /metrics, `limit` s at most) until no order is
    Pending or Processing: the orders of the phase before are processed
    before the next phase is measured, rather than in it.  The seconds it
    took, or None when the limit passed first."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        counts = server.metrics()["status_counts"]
        if counts["Pending"] + counts["Processing"] == 0:
            return time.monotonic() - start
        time.sleep(0.1)
    return None


def server_side_ms(log):
    """p50, p99 and max of the %D times (us) in an access log, in ms."""
    times = sorted(int(line.split()[1]) for line in open(log) if line.strip())
    return (times[len(times) // 2] / 1000, times[int(len(times) * 0.99)] / 1000,
            times[-1] / 1000)


def children_rss(server):
    """Resident memory of each child, in KiB, by pid."""
    rss = {}
    for pid in server.children():
        with open(f"/proc/{pid}/status") as f:
            rss[pid] = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    return rss


def mib(rss):
    each = " + ".join(f"{kb / 1024:.1f}" for _, kb in sorted(rss.items()))
    return f"{sum(rss.values()) / 1024:.1f} MiB ({each})"


def populate(server, total, batch, chunk=100000):
    left, n = total, 0
    while left > 0:
        take = min(left, chunk)
        r = server.post("/orders/populate", {"total_entries": take, "batch_id": f"{batch}{n}"},
                        timeout=600)
        assert r.status == 201, r
        left -= take
        n += 1


def base_module():
    """The module of BASE, built apart under build/ from `git archive`
    (None, with the reason, when that cannot be done here)."""
    where = os.path.join(TOP, "build", f"bench-base-{BASE}")
    module = os.path.join(where, "mod_orders", ".libs", "mod_orders.so")
    if os.path.exists(module):
        return module, None
    shutil.rmtree(where, ignore_errors=True)
    os.makedirs(where)
    archive = subprocess.run(["git", "-C", TOP, "archive", BASE], capture_output=True)
    if archive.returncode != 0:
        return None, f"git archive {BASE}: {archive.stderr.decode().strip()}"
    subprocess.run(["tar", "-x", "-C", where], input=archive.stdout, check=True)
    built = subprocess.run(["make", "-C", where, "all"], capture_output=True, text=True)
    if built.returncode != 0:
        return None, f"building {BASE} failed: {built.stdout[-500:]}{built.stderr[-500:]}"
    return module, None


def start_receiver():
    """build/receiver (tests/bench/receiver.c, built by make bench) on a
    free loopback port, once it accepts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([os.path.join(TOP, "build", "receiver"), str(port)],
                            stdout=subprocess.PIPE, text=True)

    def accepts():
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return True
        except OSError:
            return False
    wait_for(accepts, 10, what="the receiver")
    return proc, port


def stop_receiver(proc):
    """Stops it by its PID; what it received."""
    proc.terminate()
    out, _ = proc.communicate(10)
    return int(out.strip() or 0)


def quiet_postgres(server):
    """Before a measurement on the run's PostgreSQL, which holds the earlier
    phases' databases: a CHECKPOINT, then no autovacuum worker (15 s at
    most), so that their writing out is not measured with this one."""
    pg = DB_SERVER.get("pg")
    if not pg:
        return
    pg.execute(server.dbname, "CHECKPOINT")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and pg.query(
            server.dbname, "SELECT pid FROM pg_stat_activity "
            "WHERE backend_type = 'autovacuum worker'"):
        time.sleep(0.2)


def events_phase(rows, notes):
    """POST before the outbox, with it, and with a webhook, each against
    the static file of its own server, in this run."""
    module, why = base_module() if DB != "mysql" else (
        None, f"{BASE} has no MariaDB/MySQL driver")
    if module is None:
        notes.append(f"POST before the outbox: not measured ({why}).")
    receiver, port = start_receiver()
    hook = (f"OrdersWebhookURL http://127.0.0.1:{port}/hooks\n"
            f"OrdersWebhookSecret {SECRET}\nOrdersWebhookTimeout 2\n")
    variants = [(f"before the outbox ({BASE})", module, ""),
                ("events on, no webhook", None, ""),
                ("events on, webhook to a local receiver", None, hook)]
    post_ratio = {}
    try:
        for label, with_module, conf in variants:
            if label.startswith("before") and with_module is None:
                continue
            s = Server(driver=DB, **DB_SERVER, processing_time="2", recovery_interval="10",
                       extra_conf=conf)
            s.env["ORDERS_LOGLEVEL"] = "warn"
            if with_module:
                s.env["ORDERS_MODULE"] = with_module
            s.render()
            try:
                s.start()
                quiet_postgres(s)
                wrk(s, "/static.txt", 100, 2)
                static = wrk(s, "/static.txt", 100, DURATION)
                wrk(s, "/orders", 100, 2, "post_order.lua")
                sent = s.metrics().get("webhooks", {}).get("delivered", 0)
                post = wrk(s, "/orders", 100, DURATION, "post_order.lua")
                figures = s.metrics().get("webhooks")
                post_ratio[label] = post["rps"] / static["rps"]
                for name, res in ((f"static file ({label})", static),
                                  (f"POST /orders, {label}", post)):
                    res.update(name=name, conns=100, ratio=res["rps"] / static["rps"])
                    rows.append(res)
                    print(f"{name:60} {res['rps']:9.0f} req/s  p99 {res['p99']:8.2f} ms  "
                          f"ratio {res['ratio']:.2f}  non-2xx {res['non2xx']}", flush=True)
                if conf:
                    # What is left is delivered after the load: how long
                    # that takes, looked at twice a second for 30 s.
                    t_end, drained, left = time.monotonic(), None, figures["pending"]
                    while time.monotonic() - t_end < 30:
                        left = s.metrics()["webhooks"]["pending"]
                        if left == 0:
                            drained = time.monotonic() - t_end
                            break
                        time.sleep(0.5)
                    after = (f"all delivered {drained:.1f} s after the load" if drained
                             is not None else f"{left:,} still pending 30 s after the load")
                    notes.append(
                        f"With the webhook: {figures['delivered'] - sent:,} events delivered "
                        f"while POST ran for {DURATION} s "
                        f"({(figures['delivered'] - sent) / DURATION:.0f}/s),"
                        f" {figures['pending']:,} pending at its end, the oldest "
                        f"{figures['oldest_pending_seconds']:.1f} s old; {after} "
                        f"(target: none pending 30 s after).")
            finally:
                s.cleanup()
    finally:
        received = stop_receiver(receiver)
    notes.append(f"The receiver answered {received:,} deliveries 204 in all.")
    plain, hooked = (post_ratio.get("events on, no webhook"),
                     post_ratio.get("events on, webhook to a local receiver"))
    if plain and hooked:
        notes.append(f"POST with the webhook is {hooked / plain:.2f} of POST without it "
                     f"(each as its ratio to its own static file; target 0.85).")


def main():
    pg = PostgresServer().start() if DB == "pgsql" else None
    my = MariaDBServer().start() if DB == "mysql" else None
    if pg:
        DB_SERVER["pg"] = pg
    elif my:
        DB_SERVER["my"] = my
    server = Server(driver=DB, **DB_SERVER, processing_time="2", recovery_interval="10",
                    extra_conf=POPULATE)
    server.env["ORDERS_LOGLEVEL"] = "warn"
    server.render()
    rows, notes = [], []
    try:
        server.start()
        r = server.post("/orders/populate", {"total_entries": ORDERS, "batch_id": "bench"})
        assert r.status == 201, r
        settled = []     # how long each phase waited for the one before
        cases = [("static file", "/static.txt", None), ("POST /orders", "/orders", "post_order.lua"),
                 ("GET /orders/{id}", "/orders", "get_order.lua"), ("GET /metrics", "/metrics", None)]
        for conns in (100, 1000):
            base = None
            for name, path, script in cases:
                waited = settle(server)
                settled.append(f"{name} at {conns:,}: " + (f"{waited:.1f} s" if waited is not None
                                                          else "not within 120 s"))
                wrk(server, path, conns, 2, script)           # warm-up
                if conns == 100:
                    with CpuMeter(server) as meter:
                        res = wrk(server, path, conns, DURATION, script)
                    res["cpu"] = meter.per_request(res["requests"])
                else:
                    res = wrk(server, path, conns, DURATION, script)
                base = base or res["rps"]
                res.update(name=name, conns=conns, ratio=res["rps"] / base)
                rows.append(res)
                print(f"{name:18} c={conns:<5} {res['rps']:9.0f} req/s  p50 {res['p50']:7.2f} ms"
                      f"  p99 {res['p99']:8.2f} ms  ratio {res['ratio']:.2f}  non-2xx {res['non2xx']}",
                      flush=True)
        server.stop()
        notes.append("Each phase waited until no order was Pending or Processing (the orders "
                     "of the phase before processed, the populate's before the first): "
                     + "; ".join(settled) + ".")

        # At 1,000 connections wrk keeps every connection busy, so by
        # Little's law the mean latency is 1,000 / (req/s) whatever the
        # server does: even the static file's p50 is tens of ms.  The paced
        # runs below offer 1,000 connections a load the server can carry
        # (each waits PACE_MS between requests), on a server of their own
        # that logs Apache's own time per request (%D), so that what the
        # service takes can be told from what wrk, sharing the two cores,
        # adds.
        timed = Server(driver=DB, **DB_SERVER, processing_time="2", recovery_interval="10",
                       extra_conf='LogFormat "%m %D" timed\n')
        timed.extra_conf += f'CustomLog "{timed.dir}/log/timed" timed\n'
        timed.env["ORDERS_LOGLEVEL"] = "warn"
        timed.render()
        try:
            timed.start()
            for name, path, script in (("static file", "/static.txt", "pace.lua"),
                                       ("POST /orders", "/orders", "post_order.lua")):
                wrk(timed, path, 1000, 2, script, pace_ms=PACE_MS)
                open(f"{timed.dir}/log/timed", "w").close()   # the measured run only
                res = wrk(timed, path, 1000, DURATION, script, pace_ms=PACE_MS)
                apache = server_side_ms(f"{timed.dir}/log/timed")
                res.update(name=f"{name}, paced {PACE_MS} ms", conns=1000, ratio=float("nan"))
                rows.append(res)
                notes.append(f"{name} on 1,000 connections paced at {PACE_MS} ms "
                             f"({res['rps']:.0f} req/s): wrk saw p50 {res['p50']:.2f} ms, "
                             f"p99 {res['p99']:.2f} ms; Apache's own time (%D) p50 "
                             f"{apache[0]:.2f} ms, p99 {apache[1]:.2f} ms, max {apache[2]:.2f} ms.")
                print(notes[-1], flush=True)
        finally:
            timed.cleanup()

        # 1,000 orders at once, on a fresh server, until all are Completed.
        burst = Server(driver=DB, **DB_SERVER, processing_time="2", recovery_interval="10")
        burst.env["ORDERS_LOGLEVEL"] = "warn"
        burst.render()
        try:
            burst.start()
            t0 = time.monotonic()
            res = concurrent_posts(burst.port, [{"order_id": f"burst-{i}", "user_id": i,
                                                 "item_ids": [i], "total_amount": 1.5}
                                                for i in range(1000)])
            accepted = time.monotonic() - t0
            assert {s for s, _, _ in res} == {202}
            wait_for(lambda: burst.db_status_counts()["Completed"] == 1000, 120, interval=0.01)
            done = time.monotonic() - t0
            notes.append(f"1,000 orders on 1,000 simultaneous connections: all 202 after "
                         f"{accepted:.2f} s, all Completed {done:.2f} s after the first was "
                         f"sent (processing time 2 s; target 3 s).")
        finally:
            burst.cleanup()

        # /metrics at 10^3 and 10^6 orders, and memory across 10^6 orders.
        big = Server(driver=DB, **DB_SERVER, processing_time="2", recovery_interval="3600",
                     extra_conf=POPULATE + "OrdersQueueSize 1000\n")
        big.env["ORDERS_LOGLEVEL"] = "warn"
        big.render()
        try:
            big.start()
            populate(big, 1000, "small")
            small = wrk(big, "/metrics", 100, 5)
            # Warm-up before the first reading: every child serves orders
            # and populate requests of the size used below, so that each has
            # its threads, connections and allocators at their working size;
            # what is measured after it is what the stored orders cost.
            wrk(big, "/orders", 100, 3, "post_order.lua")
            for i in range(WARM_POPULATES):
                populate(big, CHUNK, f"warm{i}-", chunk=CHUNK)
            stored_before = sum(big.db_status_counts().values())
            rss_before = children_rss(big)
            t0 = time.monotonic()
            first = min(BIG, 100000)
            populate(big, first, "first", chunk=CHUNK)
            rss_first = children_rss(big)
            populate(big, BIG - first, "big", chunk=CHUNK)
            loaded = time.monotonic() - t0
            large = wrk(big, "/metrics", 100, 5)
            rss_after = children_rss(big)
            notes.append(f"/metrics with 10^3 orders: {small['rps']:.0f} req/s, p50 "
                         f"{small['p50']:.2f} ms, p99 {small['p99']:.2f} ms; with "
                         f"{BIG:,} more: {large['rps']:.0f} req/s, p50 {large['p50']:.2f} ms, "
                         f"p99 {large['p99']:.2f} ms ({BIG:,} orders stored through populate in "
                         f"{loaded:.0f} s, {CHUNK:,} per request).")
            before, after = sum(rss_before.values()), sum(rss_after.values())
            notes.append(f"Children's resident memory, after a warm-up (3 s of POST, {WARM_POPULATES} "
                         f"populate requests of {CHUNK:,}; {stored_before:,} orders stored): "
                         f"{mib(rss_before)}; after {first:,} more: {mib(rss_first)}; after "
                         f"{BIG:,} more: {mib(rss_after)} "
                         f"({(after - before) * 100 / before:+.1f} % in all).")
        finally:
            big.cleanup()

        events_phase(rows, notes)
    finally:
        server.cleanup()
        for db in (pg, my):
            if db:
                db.cleanup()
    write_results(rows, notes)


def write_results(rows, notes):
    cpu = "unknown"
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read()).group(1)
    except (OSError, AttributeError):
        pass
    path = os.path.join(HERE, "RESULTS.md")
    old = open(path).read() if os.path.exists(path) else ""
    marker = f"<!-- {DB} -->"
    section = [marker, f"## {DB} — {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC", "",
               f"Machine: {os.cpu_count()} cores ({cpu}), {platform.platform()}. "
               f"Command: `make bench DB={DB}` (wrk -t2, {DURATION} s per figure after a 2 s "
               f"warm-up, server and wrk on the same machine).", "",
               "| request | connections | req/s | p50 ms | p99 ms | ratio to static | non-2xx "
               "| socket errors |",
               "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        ratio = "-" if r["ratio"] != r["ratio"] else f"{r['ratio']:.2f}"   # NaN: paced
        section.append(f"| {r['name']} | {r['conns']} | {r['rps']:.0f} | {r['p50']:.2f} | "
                       f"{r['p99']:.2f} | {ratio} | {r['non2xx']} | {r['sockerr']} |")
    measured = [r for r in rows if "cpu" in r]
    if measured:
        section += ["", "CPU per request at 100 connections, in microseconds (/proc: the "
                    "machine's busy time, the Apache children's, the database server's "
                    "processes', wrk's; perf stat -p on the children: their task-clock "
                    "and context switches):", "",
                    "| request | machine | Apache | database | wrk | perf task-clock "
                    "(Apache) | context switches |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in measured:
            c = r["cpu"]
            db = f"{c['database']:.0f}" if DB_USER.get(DB) else "(in Apache)"
            section.append(f"| {r['name']} | {c['machine']:.0f} | {c['apache']:.0f} | {db} | "
                           f"{c['wrk']:.0f} | {c.get('perf_apache', float('nan')):.0f} | "
                           f"{c.get('perf_cs', float('nan')):.1f} |")
    section += [""] + [f"- {n}" for n in notes] + ["", "Commands:", ""]
    shown = rows[:4] + [r for r in rows if "paced" in r["name"]
                        or r["name"].startswith("POST /orders, ")]
    section += [f"    {r['cmd']}" for r in shown] + [marker, ""]
    text = "\n".join(section)
    if marker in old:
        start = old.index(marker)
        end = old.index(marker, start + len(marker)) + len(marker) + 1
        new = old[:start] + text + old[end:]
    else:
        new = (old or "# Benchmark results\n\nWritten by tests/bench/bench.py "
               "(`make bench`, `make bench DB=pgsql`).\n\n") + text
    with open(path, "w") as f:
        f.write(new)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
