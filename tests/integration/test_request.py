"""Who a request is and what came of it (API.md section 1, "Logging and
request ids"): the Request-Id of every answer of the module, the request_id
of its JSON errors, the request notes a LogFormat shows, the same outcomes
counted in /metrics, the log id of the module's error_log lines; and the
module without a database: one line at start, 503s that say so."""
import os
import re
import subprocess
import tempfile

import pytest

from orders_data import order
from orders_server import (MODDIR, ROOT, Server, free_port, process_alive, terminate,
                           wait_for)
from test_unavailable import hold_write_lock

GENERATED = re.compile(r"^[0-9a-f]{32}$")
# The last field marks the test's own requests (not the fixture's checks).
NOTES_LOG = ('LogFormat "%{orders-outcome}n|%{orders-order-id}n|%{orders-user-id}n|'
             '%{Request-Id}o|%{UNIQUE_ID}e|%s|%{X-Case}i" orders_notes\n')


def notes_conf(server, extra=""):
    """A CustomLog of the notes in the server's log directory, and a
    collection where orders belong to a signed-in user (none here)."""
    return (NOTES_LOG + f'CustomLog "{server.dir}/log/notes" orders_notes\n'
            "<Location /orders>\n    OrdersPopulate On\n</Location>\n"
            "<Location /bound>\n    SetHandler orders\n    OrdersBindUser On\n"
            "</Location>\n" + extra)


def fresh_with(fresh, extra_for, **kw):
    """A server whose configuration needs its own directory's path."""
    server = fresh(**kw)
    server.extra_conf = extra_for(server)
    server.render()
    return server.start()


def log_lines(server, name):
    try:
        with open(os.path.join(server.dir, "log", name)) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


# -- Request-Id ---------------------------------------------------------------

ANSWERS = [
    ("POST", "/orders", order("rid-1"), 202),
    ("GET", "/orders/rid-1", None, 200),
    ("GET", "/orders/no-such-order", None, 404),
    ("PUT", "/orders", None, 405),
    ("POST", "/orders", {"user_id": "not-an-int"}, 400),
    ("GET", "/orders?limit=0", None, 400),
    ("GET", "/orders/events", None, 200),
    ("GET", "/metrics", None, 200),
    ("POST", "/metrics", None, 405),
]


@pytest.mark.parametrize("method,path,body,status", ANSWERS,
                         ids=[f"{m} {p} {s}" for m, p, _, s in ANSWERS])
def test_every_answer_carries_a_request_id(server, method, path, body, status):
    r = server.request(method, path, body)
    assert r.status == status, r
    rid = r.header("Request-Id")
    assert rid and GENERATED.match(rid), r.headers
    if status >= 400:
        assert r.json()["request_id"] == rid


def test_a_body_refused_by_httpd_filters_has_the_request_id_too(server):
    # Broken chunked encoding: httpd's filter refuses it while the body
    # is read, and the module's error filter answers.
    r = server.request("POST", "/orders", b"zz\r\nnot a chunk\r\n",
                       headers={"Content-Type": "application/json",
                                "Transfer-Encoding": "chunked"})
    assert r.status == 400, r
    assert r.json()["request_id"] == r.header("Request-Id")


CLIENT_IDS = [
    ("a client's UUID is kept", "0f8fad5b-d9cb-469f-a165-70867728950e", True),
    ("every allowed character", "Az09._:-", True),
    ("200 characters", "a" * 200, True),
    ("201 characters is replaced", "a" * 201, False),
    ("a space is replaced", "two words", False),
    ("a quote is replaced", 'a"b', False),
    ("empty is replaced", "", False),
]


@pytest.mark.parametrize("given,kept", [c[1:] for c in CLIENT_IDS],
                         ids=[c[0] for c in CLIENT_IDS])
def test_a_valid_x_request_id_is_the_request_id(server, given, kept):
    r = server.get("/orders/no-such-order", headers={"X-Request-ID": given})
    assert r.status == 404
    if kept:
        assert r.header("Request-Id") == given
    else:
        assert GENERATED.match(r.header("Request-Id")), r.headers
    assert r.json()["request_id"] == r.header("Request-Id")


def test_with_mod_unique_id_the_request_id_is_unique_id(fresh):
    server = fresh_with(fresh, lambda s: (
        f"LoadModule unique_id_module {MODDIR}/mod_unique_id.so\n" + notes_conf(s)))
    r = server.get("/orders/nope", headers={"X-Request-ID": "from-the-client"})
    assert r.status == 404
    rid = r.header("Request-Id")
    assert rid and rid != "from-the-client"
    assert r.json()["request_id"] == rid
    line = wait_for(lambda: [l for l in log_lines(server, "notes") if l.split("|")[5] == "404"],
                    10, what="the 404 in the access log")[0]
    assert line.split("|")[3:5] == [rid, rid]       # Request-Id, UNIQUE_ID


# -- request notes and the answers counter --------------------------------------

def redeliverable(server):
    """An event written with a webhook (to a port nobody listens on)."""
    return server.get("/orders/events?limit=1").json()["events"][0]["id"]


# (outcome, method, path, body, headers, status); run in this order.
NOTE_CASES = [
    ("created", "POST", "/orders", order("note-1", user_id=42), None, 202),
    ("retry", "POST", "/orders", order("note-1", user_id=42), None, 200),
    ("conflict", "POST", "/orders", order("note-1", user_id=43), None, 409),
    ("invalid", "POST", "/orders", {"order_id": "note-2", "user_id": []}, None, 400),
    ("forbidden", "POST", "/bound", order("note-3"), None, 403),
    ("found", "GET", "/orders/note-1", None, None, 200),
    ("not-modified", "GET", "/orders/note-1", None, "etag", 304),
    ("not-found", "GET", "/orders/note-404", None, None, 404),
    ("listed", "GET", "/orders?limit=5", None, None, 200),
    ("listed", "GET", "/orders/events?limit=5", None, None, 200),
    ("populated", "POST", "/orders/populate",
     {"total_entries": 3, "batch_id": "notes"}, None, 201),
    ("redelivered", "POST", "/orders/events/{event}/redeliver", None, None, 202),
    ("not-allowed", "PUT", "/orders", None, None, 405),
    ("metrics", "GET", "/metrics", None, None, 200),
]
ADMIN = "<Location /orders/events>\n    OrdersWebhookAdmin On\n</Location>\n"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_every_outcome_is_noted_logged_and_counted(fresh):
    server = fresh_with(fresh, lambda s: notes_conf(
        s, f"OrdersWebhookURL http://127.0.0.1:{free_port()}/hooks\n"
           f"OrdersWebhookSecret {SECRET}\nOrdersWebhookRetry 30 60\n" + ADMIN
           # One child whose queue holds one order: the others stay Pending.
           + "OrdersQueueSize 1\nStartServers 1\nServerLimit 1\nMaxRequestWorkers 128\n"),
        processing_time="30")
    cases = list(NOTE_CASES) + [
        # A cancel, last, of an order left Pending behind the full queue.
        ("created", "POST", "/orders", order("note-c"), None, 202),
        ("cancelled", "DELETE", "/orders/note-c", None, None, 200)]
    for n, (outcome, method, path, body, headers, status) in enumerate(cases, 1):
        if headers == "etag":
            headers = {"If-None-Match": server.get(path).header("ETag")}
        if "{event}" in path:
            path = path.replace("{event}", redeliverable(server))
        r = server.request(method, path, body, headers=dict(headers or {}, **{"X-Case": str(n)}))
        assert r.status == status, (outcome, r)

    def ours():
        # By case number: a request's line is written after its answer has
        # gone, so the next request's line may come first.
        lines = [l.split("|") for l in log_lines(server, "notes")]
        return sorted((f for f in lines if f[6].isdigit()), key=lambda f: int(f[6]))
    fields = wait_for(lambda: len(f := ours()) == len(cases) and f, 10,
                      what="every request in the access log")
    assert [(f[0], int(f[5])) for f in fields] == [(c[0], c[5]) for c in cases]
    # The order and the user, where the request named or found them.
    by_outcome = {}
    for f in fields:
        by_outcome.setdefault(f[0], f)
    assert by_outcome["created"][1:3] == ["note-1", "42"]
    assert by_outcome["found"][1:3] == ["note-1", "42"]
    assert by_outcome["not-found"][1:3] == ["note-404", "-"]
    assert by_outcome["cancelled"][1] == "note-c"
    assert all(GENERATED.match(f[3]) for f in fields), fields

    # The same outcomes, counted in /metrics (this request not yet), with
    # the requests without the mark: the fixture's readiness checks
    # (metrics), the ETag's and the event's reads (found, listed).
    expected = {}
    for f in [l.split("|") for l in log_lines(server, "notes")]:
        expected[f[0]] = expected.get(f[0], 0) + 1
    text = server.get("/metrics?format=prometheus").body.decode()
    counted = {m.group(1): int(m.group(2)) for m in re.finditer(
        r'^mod_orders_answers_total\{outcome="([a-z-]+)"\} (\d+)$', text, re.M)}
    assert {k: v for k, v in counted.items() if v} == expected


def test_gone_is_noted(fresh):
    server = fresh_with(fresh, lambda s: notes_conf(s, "OrdersEventRetention 1\n"),
                        processing_time="0.1")
    assert server.post("/orders", order("gone-1")).status == 202
    first_next = server.get("/orders/events?limit=1").json()["next"]
    wait_for(lambda: server.sql("SELECT COUNT(*) AS n FROM order_events")[0]["n"] == 0,
             30, interval=0.2, what="retention to remove the events")
    assert server.get(first_next).status == 410
    wait_for(lambda: any(l.startswith("gone|") for l in log_lines(server, "notes")),
             10, what="the 410 in the access log")


# -- the log id of the module's lines about a request --------------------------

ERROR_LOG_FORMAT = 'ErrorLogFormat "[%{u}t] [%-m:%l] [pid %P:tid %T] [request %L] %M"\n'


# The writer's batch meets the lock (ORD00013, not about one request).
@pytest.mark.orders_log("ORD00013")
def test_the_module_lines_about_a_request_carry_its_log_id():
    server = Server()                                         # SQLite's lock
    server.extra_conf = ERROR_LOG_FORMAT + notes_conf(server)
    server.render()
    server.start()
    try:
        holder = hold_write_lock(server)
        try:
            r = server.post("/orders", order("locked-1"),
                            headers={"X-Request-ID": "trace-me-42"})
            assert r.status == 503, r
        finally:
            holder.stdin.write("ROLLBACK;\n")
            holder.stdin.close()
            holder.wait(10)
        # The 503's own line (ORD00050, at debug level here) names it.
        line = wait_for(lambda: [l for l in server.read_log().splitlines()
                                 if "ORD00050" in l], 10, what="the request's line")[0]
        assert "[request trace-me-42]" in line, line
        # ... and its note says so.
        noted = wait_for(lambda: [l.split("|") for l in log_lines(server, "notes")
                                  if "|trace-me-42|" in l], 10, what="the 503 noted")
        assert noted[0][0] == "unavailable" and noted[0][5] == "503", noted
    finally:
        server.cleanup()


# -- no database -------------------------------------------------------------------

NO_DB_CONF = """ServerRoot "{dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{dir}/httpd.pid"
DefaultRuntimeDir "{dir}"
Mutex file:{dir} default
ErrorLog "{dir}/error_log"
LogLevel warn
{user}
LoadModule mpm_event_module {moddir}/mod_mpm_event.so
LoadModule authz_core_module {moddir}/mod_authz_core.so
LoadModule dbd_module {moddir}/mod_dbd.so
LoadModule orders_module {module}
StartServers 2
ServerLimit 2
<Location /orders>
    SetHandler orders
</Location>
<Location /metrics>
    SetHandler orders-metrics
</Location>
"""


def test_without_a_database_one_line_at_start_and_503s_saying_so():
    """As a new user gets it: the module loaded and mounted, no DBDriver."""
    import http.client
    import json
    work = tempfile.mkdtemp(prefix="mod_orders-nodb-")
    os.chmod(work, 0o755)
    port = free_port()
    module = os.environ.get("ORDERS_MODULE",
                            os.path.join(ROOT, "mod_orders/.libs/mod_orders.so"))
    user = "User www-data\nGroup www-data" if os.geteuid() == 0 else ""
    with open(os.path.join(work, "httpd.conf"), "w") as f:
        f.write(NO_DB_CONF.format(dir=work, port=port, moddir=MODDIR, module=module,
                                  user=user))
    proc = subprocess.Popen(["apache2", "-f", os.path.join(work, "httpd.conf"),
                             "-DFOREGROUND"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def get(path, method="GET"):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            c.request(method, path, body=json.dumps(order("nodb-1")) if method == "POST" else None,
                      headers={"Content-Type": "application/json"})
            resp = c.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            c.close()

    def answers():
        try:
            return get("/metrics")
        except OSError:
            return None
    try:
        wait_for(answers, 30, what="httpd to answer")
        for method, path in (("POST", "/orders"), ("GET", "/orders/nodb-1"),
                             ("GET", "/orders"), ("GET", "/metrics")):
            status, headers, body = get(path, method)
            assert status == 503, (method, path, status, body)
            err = json.loads(body)
            assert "no database" in err["error"] and "DBDriver" in err["error"]
            assert "DBDParams" in err["error"]
            assert err["request_id"] == headers["Request-Id"]
    finally:
        terminate(proc)
        wait_for(lambda: not process_alive(proc.pid), 10, what="httpd to stop")
    with open(os.path.join(work, "error_log")) as f:
        log = f.read()
    ours = [l for l in log.splitlines() if "[orders:" in l]
    assert len(ours) == 1 and "ORD00003" in ours[0], log
    assert "DBDriver" in ours[0] and "DBDParams" in ours[0]
    assert "Internal error" not in log and "ORD00043" not in log, log
    subprocess.run(["rm", "-rf", work], check=False)
