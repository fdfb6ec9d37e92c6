import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from orders_server import SANITIZER_FINDINGS, Server, assert_no_crash  # noqa: E402
from pg_server import PostgresServer  # noqa: E402

DRIVERS = ["sqlite3", "pgsql"]


@pytest.fixture(scope="session")
def postgres():
    """One private PostgreSQL for the whole run; each server gets its own
    database in it."""
    pg = PostgresServer().start()
    yield pg
    pg.cleanup()


def _server_for(request, driver, **kw):
    pg = request.getfixturevalue("postgres") if driver == "pgsql" else None
    return Server(driver=driver, pg=pg, **kw)


@pytest.fixture(scope="module", params=DRIVERS)
def server(request):
    """One running server per test module and database driver."""
    s = _server_for(request, request.param).start()
    yield s
    s.cleanup()


@pytest.fixture(scope="module")
def sqlite_server(request):
    s = _server_for(request, "sqlite3").start()
    yield s
    s.cleanup()


@pytest.fixture(params=DRIVERS)
def fresh(request):
    """Makes servers of this test's own (not started), with the test's
    database driver; they are stopped and removed afterwards."""
    servers = []

    def make(**kw):
        s = _server_for(request, request.param, **kw)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.cleanup()


@pytest.fixture(autouse=True)
def no_crash(request):
    """After each test, the error_log of the module's server shows no
    crash, and no server of the run (those the test removed too) has a
    sanitizer report."""
    yield
    for name in ("server", "sqlite_server"):
        if name in request.fixturenames:
            server = request.getfixturevalue(name)
            assert_no_crash(server)
    no_sanitizer_findings()


@pytest.fixture(scope="session", autouse=True)
def no_sanitizer_findings_at_the_end():
    """Module-scoped servers are removed after their last test: their
    reports (LeakSanitizer's come as the children exit) are checked here."""
    yield
    no_sanitizer_findings()


def no_sanitizer_findings():
    findings = SANITIZER_FINDINGS[:]
    del SANITIZER_FINDINGS[:]
    assert findings == [], "\n\n".join(findings)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries the error and warning lines of its
    servers' error_logs: a 503 says why only there."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for name, value in getattr(item, "funcargs", {}).items():
        if isinstance(value, Server):
            try:
                lines = [line for line in value.read_log().splitlines()
                         if ":error]" in line or ":warn]" in line or ":crit]" in line]
            except OSError:
                continue
            report.sections.append((f"error_log of {name}", "\n".join(lines[-40:])))
