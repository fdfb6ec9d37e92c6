"""Monitoring (API.md section 1 "Monitoring"): conf/prometheus/orders.rules.yml
passes promtool and its unit tests (orders.rules.test.yml, which show every
alert firing and not firing), and a real Prometheus, scraping a real server
of the module every second with those rules loaded, evaluates every rule
without error and answers every query of the Grafana dashboard
(conf/grafana/mod_orders.json) with data.

Nothing is mocked: Debian's /usr/bin/prometheus runs privately (its own
directory, a free loopback port, stopped by its PID), the module's server
is the tests' usual one, and webhooks go to a real receiver on loopback."""
import contextlib
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request

from orders_data import order
from orders_server import ROOT, Server, free_port, terminate, wait_for
from test_webhooks import Receiver, webhook_conf

PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"
PROM_DIR = os.path.join(ROOT, "conf", "prometheus")
RULES = os.path.join(PROM_DIR, "orders.rules.yml")
RULE_TESTS = os.path.join(PROM_DIR, "orders.rules.test.yml")
EXAMPLE_CONFIG = os.path.join(PROM_DIR, "prometheus.yml.example")
DASHBOARD = os.path.join(ROOT, "conf", "grafana", "mod_orders.json")
JOB = "mod_orders"
# What Grafana puts for its own variables: $__rate_interval is at least four
# scrape intervals (4 s here); a minute leaves room for scrapes a loaded
# machine delays, and still holds the two samples a rate needs from the
# second scrape on.
GRAFANA_BUILTINS = {"__rate_interval": "1m", "__interval": "1m", "__range": "1m"}


def promtool(*args):
    """(exit status, stdout and stderr) of promtool with `args`."""
    r = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def rule_names(kind):
    """Names of the rules of `kind` ("alert" or "record") in the rules file,
    in order, repeated as often as they are defined (our own file: one
    `- alert: Name` a line)."""
    with open(RULES) as f:
        return re.findall(rf"^\s*- {kind}:\s*(\S+)\s*$", f.read(), re.M)


# -- the rules and their unit tests ----------------------------------------------

def test_rules_pass_promtool_check():
    status, out = promtool("check", "rules", RULES)
    assert status == 0, out
    count = len(rule_names("alert")) + len(rule_names("record"))
    assert f"SUCCESS: {count} rules found" in out, out


def test_rule_unit_tests_pass():
    # Relative rule_files resolve from the test file's directory.
    status, out = promtool("test", "rules", RULE_TESTS)
    assert status == 0 and "SUCCESS" in out and "FAILED" not in out, out


def test_rule_unit_tests_show_every_alert_firing_and_not_firing():
    """Each alert_rule_test names an alert and an eval_time; with
    exp_alerts the alert must fire, without it must not.  Every alert of
    the rules file has at least one of each."""
    with open(RULE_TESTS) as f:
        text = f.read()
    firing, quiet = set(), set()
    for case in re.split(r"^\s*- eval_time:", text, flags=re.M)[1:]:
        name = re.search(r"^\s*alertname:\s*(\S+)", case, re.M).group(1)
        # A case ends where the next test begins.
        case = re.split(r"^\s*- name:", case, flags=re.M)[0]
        (firing if re.search(r"^\s*exp_alerts:", case, re.M) else quiet).add(name)
    alerts = set(rule_names("alert"))
    assert alerts >= {"ModOrdersOrdersWaitingTooLong", "ModOrdersProcessingStalled",
                      "ModOrdersDatabaseUnavailable", "ModOrdersWebhooksFailing",
                      "ModOrdersWebhookBacklogTooOld"}, alerts
    assert alerts - firing == set(), "never shown firing"
    assert alerts - quiet == set(), "never shown not firing"


def test_example_config_is_valid_and_loads_the_rules():
    status, out = promtool("check", "config", EXAMPLE_CONFIG)
    assert status == 0, out
    assert "orders.rules.yml" in out and "SUCCESS" in out, out


# -- a real Prometheus -----------------------------------------------------------

class Prometheus:
    """Debian's Prometheus in a directory of its own, on a free loopback
    port, scraping `targets` at /metrics?format=prometheus every second and
    evaluating the rules file every second."""

    def __init__(self, targets):
        self.dir = tempfile.mkdtemp(prefix="mod_orders-prometheus-")
        self.port = free_port()
        self.proc = None
        self.config = os.path.join(self.dir, "prometheus.yml")
        # YAML is a superset of JSON: no YAML library needed to write it.
        with open(self.config, "w") as f:
            json.dump({
                "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                           "evaluation_interval": "1s"},
                "rule_files": [RULES],
                "scrape_configs": [{
                    "job_name": JOB,
                    "metrics_path": "/metrics",
                    "params": {"format": ["prometheus"]},
                    "static_configs": [{"targets": targets}],
                }],
            }, f, indent=2)
        self.log = os.path.join(self.dir, "prometheus.log")

    def start(self, timeout=30):
        status, out = promtool("check", "config", self.config)
        assert status == 0, out
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [PROMETHEUS, f"--config.file={self.config}",
                 f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited with {self.proc.returncode}:\n"
                                     + self.log_tail())
            try:
                with urllib.request.urlopen(f"{self.url()}/-/ready", timeout=5) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_for(ready, timeout, interval=0.1, what="prometheus to be ready")
        return self

    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self):
        with open(self.log, errors="replace") as f:
            return f.read()[-3000:]

    def api(self, path, **params):
        """The "data" of a successful /api/v1/`path` answer."""
        query = urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(f"{self.url()}/api/v1/{path}?{query}",
                                        timeout=10) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            # A bad query is a 400 with the reason in the body.
            raise AssertionError(f"{path} {params}: {e.code} {e.read()[:500]!r}")
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr):
        """The instant vector of `expr` now (a list of results)."""
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", (expr, data)
        return data["result"]

    def stop(self):
        if self.proc is not None:
            terminate(self.proc)
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def webhook_answer(msg_id, attempt):
    """The receiver's answer, by the event's number: a third given up at
    once (410), a third failing once (500) then delivered, a third
    delivered at once; so that delivered, retried and failed all count."""
    kind = int(msg_id[4:]) % 3
    if kind == 0:
        return 410, 0, {}
    if kind == 1 and attempt == 1:
        return 500, 0, {}
    return 200, 0, {}


def send_traffic(server):
    """Orders and every kind of answer the dashboard shows, checked."""
    for i in range(8):
        assert server.post("/orders", order(f"mon-{i}", i)).status == 202
    assert server.post("/orders", order("mon-0", 0)).status == 200        # retry
    assert server.post("/orders", order("mon-0", 1)).status == 409        # conflict
    assert server.post("/orders", {"user_id": 1}).status == 400           # invalid
    assert server.get("/orders/mon-1").status == 200                      # found
    assert server.get("/orders/no-such-order").status == 404              # not-found
    assert server.get("/orders").status == 200                            # listed


def grafana_expand(text, values):
    """`text` with Grafana's $name and ${name} replaced from `values`; an
    unknown variable fails, so that the dashboard cannot use one this test
    does not know how Grafana would fill in."""
    def sub(m):
        name = m.group(1) or m.group(2)
        assert name in values, f"unknown Grafana variable ${name} in {text}"
        return values[name]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, text)


def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def dashboard_queries(model):
    """[(panel title, refId, expr)] of every target of every panel, those
    inside collapsed rows too."""
    found = []

    def walk(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                found.append((panel["title"], target["refId"], target["expr"]))
            walk(panel.get("panels", []))
    walk(model["panels"])
    return found


def has_number(result):
    """Whether an instant vector holds at least one value that is a number
    (a panel of NaN only shows nothing)."""
    return any(not math.isnan(float(r["value"][1])) for r in result)


def test_dashboard_is_a_grafana_model_on_a_datasource_variable():
    model = dashboard()
    assert 36 <= model["schemaVersion"] <= 41, model["schemaVersion"]
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in model["panels"]]
    assert len(ids) == len(set(ids)), ids
    for panel in model["panels"]:
        if panel["type"] == "row":
            continue
        # Every panel says what it shows and queries the chosen datasource.
        assert panel.get("description"), panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, \
            panel["title"]
        assert panel["targets"], panel["title"]
    titles = {p["title"] for p in model["panels"] if p["type"] == "row"}
    assert titles >= {"Intake", "Processing", "Latency", "Queue", "Errors", "Webhooks"}


def test_a_real_prometheus_evaluates_the_rules_and_every_dashboard_query():
    with contextlib.ExitStack() as stack:
        receiver = Receiver(webhook_answer)
        stack.callback(receiver.stop)
        server = Server(processing_time="0.2", extra_conf=webhook_conf(receiver.url()))
        stack.callback(server.cleanup)
        server.start()
        target = f"127.0.0.1:{server.port}"
        prom = Prometheus([target])
        stack.callback(prom.cleanup)
        prom.start()

        # A first scrape before any order, so that the rates below are of
        # this traffic, seen by at least two scrapes.
        wait_for(lambda: [r for r in prom.query(f'up{{job="{JOB}"}}')
                          if r["value"][1] == "1"],
                 30, interval=0.2, what=f"prometheus to scrape {target}")
        send_traffic(server)

        # Every rule evaluated (health "unknown" until its first round),
        # then every one "ok": a query error would show here.
        def evaluated():
            groups = prom.api("rules")["groups"]
            rules = [rule for g in groups for rule in g["rules"]]
            return (rules and all(r["health"] != "unknown" for r in rules)
                    and groups)
        groups = wait_for(evaluated, 30, interval=0.2, what="every rule evaluated")
        assert {g["name"] for g in groups} == {"mod_orders.recording", "mod_orders.alerts"}
        assert all(g["file"] == RULES for g in groups), groups
        rules = [rule for g in groups for rule in g["rules"]]
        bad = [(r["name"], r["health"], r.get("lastError")) for r in rules
               if r["health"] != "ok" or r.get("lastError")]
        assert bad == [], bad
        assert [r["name"] for r in rules if r["type"] == "recording"] == rule_names("record")
        alerting = [r for r in rules if r["type"] == "alerting"]
        assert [r["name"] for r in alerting] == rule_names("alert")
        for rule in alerting:
            assert rule["labels"].get("severity") in ("warning", "critical"), rule
            assert rule["annotations"].get("summary"), rule
            assert "{{ $" in rule["annotations"].get("description", ""), rule

        # The dashboard's variables list this job and server, as Grafana
        # would ask for them (label_values(selector, label)).
        model = dashboard()
        values = dict(GRAFANA_BUILTINS, job=JOB, instance=target)
        for var in model["templating"]["list"]:
            if var["type"] != "query":
                continue
            m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", var["definition"])
            assert m, var["definition"]
            selector = grafana_expand(m.group(1), values)
            listed = prom.api(f"label/{m.group(2)}/values", **{"match[]": selector})
            assert values[var["name"]] in listed, (var["definition"], listed)

        # Every query of every panel answers with a number; and the figures
        # that say this traffic was seen are above 0.  Polled: recording
        # rules need a round after the scrape that follows the traffic, the
        # webhooks their retries.
        queries = [(title, ref, grafana_expand(expr, values))
                   for title, ref, expr in dashboard_queries(model)]
        assert len(queries) >= 20, queries
        seen = [f"sum(mod_orders:{name}:rate5m) > 0" for name in (
            "orders_created", "orders_completed", "webhooks_delivered",
            "webhooks_retried", "webhooks_failed")] + [
            f'sum(mod_orders:answers:rate5m{{outcome="{o}"}}) > 0'
            for o in ("created", "retry", "conflict", "invalid", "found",
                      "not-found", "listed")] + [
            'sum(mod_orders:answers:rate5m{outcome="unavailable"}) == 0',
            "mod_orders:processing_seconds:avg5m > 0.1",
            # The receiver's 410s gave events up: that alert has no `for:`,
            # so it fires here, end to end.
            'ALERTS{alertname="ModOrdersWebhooksFailing", alertstate="firing"}']
        missing = []

        def every_query_has_data():
            missing[:] = [f"{title} {ref}: {expr}" for title, ref, expr in queries
                          if not has_number(prom.query(expr))]
            missing.extend(expr for expr in seen if not prom.query(expr))
            return not missing
        try:
            wait_for(every_query_has_data, 40, interval=0.5,
                     what="every dashboard query to return data")
        except AssertionError as e:
            raise AssertionError(f"{e}; without data:\n" + "\n".join(missing)
                                 + "\nprometheus log:\n" + prom.log_tail())
        alert = [a for a in prom.api("alerts")["alerts"]
                 if a["labels"]["alertname"] == "ModOrdersWebhooksFailing"]
        print(f"\n{len(queries)} dashboard queries and {len(rules)} rules "
              f"answered by prometheus on :{prom.port} scraping {target}; "
              f"an alert: {json.dumps(alert)}")
