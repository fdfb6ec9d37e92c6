"""A private MariaDB for the tests: mariadb-install-db and mariadbd as the
`mysql` user in a temporary directory (datadir, unix socket, pid file and
log there), listening on 127.0.0.1 and a free port, removed afterwards.

The module connects over TCP as `orders`@`127.0.0.1`, a user with every
privilege on the databases named orders%, as the README tells operators to
set it up; the tests read the database over the unix socket as root
(PyMySQL), each with its own random password.
"""
import decimal
import os
import secrets
import shutil
import subprocess
import tempfile

import pymysql

from orders_server import IS_ROOT, free_port, process_alive, terminate, wait_for

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
# The module's user.  The password is random hex: apr_dbd_mysql's DBDParams
# parser ends a value at a space, tab, newline, ';', '|' or ','.
USER = "orders"


def user_kw():
    """subprocess arguments that run a command as `mysql` (when root)."""
    return dict(user="mysql", group="mysql", extra_groups=[]) if IS_ROOT else {}


def setup_sql(password):
    """What the module's user needs, as the README tells operators."""
    return [f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{password}'",
            f"GRANT ALL ON `orders%`.* TO '{USER}'@'127.0.0.1'"]


def _python(value):
    """A value as PostgreSQL's json_agg would give it to the tests: DECIMAL
    (SUM and AVG of integers) as int when whole, else float; bytes (a
    binary string) as str."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and \
            value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.decode()
    return value


class MariaDBServer:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mod_orders-my-")
        os.chmod(self.dir, 0o755)
        if IS_ROOT:
            shutil.chown(self.dir, "mysql", "mysql")
        self.data = os.path.join(self.dir, "data")
        self.tmp = os.path.join(self.dir, "tmp")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.pid_file = os.path.join(self.dir, "mysqld.pid")
        self.log = os.path.join(self.dir, "mariadb.log")
        self.port = free_port()
        self.root_password = secrets.token_hex(16)
        self.password = secrets.token_hex(16)
        self.databases = 0
        self.proc = None

    # -- life cycle -----------------------------------------------------------
    def options(self):
        return ["--no-defaults",
                f"--datadir={self.data}", f"--tmpdir={self.tmp}",
                f"--socket={self.socket}", f"--pid-file={self.pid_file}",
                f"--log-error={self.log}",
                "--bind-address=127.0.0.1", f"--port={self.port}",
                "--skip-name-resolve", "--max-connections=600",
                "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin",
                "--default-storage-engine=InnoDB",
                "--innodb-flush-log-at-trx-commit=1",
                "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M"]

    def install(self):
        """The system tables, root's password and the module's user (SQL
        given to the bootstrap: after FLUSH PRIVILEGES it takes account
        statements)."""
        init = os.path.join(self.dir, "init.sql")
        with open(init, "w") as f:
            f.write("FLUSH PRIVILEGES;\n"
                    "ALTER USER 'root'@'localhost' IDENTIFIED VIA "
                    f"mysql_native_password USING PASSWORD('{self.root_password}');\n"
                    + "".join(s + ";\n" for s in setup_sql(self.password)))
        os.chmod(init, 0o600)
        if IS_ROOT:
            shutil.chown(init, "mysql", "mysql")
        try:
            p = subprocess.run([INSTALL_DB] + self.options()[:1]
                               + ["--skip-test-db", f"--extra-file={init}"]
                               + self.options()[1:],
                               capture_output=True, text=True, cwd=self.dir,
                               **user_kw())
        finally:
            os.unlink(init)
        if p.returncode != 0:
            raise AssertionError(f"mariadb-install-db failed ({p.returncode}):\n"
                                 + p.stdout[-3000:] + p.stderr[-3000:])

    def start(self, timeout=60):
        """Starts mariadbd (installing the datadir the first time) and
        returns once it accepts connections."""
        assert self.proc is None, "already started"
        if not os.path.exists(self.data):
            os.makedirs(self.tmp, exist_ok=True)
            if IS_ROOT:
                shutil.chown(self.tmp, "mysql", "mysql")
            self.install()
        self.proc = subprocess.Popen([MARIADBD] + self.options(),
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     cwd=self.dir, **user_kw())

        def accepts():
            if self.proc.poll() is not None:
                raise AssertionError(f"mariadbd exited with {self.proc.returncode}:\n"
                                     + self.read_log()[-3000:])
            try:
                self.connect(connect_timeout=2).close()
                return True
            except pymysql.err.OperationalError:
                return False
        try:
            wait_for(accepts, timeout, interval=0.1,
                     what="mariadbd to accept connections")
        except BaseException:
            self.stop()         # none left running by a failed start
            raise
        return self

    def stop(self, timeout=60):
        """A clean shutdown (SIGTERM), waited for."""
        if self.proc is None:
            return
        terminate(self.proc, timeout)
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def alive(self):
        return self.proc is not None and process_alive(self.proc.pid)

    def read_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # -- the module's side ----------------------------------------------------
    def params(self, dbname):
        """DBDParams for apr_dbd_mysql (its keys: host, port, user, pass,
        dbname, sock, flags, fldsz, group, reconnect)."""
        return (f"host=127.0.0.1 port={self.port} user={USER} "
                f"pass={self.password} dbname={dbname}")

    def create_database(self):
        self.databases += 1
        name = f"orders{self.databases}"
        self.execute(None, f"CREATE DATABASE `{name}` "
                           "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        return name

    # -- the tests' side: root over the unix socket ------------------------------
    def connect(self, dbname=None, **kw):
        return pymysql.connect(unix_socket=self.socket, user="root",
                               password=self.root_password, database=dbname,
                               charset="utf8mb4", autocommit=True, **kw)

    def execute(self, dbname, sql):
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def query(self, dbname, sql):
        """Rows of `sql` as a list of dicts, typed as PostgreSQL's json_agg
        gives them (integers int, NULL None, text str)."""
        conn = self.connect(dbname, cursorclass=pymysql.cursors.DictCursor)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                rows = cur.fetchall()
        finally:
            conn.close()
        return [{k: _python(v) for k, v in row.items()} for row in rows]

    def connections(self, dbname=None):
        """Ids of the module user's connections (of `dbname` only if given)."""
        where = f"USER = '{USER}'" + (f" AND DB = '{dbname}'" if dbname else "")
        return [r["ID"] for r in self.query(
            None, f"SELECT ID FROM information_schema.PROCESSLIST WHERE {where}")]

    def kill_connections(self, dbname=None):
        """KILLs every connection of the module's user (of `dbname` only if
        given), as pg_terminate_backend ends PostgreSQL sessions: what a
        restart, a failover or an idle-connection killer does.  Returns how
        many were killed (one gone meanwhile is not counted)."""
        killed = 0
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                for cid in self.connections(dbname):
                    try:
                        cur.execute(f"KILL CONNECTION {int(cid)}")
                        killed += 1
                    except pymysql.err.MySQLError as e:
                        if e.args[0] != 1094:   # Unknown thread id: it ended
                            raise               # meanwhile
        finally:
            conn.close()
        return killed

    def transactions_left_open(self, dbname, older_than_ms=300):
        """The analogue of pg_stat_activity's sessions inside a transaction:
        the module's connections to `dbname` with an InnoDB transaction open
        whose current statement (or idleness) has lasted longer than
        `older_than_ms`; (pid, state, since) as test_hung_child reads them."""
        return self.query(
            None,
            "SELECT p.ID AS pid, p.COMMAND AS state, "
            "CAST(t.trx_started AS CHAR) AS since "
            "FROM information_schema.INNODB_TRX t "
            "JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
            f"WHERE p.DB = '{dbname}' AND p.ID <> CONNECTION_ID() "
            f"AND p.TIME_MS > {int(older_than_ms)}")
