"""TRACE is off: the server of `make run` and of the tests says
`TraceEnable Off` (conf/orders-server.conf.in), and the documented sample
(conf/orders.conf) recommends it.  Apache's default answers TRACE itself,
on every path and before any handler, with 200 and the request echoed back
(headers a proxy added, cookies...); with it off, Apache answers 405 with
its own HTML page and an empty Allow, on the module's paths as on any other:
mod_orders never sees a TRACE."""
import os
import re
import socket

import pytest

from orders_server import ROOT

MARKER = "trace-marker-6f1c"


def trace(server, path):
    """A TRACE written by hand, with a header that an echo would show:
    (status line, headers, body) as text."""
    request = (f"TRACE {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"X-Marker: {MARKER}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.decode("latin-1").partition("\r\n\r\n")
    status_line, *lines = head.split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status_line, headers, body


@pytest.mark.parametrize("path", ["/orders", "/metrics", "/orders/ORD003",
                                  "/orders/events", "/openapi.yaml"])
def test_trace_is_apaches_405_and_echoes_nothing(sqlite_server, path):
    status_line, headers, body = trace(sqlite_server, path)
    assert status_line.split()[1] == "405", (status_line, body)
    # Apache's own error page, not the module's JSON: the module is never
    # asked (core refuses TRACE in its map_to_storage hook).
    assert headers["content-type"].startswith("text/html"), headers
    assert "The requested method TRACE is not allowed" in body, body
    assert headers.get("allow") == "", headers
    assert "request-id" not in headers, headers
    assert MARKER not in body, "the request was echoed back"


def test_the_server_template_turns_trace_off():
    with open(os.path.join(ROOT, "conf", "orders-server.conf.in")) as f:
        assert re.search(r"^TraceEnable Off$", f.read(), re.M)


def test_the_documented_sample_recommends_trace_off():
    """conf/orders.conf turns nothing on (a2enmod must not change the rest
    of the server): a commented line, for ops to take."""
    with open(os.path.join(ROOT, "conf", "orders.conf")) as f:
        text = f.read()
    assert re.search(r"^#TraceEnable Off$", text, re.M), text[:2000]
    assert not re.search(r"^\s*TraceEnable", text, re.M)
