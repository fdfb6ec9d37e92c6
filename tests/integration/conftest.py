import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from orders_server import Server  # noqa: E402


@pytest.fixture(scope="module")
def server():
    """One running server per test module (SQLite, fast processing)."""
    s = Server()
    s.start()
    yield s
    s.cleanup()


@pytest.fixture(autouse=True)
def no_crash(request):
    """After each test, the error_log of the module's server shows no crash."""
    yield
    if "server" in request.fixturenames:
        s = request.getfixturevalue("server")
        assert s.crashes() == []
