"""conf/openapi.yaml: valid OpenAPI, complete against the handlers' C
source, served with Swagger UI at /docs, and usable there by a person.

- A real validator (Redocly CLI, pinned in tests/browser/package-lock.json,
  installed by `make docs-deps`) accepts the document, and refuses broken
  copies of it.
- Every path and method the handlers serve, and every status each one can
  answer, is in the document, and the document claims nothing more.  The
  facts come from the C source, not from a list kept here: the route table
  of mod_orders/ord_route.c (its ALLOW_* strings, its route_to() calls and
  the {mount} comments of ord_route.h), the dispatch switch and a call graph
  of mod_orders_handler.c and mod_orders_metrics.c with the helpers of
  mod_orders_http.c they call (the HTTP_* constants each handler can
  reach, numbered by httpd.h), and the <Location> mounts of
  conf/orders-server.conf.in.
- Headless Chromium (Debian's) opens /docs, places an order through
  Swagger UI's "Try it out" and sees 202; the order is then in the store.
"""
import json
import os
import re
import shutil
import subprocess
import uuid

import pytest
import yaml

from orders_server import ROOT

SPEC = os.path.join(ROOT, "conf", "openapi.yaml")
BROWSER = os.path.join(ROOT, "tests", "browser")
REDOCLY = os.path.join(BROWSER, "node_modules", ".bin", "redocly")
REDOCLY_CONFIG = os.path.join(BROWSER, "redocly.yaml")
SRC = os.path.join(ROOT, "mod_orders")
HANDLER_SOURCES = [os.path.join(SRC, "mod_orders_handler.c"),
                   os.path.join(SRC, "mod_orders_metrics.c")]
# What the handlers call to answer (the JSON, 503 and body-reading
# helpers): part of the call graph, not handlers themselves.
ANSWER_SOURCES = [os.path.join(SRC, "mod_orders_http.c"),
                  os.path.join(SRC, "mod_orders_events.c")]
ROUTE_C = os.path.join(SRC, "ord_route.c")
ROUTE_H = os.path.join(SRC, "ord_route.h")
SERVER_CONF = os.path.join(ROOT, "conf", "orders-server.conf.in")
HTTPD_H = "/usr/include/apache2/httpd.h"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load_spec(path=None):
    with open(path or SPEC) as f:
        return yaml.safe_load(f)


# -- 1. the validator ---------------------------------------------------------

def validate(path):
    """Runs `redocly lint` on `path`: (exit code, output).  Telemetry is off
    (here and in redocly.yaml): the lint needs no network."""
    if not os.access(REDOCLY, os.X_OK):
        pytest.fail(f"{REDOCLY} is missing: run `make docs-deps`")
    env = dict(os.environ, REDOCLY_TELEMETRY="off",
               REDOCLY_SUPPRESS_NOTIFICATIONS="true",
               REDOCLY_SUPPRESS_UPDATE_NOTICE="true", NO_COLOR="1")
    p = subprocess.run([REDOCLY, "lint", "--config", REDOCLY_CONFIG, path],
                       cwd=BROWSER, env=env, capture_output=True, text=True,
                       timeout=120)
    return p.returncode, p.stdout + p.stderr


def test_the_validator_accepts_the_document():
    rc, out = validate(SPEC)
    assert rc == 0, out
    assert "valid" in out, out


def _drop_info(text):
    return re.sub(r"^info:\n(?:[ \t]+.*\n|\n)*", "", text, count=1, flags=re.M)


def _unknown_ref(text):
    return text.replace("$ref: '#/components/schemas/Order'",
                        "$ref: '#/components/schemas/NoSuchSchema'", 1)


def _wrong_example(text):
    # An example that contradicts its schema (total_amount is a number).
    return text.replace("total_amount: 59.99", "total_amount: cheap", 1)


def _bad_status_key(text):
    return text.replace("        '202':", "        '2002':", 1)


@pytest.mark.parametrize("breakage", [_drop_info, _unknown_ref,
                                      _wrong_example, _bad_status_key])
def test_the_validator_refuses_a_broken_copy(tmp_path, breakage):
    with open(SPEC) as f:
        text = f.read()
    broken = breakage(text)
    assert broken != text, f"{breakage.__name__} changed nothing"
    path = tmp_path / "openapi.yaml"
    path.write_text(broken)
    rc, out = validate(str(path))
    assert rc != 0, f"{breakage.__name__}: the validator accepted it:\n{out}"


# -- 2. complete against the C source ----------------------------------------

def strip_c(text):
    """(code without comments, code without comments and string contents):
    a small scanner that knows string and character literals."""
    code, bare = [], []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            gap = "\n" * text.count("\n", i, j) or " "
            code.append(gap)
            bare.append(gap)
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            code.append(text[i:j + 1])
            bare.append(c + c)
            i = j + 1
        else:
            code.append(c)
            bare.append(c)
            i += 1
    return "".join(code), "".join(bare)


def http_status_numbers():
    """{"HTTP_ACCEPTED": 202, ...} from httpd.h."""
    with open(HTTPD_H) as f:
        return {m.group(1): int(m.group(2)) for m in re.finditer(
            r"^#define\s+(HTTP_[A-Z_]+)\s+(\d{3})\b", f.read(), re.M)}


def c_units(bare):
    """{name: body text} of the top-level function definitions and of the
    #define macros in `bare` (C without comments and strings)."""
    units = {}
    lines = []
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)(?:\([^)]*\))?"
                         r"((?:[^\n\\]|\\.)*)", bare, re.M | re.S):
        units[m.group(1)] = m.group(2)
    # Blank the preprocessor lines, then find `name(...) {` at depth 0.
    for line in bare.split("\n"):
        lines.append("" if line.lstrip().startswith("#") else line)
    code = "\n".join(lines)
    depth, start, head_from = 0, None, 0
    name = None
    for i, c in enumerate(code):
        if c == "{":
            if depth == 0:
                head = code[head_from:i]
                m = re.search(r"(\w+)\s*\([^;{}]*\)\s*$", head)
                name, start = (m.group(1), i) if m else (None, None)
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                if name:
                    units[name] = code[start:i + 1]
                name = None
                head_from = i + 1
        elif c == ";" and depth == 0:
            head_from = i + 1
    return units


class CallGraph:
    """What each function of the handler sources can reach: calls and
    references of functions and macros of these files, and a filter
    registered with ap_register_*_filter(NAME, fn) is reached through
    NAME."""

    def __init__(self, paths):
        self.units, self.code, self.defined = {}, {}, {}
        for path in paths:
            with open(path) as f:
                code, bare = strip_c(f.read())
            units = c_units(bare)
            self.code[path] = code
            self.defined[path] = set(units)
            self.units.update(units)
        self.edges = {}
        for name, body in self.units.items():
            idents = set(re.findall(r"\b[A-Za-z_]\w*\b", body))
            self.edges[name] = {i for i in idents
                                if i in self.units and i != name}
        for code in self.code.values():
            for m in re.finditer(r"ap_register_(?:input|output)_filter\s*\(\s*"
                                 r"(\w+)\s*,\s*(\w+)", code):
                self.edges.setdefault(m.group(1), set()).add(m.group(2))
        self.numbers = http_status_numbers()

    def reach(self, name):
        seen, todo = set(), [name]
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo += self.edges.get(n, ())
        return seen

    def statuses_in(self, text):
        return {self.numbers[s] for s in re.findall(r"\bHTTP_[A-Z_]+\b", text)
                if s in self.numbers}

    def statuses(self, name):
        assert name in self.units, f"no function {name} in the handler sources"
        return set().union(*(self.statuses_in(self.units[n])
                             for n in self.reach(name) if n in self.units))


def mounts():
    """{handler name: Location path} from the server template."""
    with open(SERVER_CONF) as f:
        conf = f.read()
    return {m.group(2): m.group(1) for m in re.finditer(
        r'<Location\s+"?([^">\s]+)"?\s*>\s*SetHandler\s+(\S+)[^<]*</Location>',
        conf)}


def route_table():
    """[(resource, {METHOD: action})] from ord_route.c: each route_to()
    call is one resource; its ALLOW_* string lists the methods it takes;
    `resource` is the path under the mount that ord_route.h's comments give
    its actions ("{mount}", "{mount}/{id}", ...)."""
    with open(ROUTE_C) as f:
        route_c, _ = strip_c(f.read())
    with open(ROUTE_H) as f:
        route_h = f.read()
    allow = dict(re.findall(r'#define\s+(ALLOW_\w+)\s+"([^"]*)"', route_c))
    assert allow, "ord_route.c defines no ALLOW_* string"
    action_path = {a: (m, p) for a, m, p in re.findall(
        r"\b(ORD_ROUTE_\w+)\b[^\n/]*/\*\s*([A-Z]+)\s+\{mount\}(\S*)\s*\*/",
        route_h)}
    table = []
    calls = re.findall(
        r'route_to\(\s*\w+\s*,\s*\w+\s*,\s*(NULL|"[A-Z]+")\s*,\s*(ORD_ROUTE_\w+)'
        r'\s*,\s*(NULL|"[A-Z]+")\s*,\s*(ORD_ROUTE_\w+)\s*,\s*(ALLOW_\w+)\s*\)',
        route_c)
    assert len(calls) == len(allow), (
        f"ord_route.c: {len(allow)} ALLOW_* strings but {len(calls)} "
        "route_to() calls understood; this test reads that table")
    for get_or_head, on_get, other, on_other, allow_name in calls:
        methods = {}
        if get_or_head != "NULL":
            methods["GET"] = methods["HEAD"] = on_get
        if other != "NULL":
            methods[other.strip('"')] = on_other
        listed = {m.strip() for m in allow[allow_name].split(",")}
        assert listed == set(methods), (
            f"{allow_name} says {sorted(listed)} but route_to() routes "
            f"{sorted(methods)}")
        paths = set()
        for method, action in methods.items():
            assert action in action_path, (
                f"ord_route.h: {action} has no /* METHOD {{mount}}... */ comment")
            paths.add(action_path[action][1])
        assert len(paths) == 1, f"{allow_name}: actions on several paths {paths}"
        table.append((paths.pop(), methods))
    return table


def norm(path):
    """/orders/{order_id} and /orders/{id} are the same path."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def served_operations():
    """{(path, METHOD): {status, ...}} of everything the handlers serve,
    and {source file: (paths it serves, every status in it)}."""
    graph = CallGraph(HANDLER_SOURCES + ANSWER_SOURCES)
    mount_of = mounts()
    ops, per_file = {}, {}
    for path in HANDLER_SOURCES:
        code = graph.code[path]
        m = re.search(r'strcmp\(\s*r->handler\s*,\s*"([^"]+)"\s*\)', code)
        assert m, f"{path}: no `strcmp(r->handler, \"...\")`"
        handler = m.group(1)
        assert handler in mount_of, (
            f"conf/orders-server.conf.in mounts no <Location> with "
            f"SetHandler {handler}")
        mount = mount_of[handler].rstrip("/")
        dispatcher = [n for n in graph.defined[path]
                      if re.search(r"\bstrcmp\(\s*r->handler", graph.units[n])]
        assert len(dispatcher) == 1, f"{path}: handler functions {dispatcher}"
        dispatcher = dispatcher[0]
        allow = re.search(r'apr_table_setn\(\s*r->headers_out\s*,\s*"Allow"\s*,'
                          r'\s*([^)]+)\)', code)
        assert allow, f"{path}: no Allow header for its 405"
        value = allow.group(1).strip()
        macro = re.search(r"#define\s+" + re.escape(value) + r'\s+("[^"]*")', code)
        if macro:
            value = macro.group(1)
        paths = set()
        if value.startswith('"'):
            # One resource, the mount, served by the dispatcher itself.
            statuses = graph.statuses(dispatcher) | {405}
            for method in re.findall(r"[A-Z]+", value):
                ops[(norm(mount), method)] = statuses
            paths.add(norm(mount))
        else:
            # The route table: each action is one function of the switch.
            calls = dict(re.findall(r"case\s+(ORD_ROUTE_\w+)\s*:\s*"
                                    r"return\s+(\w+)\s*\(", code))
            for resource, methods in route_table():
                p = norm(mount + resource)
                paths.add(p)
                for method, action in methods.items():
                    assert action in calls, (
                        f"{path}: the switch does not dispatch {action}")
                    ops[(p, method)] = graph.statuses(calls[action]) | {405}
        per_file[path] = (paths, graph.statuses_in(code)
                          | graph.statuses(dispatcher))
    return ops, per_file


def documented_operations(spec):
    """{(path, METHOD): {status, ...}} of the document."""
    ops = {}
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                ops[(norm(path), method.upper())] = {
                    int(code) for code in item[method]["responses"]
                    if str(code).isdigit()}
    return ops


def test_the_source_facts_are_read():
    """The parsing of the C source finds what the handlers obviously have:
    a guard against a parser that silently finds nothing."""
    ops, per_file = served_operations()
    assert ("/orders", "POST") in ops and ("/metrics", "GET") in ops
    assert {202, 400, 405, 415, 503} <= ops[("/orders", "POST")]
    assert {200, 405} <= ops[("/metrics", "GET")]
    assert all(statuses for _, statuses in per_file.values())


def test_every_endpoint_the_handlers_serve_is_documented_and_no_other():
    served, _ = served_operations()
    documented = documented_operations(load_spec())
    missing = sorted(set(served) - set(documented))
    extra = sorted(set(documented) - set(served))
    assert not missing, f"served but not in conf/openapi.yaml: {missing}"
    assert not extra, f"in conf/openapi.yaml but not served: {extra}"


def test_every_status_of_each_endpoint_is_documented_and_no_other():
    served, _ = served_operations()
    documented = documented_operations(load_spec())
    problems = []
    for op in sorted(served):
        have = documented.get(op, set())
        if served[op] - have:
            problems.append(f"{op[1]} {op[0]}: answers {sorted(served[op] - have)}"
                            " but the document does not say so")
        if have - served[op]:
            problems.append(f"{op[1]} {op[0]}: the document lists "
                            f"{sorted(have - served[op])}, which the handler "
                            "never answers")
    assert not problems, "\n".join(problems)


def test_every_status_constant_of_the_handler_sources_is_documented():
    """Whatever the call graph makes of it, each HTTP_* constant of a
    handler source is a status of one of that handler's documented paths."""
    _, per_file = served_operations()
    documented = documented_operations(load_spec())
    for path, (paths, statuses) in per_file.items():
        have = set().union(*(s for (p, _), s in documented.items() if p in paths))
        assert statuses <= have, (
            f"{os.path.basename(path)} answers {sorted(statuses - have)}, "
            f"which no operation of {sorted(paths)} documents")


def test_the_running_server_allows_what_the_document_says(server):
    """Live: a method a documented path does not take is 405, with an Allow
    that lists exactly the documented methods."""
    spec = load_spec()
    for path, item in spec["paths"].items():
        methods = {m.upper() for m in METHODS if m in item}
        url = re.sub(r"\{[^}]*\}", "no-such-order", path)
        r = server.request("PATCH", url)
        assert r.status == 405, (path, r)
        assert r.header("Content-Type") == "application/json", (path, r)
        allow = {m.strip() for m in (r.header("Allow") or "").split(",")}
        assert allow == methods, (path, allow, methods)


def test_openapi_yaml_and_docs_are_served(server):
    r = server.get("/openapi.yaml")
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("application/yaml")
    assert yaml.safe_load(r.body) == load_spec()
    r = server.get("/docs")
    assert r.status == 301 and r.header("Location").endswith("/docs/"), r
    page = server.get("/docs/")
    assert page.status == 200 and b"swagger-ui" in page.body, page
    for asset in re.findall(rb'(?:src|href)="([^":]+)"', page.body):
        a = server.get("/docs/" + asset.decode())
        assert a.status == 200, (asset, a)
    # Only what the page needs: not the npm package around it.
    assert server.get("/docs/package.json").status == 404
    assert server.get("/docs/dist/package.json").status == 404


# -- 3. a person places an order through Swagger UI --------------------------

def test_an_order_placed_with_try_it_out_in_chromium_is_stored(server, tmp_path):
    if not os.path.isdir(os.path.join(BROWSER, "node_modules", "playwright-core")):
        pytest.fail("tests/browser/node_modules is missing: run `make docs-deps`")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    assert os.access(chromium, os.X_OK), "Debian's chromium is not installed"
    order_id = f"docs-{uuid.uuid4().hex[:12]}"
    shot = tmp_path / "try-it-out.png"
    p = subprocess.run(["node", "place_order.js",
                        f"http://127.0.0.1:{server.port}/docs", order_id,
                        str(shot)],
                       cwd=BROWSER, capture_output=True, text=True, timeout=150,
                       env=dict(os.environ, CHROMIUM=chromium))
    lines = p.stdout.strip().splitlines()
    assert lines, f"no result (exit {p.returncode}):\n{p.stderr[-3000:]}"
    result = json.loads(lines[-1])
    assert p.returncode == 0 and "error" not in result, (result, p.stderr[-3000:])
    assert result["status"] == "202", result
    assert result["request_url"] == f"http://127.0.0.1:{server.port}/orders", result
    assert result["offsite"] == [], "the page asked for other hosts"
    assert result["page_errors"] == [], result["page_errors"]
    shown = json.loads(result["body"])
    assert shown["order_id"] == order_id and shown["status"] == "Pending", shown
    with open(shot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10000
    print(f"screenshot: {shot}")

    r = server.get(f"/orders/{order_id}")
    assert r.status == 200, r
    order = r.json()
    assert order["order_id"] == order_id
    assert order["user_id"] == "swagger-ui"
    assert order["item_ids"] == [101, "item_2"]
    assert order["total_amount"] == 12.5
    schema = load_spec()["components"]["schemas"]["Order"]
    assert set(order) == set(schema["properties"]) == set(schema["required"])
    assert order["status"] in load_spec()["components"]["schemas"]["Status"]["enum"]
