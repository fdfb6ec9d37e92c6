"""mod_orders over HTTP/2: h2 over TLS (mod_ssl, ALPN) and h2c (prior
knowledge and Upgrade) on plain HTTP, with HTTP/1.1 beside them.

Every server here runs conf/orders-tls.conf, the sample operators copy,
with its address and certificate paths replaced: the sample is what is
tested.  The clients are real ones: curl (HTTP/2 through nghttp2), nghttp
where curl cannot tell what it received, and h2load for many multiplexed
POSTs.  Each answer's HTTP version is checked, so that a server quietly
falling back to HTTP/1.1 fails the test.
"""
import collections
import dataclasses
import json
import os
import re
import subprocess
import uuid

import pytest

from orders_data import OMIT, order
from orders_server import (MODDIR, ROOT, Response, assert_no_crash,
                           free_port, wait_for)

SAMPLE = os.path.join(ROOT, "conf", "orders-tls.conf")

# What the sample leaves to Debian's configuration (a2enmod ssl http2,
# ports.conf, mods-available/ssl.conf); the template loads none of it.
# SSLSessionCache's path is relative to ServerRoot, the server's directory.
MODULES = f"""
LoadModule socache_shmcb_module {MODDIR}/mod_socache_shmcb.so
LoadModule ssl_module           {MODDIR}/mod_ssl.so
LoadModule http2_module         {MODDIR}/mod_http2.so
SSLSessionCache "shmcb:run/ssl_scache(512000)"
"""


def sample_conf(tls_port):
    """conf/orders-tls.conf for a server of the tests: its TLS virtual host
    on 127.0.0.1:tls_port, with the certificate make_certificate writes
    (paths relative to ServerRoot).  Each replaced directive must be there
    exactly once (comments aside), so that a changed sample fails here,
    not later."""
    with open(SAMPLE) as f:
        text = f.read()
    for old, new in [("<VirtualHost *:443>", f"<VirtualHost 127.0.0.1:{tls_port}>"),
                     ("ServerName orders.example.com", "ServerName 127.0.0.1"),
                     ("/etc/ssl/certs/orders.example.com.pem", "tls/cert.pem"),
                     ("/etc/ssl/private/orders.example.com.key", "tls/key.pem")]:
        # In a directive: at the start of a line or after the directive's
        # name, never in a comment.
        where = re.compile(r"^([ \t]*(?:\w+[ \t]+)?)" + re.escape(old) + r"$", re.M)
        text, n = where.subn(lambda m: m.group(1) + new, text)
        assert n == 1, f"{SAMPLE} should have {old!r} once, in a directive"
    return text


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 (and its key) in directory.
    mod_ssl reads both in the parent, as root, before the children become
    www-data: the key stays 0600 root, as a real one should."""
    os.makedirs(directory)
    cert, key = (os.path.join(directory, n) for n in ("cert.pem", "key.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    # An end-entity certificate: without it mod_ssl warns
                    # that the server's certificate is a CA's.
                    "-addext", "basicConstraints=critical,CA:FALSE",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=30)
    os.chmod(key, 0o600)
    return cert


@pytest.fixture
def h2(fresh):
    """A started server (sqlite3, pgsql or mysql, as `fresh` gives) with the
    sample: h2c and HTTP/1.1 on .port (where the Server's own readiness
    check speaks HTTP/1.1), h2 and HTTP/1.1 over TLS on .tls_port.
    .cacert is the certificate curl verifies it with."""
    tls_port = free_port()
    s = fresh(processing_time="0.1",
              extra_conf=MODULES + f"Listen 127.0.0.1:{tls_port}\n"
              + sample_conf(tls_port))
    s.tls_port = tls_port
    s.cacert = make_certificate(os.path.join(s.dir, "tls"))
    s.start()
    yield s
    assert_no_crash(s)


# -- one request with curl --------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Transport:
    name: str
    tls: bool
    curl_options: tuple
    # The HTTP version (curl's %{http_version}) of an answer to a request
    # without a body, and to one with a body.
    version: str = "2"
    body_version: str = "2"


TRANSPORTS = [
    # ALPN: the TLS handshake settles on h2 before any request.
    Transport("h2-tls", True, ("--http2",)),
    # Plain HTTP, HTTP/2 from the first byte (H2Direct, on for h2c).
    Transport("h2c-prior-knowledge", False, ("--http2-prior-knowledge",)),
    # Plain HTTP, an HTTP/1.1 request with `Upgrade: h2c`: mod_http2
    # upgrades only requests without a body, so POSTs stay HTTP/1.1.
    Transport("h2c-upgrade", False, ("--http2",), body_version="1.1"),
    # The TLS host still serves clients that do not offer h2.
    Transport("http1.1-tls", True, ("--http1.1",), version="1.1", body_version="1.1"),
]
BY_NAME = {t.name: t for t in TRANSPORTS}
H2_ONLY = [BY_NAME["h2-tls"], BY_NAME["h2c-prior-knowledge"]]
WRITE_OUT = "@@write-out@@"


def url(server, transport, path):
    if transport.tls:
        return f"https://127.0.0.1:{server.tls_port}{path}"
    return f"http://127.0.0.1:{server.port}{path}"


def call(server, transport, method, path, body=None, headers=None,
         stream_body=False, timeout=30):
    """One request with curl over `transport`; the answer (a Response, with
    .version too) must have come in the HTTP version the transport says.
    `body`: a dict (sent as JSON) or bytes; `stream_body` sends it without
    Content-Length (DATA frames until the stream ends; chunked in
    HTTP/1.1)."""
    cmd = ["curl", "-sS", "--max-time", str(timeout), *transport.curl_options,
           # Write-out to stderr, the body alone on stdout: the version and
           # status, and the last answer's headers (not an Upgrade's 101).
           "-w", "%{stderr}" + WRITE_OUT + "%{json}\n%{header_json}"]
    if transport.tls:
        cmd += ["--cacert", server.cacert]      # verified, not -k
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        hdrs.setdefault("Content-Type", "application/json")
        cmd += ["-T", "-"] if stream_body else ["--data-binary", "@-"]
    if method == "HEAD":
        cmd += ["-I"]
    elif stream_body or method != ("POST" if body is not None else "GET"):
        cmd += ["-X", method]               # -T alone would be a PUT
    for k, v in hdrs.items():
        cmd += ["-H", f"{k}: {v}"]
    cmd.append(url(server, transport, path))
    p = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout + 10)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 0 and WRITE_OUT in err, \
        (f"{' '.join(cmd)}: exit {p.returncode}: {err}", server.read_log()[-3000:])
    info, header_json = err.split(WRITE_OUT, 1)[1].split("\n", 1)
    info = json.loads(info)
    r = Response(info["response_code"],
                 [(k, v) for k, vs in json.loads(header_json).items() for v in vs],
                 p.stdout)
    r.version = info["http_version"]
    want = transport.body_version if body is not None else transport.version
    assert r.version == want, \
        f"{method} {path} over {transport.name} came in HTTP/{r.version}, not {want}"
    return r


FIELDS = ("order_id", "user_id", "item_ids", "total_amount")


def fields(o):
    return {k: o[k] for k in FIELDS}


def place(server, transport, body, **kw):
    """POST /orders, which must be accepted (202, Location, Pending)."""
    r = call(server, transport, "POST", "/orders", body, **kw)
    assert r.status == 202, (r, server.read_log()[-3000:])
    placed = r.json()
    assert r.header("location") == f"/orders/{placed['order_id']}"
    assert placed["status"] == "Pending"
    assert fields(placed) == {**{k: v for k, v in body.items() if k in FIELDS},
                              "order_id": placed["order_id"]}
    return placed


# -- the collection over each transport --------------------------------------

@pytest.mark.parametrize("transport", TRANSPORTS, ids=lambda t: t.name)
def test_place_read_and_list_orders(h2, transport):
    user = f"user-{transport.name}"
    sent = order(f"{transport.name}-1", user_id=user,
                 item_ids=[101, "item-2"], total_amount=59.99)
    first = place(h2, transport, sent)
    # Without order_id the server makes one (a UUID) for each order.
    second = place(h2, transport, order(OMIT, user_id=user, item_ids=[7],
                                        total_amount=5))
    assert uuid.UUID(second["order_id"]).version == 4

    for placed in (first, second):
        r = call(h2, transport, "GET", f"/orders/{placed['order_id']}")
        assert r.status == 200 and r.header("content-type") == "application/json", r
        assert fields(r.json()) == fields(placed)

    def completed(order_id):
        r = call(h2, transport, "GET", f"/orders/{order_id}")
        return r.status == 200 and r.json()["status"] == "Completed" and r
    for placed in (first, second):
        r = wait_for(lambda: completed(placed["order_id"]), 30, 0.1,
                     f"{placed['order_id']} to be Completed")
        assert fields(r.json()) == fields(placed)
        # Completed orders change no more: their ETag gives 304, no body.
        assert call(h2, transport, "GET", f"/orders/{placed['order_id']}",
                    headers={"If-None-Match": r.header("etag")}).status == 304
        assert call(h2, transport, "HEAD", f"/orders/{placed['order_id']}").status == 200

    # The list, a page at a time, following `next` (relative to the mount).
    seen, path = [], f"/orders?user_id={user}&limit=1"
    while path:
        r = call(h2, transport, "GET", path)
        assert r.status == 200 and r.header("content-type") == "application/json", r
        page = r.json()
        seen += [fields(o) for o in page["orders"]]
        assert all(o["status"] == "Completed" for o in page["orders"])
        path = page["next"]
    assert seen == [fields(first), fields(second)]


@pytest.mark.parametrize("transport", TRANSPORTS, ids=lambda t: t.name)
def test_a_body_without_content_length_is_accepted(h2, transport):
    """HTTP/2 has no chunked encoding: a body whose length is not declared
    ends with its stream.  mod_http2 hands it on as chunked; it is an
    order like any other (in HTTP/1.1 it is chunked), not a 411."""
    placed = place(h2, transport, order(f"stream-{transport.name}"), stream_body=True)
    assert placed["order_id"] == f"stream-{transport.name}"


# -- errors -------------------------------------------------------------------
#
# With nghttp, not curl: an answer given before the body is read (415, 405,
# 413: the module need not read it) may be followed by RST_STREAM(NO_ERROR)
# when the body's DATA frames have not arrived yet.  HTTP/2 allows that
# (RFC 9113, 8.1: the client "MUST NOT discard" the answer), but curl 7.88
# then discards it and fails with exit 92 ("Stream error in the HTTP/2
# framing layer"): for a 413 most of the time, for a 415 or a 405 with a
# body now and then (up to 1 in 8 on a busy machine), never for a 400 whose
# body was read.  nghttp keeps the answer and shows the frames; it speaks
# HTTP/2 only (h2 by ALPN over TLS, prior knowledge on http://) and fails
# if h2 is not agreed.

def nghttp(server, transport, method, path, body=None, headers=None):
    """One request with nghttp.  Returns (Response, the error code of the
    RST_STREAM the server sent, or None)."""
    cmd = ["nghttp", "-v", "-H", f":method: {method}"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k.lower()}: {v}"]
    if body is not None:
        data = os.path.join(server.dir, "nghttp-body")
        with open(data, "wb") as f:
            f.write(json.dumps(body).encode() if isinstance(body, dict) else body)
        cmd += ["-d", data]
    cmd.append(url(server, transport, path))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p
    # -v: frames and headers on lines of their own ("[  0.001] recv ...",
    # indented details); the answer's body is printed as it is, between.
    lines = p.stdout.splitlines()
    received = [m.groups() for m in (re.match(r"\[[ \d.]+\] recv \(stream_id=\d+\) "
                                              r"(:?[\w-]+): (.*)$", line) for line in lines) if m]
    status = [int(v) for k, v in received if k == ":status"]
    assert len(status) == 1, p.stdout
    if transport.tls:
        assert "The negotiated protocol: h2" in lines, p.stdout     # ALPN
    body_lines = [line for line in lines if line and line[0] not in "[ ;\t"
                  and not line.startswith("The negotiated protocol: ")]
    reset = re.search(r"recv RST_STREAM frame.*\n\s*\(error_code=(\w+)", p.stdout)
    return (Response(status[0], [(k, v) for k, v in received if k != ":status"],
                     "\n".join(body_lines).encode()),
            reset and reset.group(1))


# (case, method, path, body, headers, status, what the error names)
ERRORS = [
    ("invalid field", "POST", "/orders",
     {"user_id": 1, "item_ids": [101], "total_amount": 5.999}, None, 400, "total_amount"),
    ("missing field", "POST", "/orders", {"user_id": 1}, None, 400, "item_ids"),
    ("broken JSON", "POST", "/orders", b'{"user_id": 1,', None, 400, "JSON"),
    ("not JSON", "POST", "/orders", b"{}", {"Content-Type": "text/plain"}, 415, "application/json"),
    ("unknown order", "GET", "/orders/NOPE", None, None, 404, "order_id"),
    ("bad list query", "GET", "/orders?limit=0", None, None, 400, "limit"),
    ("method", "PUT", "/orders", b"{}", None, 405, "PUT"),
    # The declared length is over 64 KiB: refused before anything is read.
    ("too large", "POST", "/orders", b" " * 70000, None, 413, "65536"),
]


@pytest.mark.parametrize("case, method, path, body, headers, status, names", ERRORS,
                         ids=[e[0] for e in ERRORS])
def test_errors_are_json_over_http2(h2, case, method, path, body, headers, status, names):
    if body is not None:
        headers = {"Content-Type": "application/json", **(headers or {})}
    for transport in H2_ONLY:
        r, reset = nghttp(h2, transport, method, path, body, headers)
        assert r.status == status, (transport.name, r)
        assert r.header("content-type") == "application/json", (transport.name, r)
        error = r.json()["error"]
        assert isinstance(error, str) and names in error, (transport.name, r)
        if status == 405:
            assert r.header("allow") == "GET, HEAD, POST", r
        # A reset, where there is one, only asks the client to stop sending.
        assert reset in (None, "NO_ERROR"), (transport.name, reset)
    # Nothing of it was stored.
    assert sum(h2.db_status_counts().values()) == 0


def test_trace_is_refused(h2):
    """TraceEnable Off (the sample's): Apache answers TRACE itself.  (Not
    over h2c-upgrade: mod_http2 does not upgrade a TRACE, whose 405 then
    comes in HTTP/1.1, as over http1.1-tls.)"""
    for transport in [t for t in TRANSPORTS if t.name != "h2c-upgrade"]:
        assert call(h2, transport, "TRACE", "/orders").status == 405, transport.name


# -- many multiplexed POSTs with h2load --------------------------------------

LOAD = 2000
# h2load speaks h2 to https:// (ALPN) and h2c with prior knowledge to http://.
H2LOAD = {"h2-tls": "https", "h2c": "http"}


def h2load(server, scheme, n):
    """n POSTs of one body without order_id, 10 connections x 10 streams.
    Returns (the summary's lines, Counter of the status of every answer),
    the latter from h2load's per-request log."""
    body = os.path.join(server.dir, "body.json")
    with open(body, "w") as f:
        json.dump({"user_id": 1, "item_ids": [101, 102], "total_amount": 10.5}, f)
    log = os.path.join(server.dir, f"h2load-{scheme}.tsv")
    port = server.tls_port if scheme == "https" else server.port
    p = subprocess.run(["h2load", "-n", str(n), "-c", "10", "-m", "10", "-d", body,
                        "-H", "Content-Type: application/json", f"--log-file={log}",
                        f"{scheme}://127.0.0.1:{port}/orders"],
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p
    summary = [line for line in p.stdout.splitlines()
               if re.match(r"(Application protocol|requests|status codes):", line)]
    with open(log) as f:
        statuses = collections.Counter(int(line.split("\t")[1]) for line in f)
    return summary, statuses


@pytest.mark.parametrize("scheme", H2LOAD.values(), ids=H2LOAD.keys())
def test_h2load_posts_are_all_accepted_and_completed(h2, scheme):
    summary, statuses = h2load(h2, scheme, LOAD)
    protocol = {"https": "h2", "http": "h2c"}[scheme]
    assert summary == [f"Application protocol: {protocol}",
                       f"requests: {LOAD} total, {LOAD} started, {LOAD} done, "
                       f"{LOAD} succeeded, 0 failed, 0 errored, 0 timeout",
                       f"status codes: {LOAD} 2xx, 0 3xx, 0 4xx, 0 5xx"], summary
    assert statuses == {202: LOAD}, statuses
    # One order per answer, each with an id of its own (order_id is the
    # table's key), and every one processed.
    want = {"Pending": 0, "Processing": 0, "Completed": LOAD, "Cancelled": 0}
    wait_for(lambda: h2.db_status_counts() == want, 120, 0.25,
             f"{LOAD} orders Completed")
    # /metrics (shared memory, not the table) says the same.
    wait_for(lambda: call(h2, BY_NAME["h2c-prior-knowledge"], "GET",
                          "/metrics").json()["status_counts"] == want,
             10, 0.1, "/metrics to count them")
