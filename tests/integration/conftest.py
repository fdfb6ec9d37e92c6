import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from orders_server import Server  # noqa: E402
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
    crash."""
    yield
    for name in ("server", "sqlite_server"):
        if name in request.fixturenames:
            assert request.getfixturevalue(name).crashes() == []
