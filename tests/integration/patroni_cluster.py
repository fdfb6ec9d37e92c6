"""A private Patroni cluster for the tests: one etcd (v3 API) and two
Patroni nodes, each managing a PostgreSQL 15, all on 127.0.0.1 and free
ports, in one temporary directory, run as the `postgres` user when the
tests run as root, removed afterwards.

Patroni (Debian 12: 3.0.2) and etcd (3.4) are Debian's `patroni`,
`etcd-server` and `python3-etcd`: Patroni's `etcd3:` DCS talks to etcd's
v3 gRPC-gateway over HTTP with urllib3 (it takes only its exception
classes from python-etcd), so neither python3-etcd3 nor etcd's v2 API is
needed.

The cluster runs in Patroni's synchronous mode (docs/replication_modes.rst,
"Synchronous mode"; docs/SETTINGS.rst, "Dynamic configuration settings" of
Patroni 3.0.2): the leader keeps the other node in
synchronous_standby_names and in the DCS /sync key, a commit is acknowledged
only once the standby has flushed it, and only that standby may be promoted
when the leader dies.  Without synchronous_mode_strict (the default here) a
primary with no synchronous standby goes standalone: after a failover, and
for the few seconds after a switchover until Patroni names the old leader
its synchronous standby again, commits are acknowledged that exist on one
node only (Patroni still never promotes a node that might lack them).
`strict=True` sets synchronous_mode_strict: such a primary sets
synchronous_standby_names to '*' and every COMMIT waits until a standby
streams again; after kill_leader() writes then resume only once
restart_killed() brings the old node back.

The timings are short so that a failover fits in seconds: ttl 10 (the
leader lock's lease: a dead leader's lock expires within ttl), loop_wait 1,
retry_timeout 4, keeping Patroni's rule loop_wait + 2 * retry_timeout <=
ttl (docs/dynamic_configuration.rst; enforced, with a minimum ttl of 20,
only from Patroni 3.2.0 on, docs/releases.rst).  A SIGKILLed leader (its
Patroni and its postmaster) is replaced after about ttl seconds.

Ready means: one node is the leader, its PostgreSQL is a primary, and the
other is the synchronous standby both in the DCS (GET /cluster role
`sync_standby`) and on the primary (pg_stat_replication state `streaming`,
sync_state `sync`, as Patroni's GET /patroni shows it).

Measured on 2 cores (ttl 10): start 7-9 s; kill_leader() to promotion and
to the first write 10.1-10.4 s; restart_killed() 7-9 s (crash recovery,
pg_rewind, streaming); switchover(): POST answered in 2.0-2.4 s, writes
interrupted 1.4 s (2.2-2.8 s strict), sync standby again after 7-9 s;
cleanup() 4-5 s (graceful) or 0.5 s.

Timestamps returned by the methods are time.monotonic() values.
"""
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from orders_server import IS_ROOT, free_port, process_alive, terminate, wait_for

PG_BIN = "/usr/lib/postgresql/15/bin"
PATRONI = "/usr/bin/patroni"
ETCD = "/usr/bin/etcd"
NODES = ("node1", "node2")
# GET /patroni's role of a primary: "master" in Patroni 3.0, "primary" in 4.
PRIMARY = ("master", "primary")
# Patroni's dynamic configuration (written to the DCS by the node that
# bootstraps the cluster; docs/SETTINGS.rst "Dynamic configuration settings").
TTL = 10
LOOP_WAIT = 1
RETRY_TIMEOUT = 4


def user_kw():
    """subprocess arguments that run a command as `postgres` (when root)."""
    return dict(user="postgres", group="postgres", extra_groups=[]) if IS_ROOT else {}


def _chown(path):
    if IS_ROOT:
        shutil.chown(path, "postgres", "postgres")


def _tail(path, n=4000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _pgid(pid):
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _kill(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class PsqlError(subprocess.CalledProcessError):
    def __str__(self):
        return f"{super().__str__()}\n{self.stderr}"


class PatroniCluster:
    def __init__(self, strict=False, ttl=TTL, loop_wait=LOOP_WAIT,
                 retry_timeout=RETRY_TIMEOUT, scope="mod_orders"):
        # Patroni's rule (docs/dynamic_configuration.rst).
        assert loop_wait + 2 * retry_timeout <= ttl, "loop_wait + 2*retry_timeout > ttl"
        self.strict = strict
        self.ttl, self.loop_wait, self.retry_timeout = ttl, loop_wait, retry_timeout
        self.scope = scope
        self.dir = tempfile.mkdtemp(prefix="mod_orders-patroni-")
        os.chmod(self.dir, 0o755)
        _chown(self.dir)
        self.etcd_dir = os.path.join(self.dir, "etcd")
        self.etcd_port = free_port()
        self.etcd_peer_port = free_port()
        self.etcd_log = os.path.join(self.dir, "etcd.log")
        self.etcd = None
        self.nodes = {}
        for name in NODES:
            d = os.path.join(self.dir, name)
            self.nodes[name] = {
                "name": name, "dir": d, "data": os.path.join(d, "data"),
                "config": os.path.join(d, "patroni.yml"),
                "log": os.path.join(d, "patroni.log"),
                "port": free_port(), "api_port": free_port(), "proc": None}
        # Every postmaster, Patroni and etcd started, so that cleanup() can
        # kill what is left (and their process groups).
        self.postmasters = set()
        self.started = set()
        self.databases = 0
        self.killed = None      # what kill_leader() did last

    # -- configuration ---------------------------------------------------------
    def node_config(self, node):
        """Patroni's YAML for `node` (written as JSON, a subset of YAML).
        Keys as docs/SETTINGS.rst of Patroni 3.0.2 describes them."""
        d = node["dir"]
        trust = ["local all all trust",
                 "local replication all trust",
                 "host all all 127.0.0.1/32 trust",
                 "host replication all 127.0.0.1/32 trust"]
        return {
            "scope": self.scope,
            "namespace": "/service/",
            "name": node["name"],
            "log": {"level": "INFO"},
            "restapi": {"listen": f"127.0.0.1:{node['api_port']}",
                        "connect_address": f"127.0.0.1:{node['api_port']}"},
            "etcd3": {"hosts": [f"127.0.0.1:{self.etcd_port}"], "protocol": "http"},
            "bootstrap": {
                "dcs": {
                    "ttl": self.ttl, "loop_wait": self.loop_wait,
                    "retry_timeout": self.retry_timeout,
                    "maximum_lag_on_failover": 1048576,
                    "synchronous_mode": True,
                    "synchronous_mode_strict": self.strict,
                    "synchronous_node_count": 1,
                    "postgresql": {
                        "use_pg_rewind": True,
                        "use_slots": True,
                        # max_connections can only be set here (dynamic).
                        "parameters": {
                            "max_connections": 600,
                            "synchronous_commit": "on",
                            "wal_level": "replica",
                            "wal_log_hints": "on",
                            "hot_standby": "on",
                            "max_wal_senders": 10,
                            "max_replication_slots": 10,
                            "wal_keep_size": "128MB",
                            # A standby retries to stream every second,
                            # not every 5 s (PostgreSQL's default).
                            "wal_retrieve_retry_interval": "1s",
                        },
                    },
                },
                "initdb": [{"encoding": "UTF8"}],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{node['port']}",
                "connect_address": f"127.0.0.1:{node['port']}",
                "data_dir": node["data"],
                "bin_dir": PG_BIN,
                "pgpass": os.path.join(d, "pgpass"),
                "pg_ctl_timeout": 60,
                # Tests only: every local and loopback connection is trusted.
                "pg_hba": trust,
                "authentication": {
                    "superuser": {"username": "postgres", "password": "postgres"},
                    "replication": {"username": "replicator", "password": "replicator"},
                },
                "parameters": {
                    "unix_socket_directories": d,
                    "log_line_prefix": f"%m [%p] {node['name']} ",
                },
            },
            "watchdog": {"mode": "off"},
            "tags": {"nofailover": False, "noloadbalance": False,
                     "clonefrom": False, "nosync": False},
        }

    def env(self, home):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PATRONI", "PG", "ETCD"))}
        env["HOME"] = home
        return env

    # -- life cycle ------------------------------------------------------------
    def start(self, timeout=120):
        """Starts etcd and both nodes; returns once a leader is elected and
        the other node is its synchronous standby, streaming."""
        try:
            self.start_etcd()
            for name in NODES:
                self.start_node(name)
            self.wait_healthy(timeout)
        except AssertionError as e:
            logs = self.logs()
            self.cleanup()      # none left running by a failed start
            raise AssertionError(f"{e}\n{logs}") from None
        except BaseException:
            self.cleanup()
            raise
        return self

    def start_etcd(self, timeout=30):
        os.makedirs(self.etcd_dir, mode=0o700, exist_ok=True)
        _chown(self.etcd_dir)
        client = f"http://127.0.0.1:{self.etcd_port}"
        peer = f"http://127.0.0.1:{self.etcd_peer_port}"
        cmd = [ETCD, "--name", "etcd1", "--data-dir", self.etcd_dir,
               "--listen-client-urls", client, "--advertise-client-urls", client,
               "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
               "--initial-cluster", f"etcd1={peer}",
               "--initial-cluster-state", "new",
               "--initial-cluster-token", os.path.basename(self.dir),
               "--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn"]
        with open(self.etcd_log, "ab") as log:
            self.etcd = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, cwd=self.dir, env=self.env(self.dir),
                                         start_new_session=True, **user_kw())
        self.started.add(self.etcd.pid)

        def healthy():
            if self.etcd.poll() is not None:
                raise AssertionError(f"etcd exited with {self.etcd.returncode}:\n"
                                     + _tail(self.etcd_log))
            status, body = self._http(self.etcd_port, "GET", "/health")
            return status == 200 and body.get("health") == "true"
        wait_for(healthy, timeout, interval=0.1, what="etcd to be healthy")

    def start_node(self, name):
        """Starts (or restarts, after kill_leader()) the Patroni of `name`.
        A former leader comes back as a standby (pg_rewind if needed)."""
        node = self.nodes[name]
        assert node["proc"] is None or node["proc"].poll() is not None, \
            f"{name} is running"
        os.makedirs(node["dir"], exist_ok=True)
        _chown(node["dir"])
        with open(node["config"], "w") as f:
            json.dump(self.node_config(node), f, indent=1)
        _chown(node["config"])
        with open(node["log"], "ab") as log:
            node["proc"] = subprocess.Popen([PATRONI, node["config"]],
                                            stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=log, cwd=node["dir"],
                                            env=self.env(node["dir"]),
                                            start_new_session=True, **user_kw())
        self.started.add(node["proc"].pid)

    def wait_healthy(self, timeout=120):
        """Waits for a leader whose PostgreSQL is a primary and a
        synchronous standby that streams from it; returns the time."""
        def check():
            for node in self.nodes.values():
                p = node["proc"]
                if p is not None and p.poll() is not None and node is not self._killed_node():
                    raise AssertionError(f"patroni {node['name']} exited with "
                                         f"{p.returncode}:\n" + _tail(node["log"]))
            return self.healthy()
        wait_for(check, timeout, interval=0.2,
                 what="a Patroni leader and a streaming synchronous standby")
        self._note_postmasters()
        return time.monotonic()

    def healthy(self):
        members = self.members()
        if members is None:
            return False
        # Patroni 3.0 says "running" for a standby, 3.1+ "streaming".
        leader = [m for m in members if m.get("role") == "leader"
                  and m.get("state") == "running"]
        sync = [m for m in members if m.get("role") == "sync_standby"
                and m.get("state") in ("running", "streaming")]
        if len(leader) != 1 or len(sync) != 1:
            return False
        status, st = self._http(self.nodes[leader[0]["name"]]["api_port"], "GET", "/patroni")
        if status != 200 or st.get("role") not in PRIMARY or st.get("state") != "running":
            return False
        return any(r.get("application_name") == sync[0]["name"]
                   and r.get("state") == "streaming" and r.get("sync_state") == "sync"
                   for r in st.get("replication") or [])

    def _killed_node(self):
        return self.nodes[self.killed["name"]] if self.killed else None

    # -- state ------------------------------------------------------------------
    def _http(self, port, method, path, body=None, timeout=2):
        """(status, JSON body or {"text": ...}); (None, {}) when unreachable."""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            data = json.dumps(body) if body is not None else None
            conn.request(method, path, body=data,
                         headers={"Content-Type": "application/json"} if data else {})
            r = conn.getresponse()
            text = r.read().decode(errors="replace")
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, {"text": text}
        except OSError:
            return None, {}
        finally:
            conn.close()

    def members(self):
        """GET /cluster of the first node that answers: its "members"."""
        for node in self.nodes.values():
            if node["proc"] is None or node["proc"].poll() is not None:
                continue
            status, body = self._http(node["api_port"], "GET", "/cluster")
            if status == 200 and "members" in body:
                return body["members"]
        return None

    def _member(self, role):
        for m in self.members() or []:
            if m.get("role") in role:
                node = self.nodes[m["name"]]
                return {"name": m["name"], "host": "127.0.0.1", "port": node["port"],
                        "api_port": node["api_port"], "state": m.get("state"),
                        "role": m["role"]}
        return None

    def leader(self):
        """The leader as the DCS has it: name, host, port, api_port, ...;
        None while there is none."""
        return self._member(("leader",))

    def replica(self):
        """The (synchronous) standby: name, host, port, api_port, ..."""
        return self._member(("sync_standby", "replica"))

    def postmaster_pid(self, name):
        try:
            with open(os.path.join(self.nodes[name]["data"], "postmaster.pid")) as f:
                pid = int(f.readline())
        except (OSError, ValueError):
            return None
        return pid if process_alive(pid) else None

    def _note_postmasters(self):
        for name in NODES:
            pid = self.postmaster_pid(name)
            if pid:
                self.postmasters.add(pid)

    # -- SQL ----------------------------------------------------------------------
    def dbd_params(self, dbname, connect_timeout=2):
        """A libpq multi-host DBDParams: libpq tries node1 then node2 and
        keeps the one that accepts writes."""
        ports = ",".join(str(self.nodes[n]["port"]) for n in NODES)
        return (f"host={','.join('127.0.0.1' for _ in NODES)} port={ports} "
                f"dbname={dbname} user=postgres target_session_attrs=read-write "
                f"connect_timeout={connect_timeout}")

    def params(self, dbname):
        """The DBDParams a Server on this cluster is given (as
        PostgresServer.params)."""
        return self.dbd_params(dbname)

    def node_params(self, name, dbname):
        return (f"host=127.0.0.1 port={self.nodes[name]['port']} dbname={dbname} "
                f"user=postgres connect_timeout=2")

    def psql(self, conninfo, sql, timeout=30):
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-d", conninfo, "-c", sql],
                           capture_output=True, text=True, timeout=timeout,
                           env=self.env(os.environ.get("HOME", "/")))
        if p.returncode != 0:
            raise PsqlError(p.returncode, p.args, p.stdout, p.stderr)
        return p.stdout

    def _rows(self, conninfo, sql, timeout):
        out = self.psql(conninfo, f"SELECT COALESCE(json_agg(t), '[]') FROM ({sql}) t",
                        timeout)
        return json.loads(out)

    def query(self, dbname, sql, timeout=30):
        """Rows of `sql` on the current primary (the multi-host DSN with
        target_session_attrs=read-write), as a list of dicts (json_agg)."""
        return self._rows(self.dbd_params(dbname), sql, timeout)

    def query_node(self, name, dbname, sql, timeout=30):
        """Rows of `sql` on node `name` (a standby answers reads)."""
        return self._rows(self.node_params(name, dbname), sql, timeout)

    def wait_sync_streaming(self, name, dbname, timeout=60):
        """Waits until node `name` has a standby streaming to it as a
        synchronous one (its pg_stat_replication, looked at every 0.05 s:
        from then on, a COMMIT there can be acknowledged in strict mode);
        returns the time.  Patroni's member list says so a loop later."""
        wait_for(lambda: self.query_node(
            name, dbname, "SELECT 1 AS one FROM pg_stat_replication "
            "WHERE state = 'streaming' AND sync_state = 'sync'"),
            timeout, interval=0.05, what=f"a synchronous standby streaming to {name}")
        return time.monotonic()

    def execute(self, dbname, sql, timeout=30):
        """Runs `sql` on the current primary."""
        return self.psql(self.dbd_params(dbname), sql, timeout)

    def create_database(self, timeout=30):
        """CREATE DATABASE on the primary; returns its name once every
        running standby has replayed it too.  (synchronous_commit=on waits
        for the standby's flush, not its replay, and libpq does not try
        the next host of a multi-host DSN when the first one answers
        'database ... does not exist': a DSN whose first host is the
        standby fails until then.)"""
        self.databases += 1
        name = f"orders{self.databases}"
        self.execute("postgres", f"CREATE DATABASE {name}")
        sql = f"SELECT 1 AS ok FROM pg_database WHERE datname = '{name}'"
        def replayed(node):
            try:
                return self.query_node(node, "postgres", sql, timeout=5)
            except (PsqlError, subprocess.TimeoutExpired):
                return False
        for m in self.members() or []:
            if m.get("role") != "leader" and m.get("state") in ("running", "streaming"):
                wait_for(lambda: replayed(m["name"]), timeout, interval=0.1,
                         what=f"{name} on {m['name']}")
        return name

    # -- failures -------------------------------------------------------------------
    def kill_leader(self):
        """SIGKILL of the leader's Patroni, then of its postmaster, by PID;
        returns once both are gone and the postmaster's backends, which
        notice its death, have exited (clients see their connections
        closed).  Returns {"name", "patroni_pid", "postmaster_pid",
        "killed_at"}."""
        leader = self.leader()
        assert leader, "no leader to kill"
        node = self.nodes[leader["name"]]
        pm = self.postmaster_pid(leader["name"])
        assert pm, f"no postmaster for {leader['name']}"
        self.postmasters.add(pm)
        # Its backends and auxiliary processes (each in a session of its own).
        children = [p for p in self.processes() if _ppid(p) == pm]
        proc = node["proc"]
        os.kill(proc.pid, signal.SIGKILL)
        os.kill(pm, signal.SIGKILL)
        killed_at = time.monotonic()
        proc.wait(10)
        wait_for(lambda: not process_alive(pm), 10, what=f"postmaster {pm} to die")
        wait_for(lambda: not [p for p in children if process_alive(p)], 10,
                 interval=0.05, what=f"the backends of postmaster {pm} to exit")
        self.killed = {"name": leader["name"], "patroni_pid": proc.pid,
                       "postmaster_pid": pm, "killed_at": killed_at}
        return dict(self.killed)

    def wait_new_leader(self, timeout=60):
        """After kill_leader(): waits until the other node's PostgreSQL is a
        primary (Patroni's GET /patroni role "master", from
        pg_is_in_recovery()), polled every 0.1 s.  Returns the time it was
        first seen promoted."""
        assert self.killed, "kill_leader() first"
        survivor = [n for n in NODES if n != self.killed["name"]][0]
        port = self.nodes[survivor]["api_port"]

        def promoted():
            status, st = self._http(port, "GET", "/patroni", timeout=1)
            return status == 200 and st.get("role") in PRIMARY \
                and st.get("state") == "running"
        wait_for(promoted, timeout, interval=0.1,
                 what=f"{survivor} to be promoted")
        t = time.monotonic()
        self._note_postmasters()
        return t

    def wait_writable(self, dbname="postgres", timeout=60):
        """Waits until a write transaction commits through the multi-host
        DSN (SELECT txid_current() takes an xid, so its COMMIT waits for a
        synchronous standby when there is one to wait for).  With
        strict=True and no standby, that blocks: call after the standby
        is back.  Returns the time of the first success."""
        def writes():
            try:
                self.psql(self.dbd_params(dbname), "SELECT txid_current()", timeout=5)
                return True
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                return False
        wait_for(writes, timeout, interval=0.1, what="a write on the primary")
        return time.monotonic()

    def restart_killed(self, timeout=120):
        """Starts the killed node's Patroni again and waits until it is the
        synchronous standby of the new leader; returns the time."""
        assert self.killed, "kill_leader() first"
        name = self.killed["name"]
        self.start_node(name)
        self.killed = None
        return self.wait_healthy(timeout)

    def patronictl(self, *args, timeout=60):
        """`patronictl -c <node1's config> ARGS` (it finds the cluster
        through etcd), as `postgres` when root; its stdout."""
        p = subprocess.run(["patronictl", "-c", self.nodes[NODES[0]]["config"]] + list(args),
                           capture_output=True, text=True, timeout=timeout,
                           cwd=self.dir, env=self.env(self.dir), **user_kw())
        if p.returncode != 0:
            raise subprocess.CalledProcessError(p.returncode, p.args, p.stdout, p.stderr)
        return p.stdout

    def switchover(self, candidate=None, timeout=120, via="rest", healthy=True):
        """A planned switchover to `candidate` (default: the synchronous
        standby), by POST /switchover to the leader's REST API, or with
        `patronictl switchover --force` (via="patronictl", which does the
        same POST); returns once the candidate leads and the old leader
        streams to it as its synchronous standby.  Returns
        {"requested_at", "switched_at" (the POST's answer: Patroni polls
        until the candidate holds the leader lock), "healthy_at"}; with
        healthy=False it returns once the candidate leads (healthy_at None:
        call wait_healthy() later)."""
        leader = self.leader()
        assert leader, "no leader"
        if candidate is None:
            replica = self.replica()
            assert replica, "no standby to switch over to"
            candidate = replica["name"]
        t0 = time.monotonic()
        if via == "patronictl":
            out = self.patronictl("switchover", "--leader", leader["name"],
                                  "--candidate", candidate, "--force", self.scope)
            assert "Successfully switched over" in out, out
        else:
            status, body = self._http(leader["api_port"], "POST", "/switchover",
                                      {"leader": leader["name"], "candidate": candidate},
                                      timeout=60)
            assert status == 200, f"switchover answered {status}: {body}"
        t1 = time.monotonic()
        wait_for(lambda: (self.leader() or {}).get("name") == candidate, timeout,
                 interval=0.2, what=f"{candidate} to lead")
        t2 = self.wait_healthy(timeout) if healthy else None
        return {"requested_at": t0, "switched_at": t1, "healthy_at": t2}

    # -- removal -----------------------------------------------------------------
    def processes(self):
        """PIDs still running that belong to this cluster: any process whose
        command line names its directory (Patroni, etcd, a postmaster, all
        started with it), the children of a postmaster (its backends and
        auxiliary processes, each of which calls setsid()), and the members
        of the process group of every Patroni and etcd started (Patroni's
        initdb, pg_basebackup, pg_rewind, postgres --single)."""
        self._note_postmasters()
        roots = self.started
        mine = os.getpgid(0)
        ours = self.dir.encode()

        def cmdline(pid):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    return f.read()
            except OSError:
                return None

        # A group whose leader is gone, or still ours (not a reused PID).
        groups = {g for g in roots if g != mine
                  and (not process_alive(g) or ours in (cmdline(g) or b""))}
        pids = set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            cmd = cmdline(pid)
            if cmd is None or not process_alive(pid):
                continue
            if ours in cmd or _pgid(pid) in groups:
                pids.add(pid)
        # Children of those (a postmaster's command line names its -D).
        parents = set(pids)
        for entry in os.listdir("/proc"):
            if entry.isdigit() and _ppid(int(entry)) in parents \
                    and process_alive(int(entry)):
                pids.add(int(entry))
        return sorted(pids)

    def cleanup(self, remove=True, graceful=True, timeout=20):
        """Stops each Patroni with SIGTERM (it stops its PostgreSQL with a
        fast shutdown; about 2 s each), the leader first, then etcd; SIGKILL
        of whatever is left after `timeout` (of everything at once when not
        `graceful`); removes the directory."""
        self._note_postmasters()
        leader = (self.leader() or {}).get("name") if graceful else None
        order = sorted(self.nodes.values(), key=lambda n: n["name"] != leader)
        deadline = time.monotonic() + (timeout if graceful else 0)
        for n in order:
            p = n["proc"]
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill(p.pid)
                p.wait(10)
        if self.etcd is not None:
            terminate(self.etcd, 10)
        for _ in range(3):
            left = self.processes()
            if not left:
                break
            for pid in left:
                _kill(pid)
            time.sleep(0.2)
        for n in self.nodes.values():
            n["proc"] = None
        self.etcd = None
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self):
        """The tails of etcd's and each node's log, for a failure message."""
        out = [f"== etcd ==\n{_tail(self.etcd_log)}"]
        for n in self.nodes.values():
            out.append(f"== {n['name']} ==\n{_tail(n['log'])}")
        return "\n".join(out)
