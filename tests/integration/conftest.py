import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import orders_server  # noqa: E402
from orders_server import SANITIZER_FINDINGS, Server, assert_no_crash, log_tag  # noqa: E402
from pg_server import PostgresServer  # noqa: E402
from mariadb_server import MariaDBServer  # noqa: E402

DRIVERS = ["sqlite3", "pgsql", "mysql"]
# The drivers whose database is a server that several httpd can share, and
# that a test can stop and start.
NETWORKED = ["pgsql", "mysql"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "orders_log(*tags): the ORDnnnnn tags of the error and "
        "warning lines of mod_orders this test causes; any other such line "
        "fails it")


@pytest.fixture(scope="session")
def postgres():
    """One private PostgreSQL for the whole run; each server gets its own
    database in it."""
    pg = PostgresServer().start()
    yield pg
    pg.cleanup()


@pytest.fixture(scope="session")
def mariadb():
    """One private MariaDB for the whole run; each server gets its own
    database in it."""
    my = MariaDBServer().start()
    yield my
    my.cleanup()


def _server_for(request, driver, **kw):
    if driver == "pgsql":
        return Server(driver=driver, pg=request.getfixturevalue("postgres"), **kw)
    if driver == "mysql":
        return Server(driver=driver, my=request.getfixturevalue("mariadb"), **kw)
    return Server(driver=driver, **kw)


class Database:
    """A database server (PostgresServer or MariaDBServer) with its
    driver, for the tests that run on each networked database alike."""

    def __init__(self, driver, db):
        self.driver = driver
        self.db = db

    def create_database(self):
        return self.db.create_database()

    def server(self, **kw):
        """A Server (not started) on this database server: a fresh
        database unless `dbname` names one to share."""
        key = "pg" if self.driver == "pgsql" else "my"
        return Server(driver=self.driver, **{key: self.db}, **kw)

    def stop(self):
        self.db.stop()

    def start(self):
        """Returns once the database server accepts connections."""
        self.db.start()
        return self

    def __str__(self):
        return f"{self.driver} on :{self.db.port}"


@pytest.fixture(params=NETWORKED)
def shared_db(request):
    """The run's PostgreSQL, then its MariaDB, as a Database: for tests of
    several servers on one database."""
    name = "postgres" if request.param == "pgsql" else "mariadb"
    return Database(request.param, request.getfixturevalue(name))


@pytest.fixture(params=NETWORKED)
def own_db(request):
    """A private PostgreSQL, then a private MariaDB, started, as a
    Database: for tests that stop it or end its sessions; removed
    afterwards."""
    db = (PostgresServer if request.param == "pgsql" else MariaDBServer)().start()
    yield Database(request.param, db)
    db.cleanup()


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


def fail_on_undeclared(node, found, where):
    """Fails unless the tag of each (server, line) of `found` is declared by
    an orders_log marker of `node` (a test: its own, its class's and its
    module's; a module: its pytestmark); the message has the lines whole."""
    declared = {tag for mark in node.iter_markers("orders_log")
                for tag in mark.args}
    missed = [(s, line) for s, line in found if log_tag(line) not in declared]
    if not missed:
        return
    by_server = {}
    for s, line in missed:
        by_server.setdefault(str(s), []).append(line)
    tags = sorted({log_tag(line) or "no tag" for _, line in missed})
    pytest.fail(f"{len(missed)} error/warning line(s) of mod_orders {where} "
                f"not declared ({', '.join(tags)}; declared: "
                f"{', '.join(sorted(declared)) or 'none'}):\n"
                + "\n".join(f"{server}:\n" + "\n".join(lines)
                            for server, lines in by_server.items()),
                pytrace=False)


@pytest.fixture(scope="module", autouse=True)
def no_undeclared_log_lines_outside_tests(request):
    """The lines no test is there for: the start-up of a module's servers,
    what they log between tests and while they stop after the last one.
    They fail the module (at its last test's teardown) unless its
    pytestmark declares them."""
    orders_server.collect_module_lines()     # not this module's
    outside = []
    yield outside
    outside += orders_server.collect_module_lines()
    fail_on_undeclared(request.node, outside,
                       "logged outside the tests of this module (start-up, "
                       "between tests, stop)")


@pytest.fixture(autouse=True)
def no_undeclared_log_lines(request, no_undeclared_log_lines_outside_tests):
    """After each test, every error or warning line of mod_orders that any
    server logged during it (a module's, the test's own, one the test made
    and removed) carries a tag the test declared with
    @pytest.mark.orders_log("ORD00013", ...) on it or in its module's
    pytestmark, as mod_md's tests do with ignore_recent().  Any other line
    fails the test, listed whole."""
    no_undeclared_log_lines_outside_tests.extend(orders_server.collect_module_lines())
    yield
    fail_on_undeclared(request.node, orders_server.collect_module_lines(),
                       "logged during this test")


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
