"""The module's URLs are not files: Apache does not walk the file system for
them (no stat under DocumentRoot, no <Directory>, no .htaccess), while
<Location> sections, which are how the handlers are mounted, still apply.

The server here lets .htaccess files override everything in DocumentRoot
and puts one there that Apache cannot read (an unknown directive): every
request whose URL Apache maps into DocumentRoot answers 500, as the static
file shows; the module's answer as if the file were not there."""
import os

import pytest

from orders_data import order

BROKEN_HTACCESS = "ThisIsNotAnApacheDirective on\n"


@pytest.fixture(scope="module")
def server(request):
    from conftest import _server_for
    s = _server_for(request, "sqlite3")
    s.extra_conf = (f'<Directory "{s.dir}/htdocs">\n    AllowOverride All\n</Directory>\n'
                    "<Location /orders/LOCKED-1>\n    Require all denied\n</Location>\n")
    s.render()
    with open(os.path.join(s.dir, "htdocs", ".htaccess"), "w") as f:
        f.write(BROKEN_HTACCESS)
    try:
        s.start()
        yield s
    finally:
        # Also when it never answered: without the module's hooks its
        # /metrics reads the .htaccess too, and the server must still stop.
        s.cleanup()


def test_a_file_url_reads_the_htaccess(server):
    """What makes the rest of this file able to fail: Apache does read the
    .htaccess for a URL it maps into DocumentRoot."""
    r = server.get("/static.txt")
    assert r.status == 500, r
    assert "ThisIsNotAnApacheDirective" in server.read_log(), server.read_log()[-2000:]


@pytest.mark.parametrize("method,path,body,status", [
    ("GET", "/orders", None, 200),
    ("POST", "/orders", order("MAP-1"), 202),
    ("GET", "/orders/MAP-1", None, 200),
    ("GET", "/orders/NOT-THERE", None, 404),
    ("GET", "/orders/events", None, 200),
    ("GET", "/metrics", None, 200),
])
def test_the_module_urls_skip_the_file_system(server, method, path, body, status):
    r = server.request(method, path, body)
    assert r.status == status, r
    ctype = r.header("Content-Type") or ""
    assert ctype.startswith(("application/json", "text/plain")), r.headers


def test_location_sections_still_apply(server):
    r = server.get("/orders/LOCKED-1")
    assert r.status == 403, r
