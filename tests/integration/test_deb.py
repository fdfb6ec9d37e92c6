"""The Debian package: `make deb`, lintian, and the package in this
machine's Apache.

`make deb` runs in a copy of the repository; lintian must report no error.
The .deb is then installed with apt-get, and a private Apache runs from a
copy of /etc/apache2 (its own envvars, ports.conf on a free loopback port,
its own run, lock, log and a2enmod state directories) that reads the
package's installed files: `a2enmod orders`, `a2enconf orders` and
`apache2ctl configtest` there, then an order placed and completed through
the package's conf-available/orders.conf, with its SQLite database in
/var/lib/mod_orders.  Purging the package must keep that database.

The machine is left as it was found: /etc/apache2 is never written to, and
the package, the database directory and the copies are removed afterwards.
The installation skips when it is not root or when the package, its files
or its database are already there (it would take them over or write into
them).
"""
import fcntl
import glob
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile

import pytest

from orders_server import (MODULE_LOG_LINE, ROOT, free_port, process_alive,
                           wait_for)

PACKAGE = "libapache2-mod-orders"
DB_DIR = "/var/lib/mod_orders"
DB = os.path.join(DB_DIR, "orders.db")
# What the package installs and `make install` (apxs -i) would have put
# there too: either one present means someone else's mod_orders.
PACKAGE_FILES = ["/usr/lib/apache2/modules/mod_orders.so",
                 "/etc/apache2/mods-available/orders.load",
                 "/etc/apache2/mods-available/orders.conf",
                 "/etc/apache2/conf-available/orders.conf"]
# The default OrdersProcessingTime is 2 s.
COMPLETION_TIMEOUT = 20
CRASH = re.compile(r"Segmentation fault|exit signal|AH00052|AH00060|Aborted")


# -- helpers ------------------------------------------------------------------
def run(args, env=None, timeout=120, check=True):
    """Runs a command, its output kept; a failure shows it whole."""
    p = subprocess.run(args, env=env, timeout=timeout, capture_output=True,
                       text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {p.returncode}:\n"
                             f"{p.stdout}\n{p.stderr}")
    return p


def clean_env(**extra):
    """This process's environment without a calling make's jobserver (its
    file descriptors are not passed on) nor its variables (`make test
    SANITIZE=1` must not build a sanitized package), and with `extra`."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
                        "SANITIZE", "ORDERS_SANITIZE", "ORDERS_MODULE")}
    env.update(extra)
    return env


def package_status():
    """dpkg's status of the package, e.g. 'ii' (installed) or 'rc' (removed,
    its conffiles kept); '' when it is not installed at all."""
    p = run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", PACKAGE],
            check=False)
    status = p.stdout.strip()
    return status if p.returncode == 0 and status[1:2] != "n" else ""


def apt_get(*args):
    # apt waits for another apt or dpkg rather than failing at once; no
    # Recommends (the mysql driver), so that nothing is downloaded.
    return run(["apt-get", "-y", "-q", "--no-install-recommends",
                "-o", "DPkg::Lock::Timeout=60", *args],
               env=clean_env(DEBIAN_FRONTEND="noninteractive"))


def copy_working_tree(dst):
    """The repository's files as `make deb` sees them (tracked and new, not
    ignored: no build output), in a git repository of their own so that
    `make deb` there can list them again."""
    names = run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others",
                 "--exclude-standard"]).stdout.split("\0")
    for name in filter(None, names):
        src = os.path.join(ROOT, name)
        if not os.path.lexists(src):        # deleted in the working tree
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, name)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, name), follow_symlinks=False)
    run(["git", "-C", dst, "init", "-q"])


def request(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": "application/json"} if body else {}
        conn.request(method, path, body=json.dumps(body) if body else None,
                     headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()


def children_of(pid):
    out = run(["ps", "-o", "pid=", "--ppid", str(pid)], check=False).stdout
    return [int(x) for x in out.split()]


def answers(port, path):
    try:
        return request(port, "GET", path)[0] == 200
    except OSError:
        return False


# -- the private Apache ---------------------------------------------------------
class Apache:
    """/etc/apache2 copied to DIR/apache2, except mods-available and
    conf-available, which are links to the real ones (the package's files
    as installed); run, lock and log directories, the pid file and
    a2enmod's state all in DIR."""

    def __init__(self, top):
        self.top = top
        self.conf = os.path.join(top, "apache2")
        self.port = free_port()
        self.pid_file = os.path.join(top, "run", "apache2.pid")
        self.proc = None
        shutil.copytree("/etc/apache2", self.conf, symlinks=True,
                        ignore=shutil.ignore_patterns("mods-available",
                                                      "conf-available"))
        for d in ("mods-available", "conf-available"):
            os.symlink(os.path.join("/etc/apache2", d), os.path.join(self.conf, d))
        for d in ("log", "state"):
            os.makedirs(os.path.join(top, d))
        with open(os.path.join(self.conf, "envvars"), "a") as f:
            f.write(f"\n# test_deb.py: a private instance\n"
                    f"export APACHE_RUN_DIR={top}/run\n"
                    f"export APACHE_PID_FILE={self.pid_file}\n"
                    f"export APACHE_LOCK_DIR={top}/lock\n"
                    f"export APACHE_LOG_DIR={top}/log\n")
        with open(os.path.join(self.conf, "ports.conf"), "w") as f:
            f.write(f"Listen 127.0.0.1:{self.port}\n")
        self.env = clean_env(APACHE_CONFDIR=self.conf,
                             APACHE_STATE_DIRECTORY=os.path.join(top, "state"))

    def ctl(self, *args):
        """a2enmod, a2enconf or apache2ctl on this copy."""
        return run(list(args), env=self.env)

    def start(self):
        # apache2ctl passes -DFOREGROUND on to apache2 (never to systemd, as
        # `apache2ctl start` would on a systemd machine) and waits for it.
        with open(os.path.join(self.top, "log", "stderr"), "wb") as stderr:
            self.proc = subprocess.Popen(["apache2ctl", "-DFOREGROUND"],
                                         env=self.env, stdout=subprocess.DEVNULL,
                                         stderr=stderr)

        def up():
            assert self.proc.poll() is None, \
                f"apache2ctl exited {self.proc.returncode}:\n" + self.read_log()
            return os.path.exists(self.pid_file) and answers(self.port, "/metrics")
        wait_for(up, 30, what="the package's Apache to answer /metrics")

    def stop(self):
        """SIGTERM to the apache2 parent process, by its PID; returns once
        it and its children are gone."""
        if self.proc is None:
            return
        # The pid file's; if the start failed before it was written,
        # apache2ctl's child.
        try:
            with open(self.pid_file) as f:
                parents = [int(f.read())]
        except (FileNotFoundError, ValueError):
            parents = children_of(self.proc.pid)
        children = [c for p in parents for c in children_of(p)]
        for pid in parents:
            if process_alive(pid):
                os.kill(pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            for pid in parents + children:
                if process_alive(pid):
                    os.kill(pid, signal.SIGKILL)
            self.proc.wait(10)
        wait_for(lambda: not any(process_alive(p) for p in children), 20,
                 what="the children of the package's Apache to exit")
        self.proc = None

    def read_log(self):
        text = ""
        for name in ("error.log", "stderr"):
            try:
                with open(os.path.join(self.top, "log", name), errors="replace") as f:
                    text += f.read()
            except FileNotFoundError:
                pass
        return text


# -- fixtures -------------------------------------------------------------------
@pytest.fixture(scope="module")
def workdir():
    d = tempfile.mkdtemp(prefix="mod_orders-deb-")
    os.chmod(d, 0o755)      # apt's _apt user reads the .deb; www-data the logs
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def deb(workdir):
    """The .deb that `make deb` built in a copy of the repository."""
    src = os.path.join(workdir, "src")
    copy_working_tree(src)
    run(["make", "-C", src, "deb"], env=clean_env(), timeout=300)
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    version = run(["dpkg-parsechangelog", "-l",
                   os.path.join(src, "debian", "changelog"), "-S",
                   "Version"]).stdout.strip()
    path = os.path.join(src, "build", "deb", f"{PACKAGE}_{version}_{arch}.deb")
    assert os.path.exists(path), glob.glob(os.path.join(src, "build", "deb", "*"))
    return path


@pytest.fixture
def machine():
    """This machine, to be left as it was: one such test at a time (a lock
    on /etc/apache2, which nothing else takes), skipped when the package or
    its files are already here; afterwards the package is purged if it is
    still installed and /var/lib/mod_orders removed."""
    lock = os.open("/etc/apache2", os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        reason = None
    except BlockingIOError:
        reason = "another test_deb.py is using the package on this machine"
    if not reason and package_status():
        reason = (f"{PACKAGE} is known to dpkg already ({package_status()}): "
                  f"not ours to install or purge")
    present = [p for p in PACKAGE_FILES + [DB_DIR] if os.path.lexists(p)]
    if not reason and present:
        reason = f"already here (make install? a database?): {', '.join(present)}"
    if reason:
        os.close(lock)
        pytest.skip(reason)
    try:
        yield
    finally:
        try:
            if package_status():
                apt_get("purge", PACKAGE)
        finally:
            shutil.rmtree(DB_DIR, ignore_errors=True)
            os.close(lock)


@pytest.fixture
def apache(workdir):
    a = Apache(os.path.join(workdir, "apache"))
    yield a
    a.stop()


# -- tests ----------------------------------------------------------------------
def test_package_version_is_the_module_version():
    sources = "".join(open(f).read()
                      for f in glob.glob(os.path.join(ROOT, "mod_orders", "*.c")))
    module = re.search(r'#define ORDERS_VERSION\s+"([^"]+)"', sources).group(1)
    version = run(["dpkg-parsechangelog", "-l",
                   os.path.join(ROOT, "debian", "changelog"), "-S",
                   "Version"]).stdout.strip()
    assert version.split("-")[0] == module


def test_lintian_reports_no_error(deb):
    p = run(["lintian", deb], check=False)
    errors = [line for line in p.stdout.splitlines() if line.startswith("E:")]
    assert errors == [] and p.returncode == 0, p.stdout + p.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="installs a Debian package: needs root")
def test_installed_package_serves_orders_and_purge_keeps_them(machine, deb, apache):
    apt_get("install", deb)
    owner = pwd.getpwuid(os.stat(DB_DIR).st_uid).pw_name
    assert owner == "www-data", f"{DB_DIR} belongs to {owner}"

    assert "Enabling module orders" in apache.ctl("a2enmod", "orders").stdout
    assert "Enabling conf orders" in apache.ctl("a2enconf", "orders").stdout
    assert not glob.glob("/etc/apache2/*-enabled/orders.*"), "a2enmod wrote to /etc/apache2"
    assert "Syntax OK" in apache.ctl("apache2ctl", "configtest").stderr
    apache.start()

    status, body = request(apache.port, "POST", "/orders",
                           {"order_id": "deb-1", "user_id": 1,
                            "item_ids": [101, 102], "total_amount": 9.99})
    assert status == 202, body

    def completed():
        status, body = request(apache.port, "GET", "/orders/deb-1")
        assert status == 200, body
        return json.loads(body)["status"] == "Completed"
    wait_for(completed, COMPLETION_TIMEOUT, interval=0.1,
             what="order deb-1 to be Completed")

    status, body = request(apache.port, "GET", "/metrics")
    assert status == 200, body
    assert json.loads(body)["status_counts"]["Completed"] == 1, body
    status, body = request(apache.port, "GET", "/server-status?auto")
    assert status == 200 and "OrdersCompleted: 1" in body, body

    apache.stop()
    # The site's own access log: the module's notes of the POST.
    with open(os.path.join(apache.top, "log", "orders.log")) as f:
        posted = [line for line in f if '"POST /orders ' in line]
    assert len(posted) == 1 and "order=deb-1 user=1 outcome=created" in posted[0], posted
    log = apache.read_log()
    bad = [line for line in log.splitlines()
           if MODULE_LOG_LINE.search(line) or CRASH.search(line)]
    assert bad == [], "\n".join(bad)

    apt_get("purge", PACKAGE)
    assert package_status() == ""
    assert not any(os.path.lexists(p) for p in PACKAGE_FILES)
    assert os.path.exists(DB), f"purging {PACKAGE} removed {DB}"
