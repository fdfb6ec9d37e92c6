"""A private PostgreSQL 15 for the tests: initdb and pg_ctl as the
`postgres` user in a temporary directory, listening on 127.0.0.1 and a free
port (and a unix socket in that directory), removed afterwards."""
import json
import os
import shutil
import subprocess
import tempfile

from orders_server import IS_ROOT, free_port

PG_BIN = "/usr/lib/postgresql/15/bin"


def as_postgres(cmd):
    return (["runuser", "-u", "postgres", "--"] + cmd) if IS_ROOT else cmd


class PostgresServer:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mod_orders-pg-")
        os.chmod(self.dir, 0o755)
        if IS_ROOT:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.databases = 0

    def run(self, *cmd, **kw):
        return subprocess.run(as_postgres(list(cmd)), check=True,
                              capture_output=True, text=True, **kw)

    def start(self):
        if not os.path.exists(self.data):
            self.run(f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres",
                     "--auth=trust", "--no-sync", "-E", "UTF8")
        self.run(f"{PG_BIN}/pg_ctl", "-D", self.data, "-w", "-t", "60",
                 "-l", os.path.join(self.dir, "postgres.log"),
                 "-o", f"-p {self.port} -k {self.dir} "
                       f"-c listen_addresses=127.0.0.1 -c max_connections=600 "
                       f"-c synchronous_commit=on",
                 "start")
        return self

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self.run(f"{PG_BIN}/pg_ctl", "-D", self.data, "-w", "-m", "fast", "stop")

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def params(self, dbname):
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user=postgres"

    def create_database(self):
        self.databases += 1
        name = f"orders{self.databases}"
        self.run(f"{PG_BIN}/createdb", "-h", self.dir, "-p", str(self.port),
                 "-U", "postgres", name)
        return name

    def execute(self, dbname, sql):
        """Runs `sql` (one statement, outside a transaction block: ALTER
        SYSTEM too); its output."""
        return self.run("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                        "-h", self.dir, "-p", str(self.port), "-U", "postgres",
                        "-d", dbname, "-c", sql).stdout

    def query(self, dbname, sql):
        """Rows of `sql` as a list of dicts (through json_agg)."""
        out = self.run("psql", "-X", "-q", "-A", "-t", "-h", self.dir,
                       "-p", str(self.port), "-U", "postgres", "-d", dbname,
                       "-c", f"SELECT COALESCE(json_agg(t), '[]') FROM ({sql}) t").stdout
        return json.loads(out)
