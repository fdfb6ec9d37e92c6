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
- The schemas are as strict as the server: tables of values, each sent to
  the running server and checked against the document's schema (exactly,
  numbers as decimals: see SchemaChecker), must get the same verdict from
  both; where JSON Schema cannot see the difference (`1.0` is an integer to
  it, `1.000` a multiple of 0.01), the row says so and the document's
  description must name that spelling.
- Real answers of the running server, of every kind, match the documented
  response: its status, media type, body schema and headers (every
  `required: true` header present, every documented one valid).  Apache's
  own refusals (responses marked `x-answered-by: apache`) are HTML and are
  not the handlers': they are checked live, not against the C source.
"""
import decimal
import fractions
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import urllib.parse
import uuid

import pytest
import yaml

from orders_server import ROOT, Response

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


def _three_decimal_example(text):
    # total_amount has multipleOf: 0.01, which the validator applies.
    return text.replace("total_amount: 59.99", "total_amount: 59.999", 1)


@pytest.mark.parametrize("breakage", [_drop_info, _unknown_ref,
                                      _wrong_example, _bad_status_key,
                                      _three_decimal_example])
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


def handler_name_of(code):
    """The SetHandler name a handler source answers: the string it compares
    r->handler with, written out or as a #define of mod_orders.h."""
    m = re.search(r'strcmp\(\s*r->handler\s*,\s*(?:"([^"]+)"|(\w+))\s*\)', code)
    if not m:
        return None
    if m.group(1):
        return m.group(1)
    with open(os.path.join(SRC, "mod_orders.h")) as f:
        header = f.read()
    d = re.search(r"#define\s+" + re.escape(m.group(2)) + r'\s+"([^"]+)"', header)
    return d.group(1) if d else None


def served_operations():
    """{(path, METHOD): {status, ...}} of everything the handlers serve,
    and {source file: (paths it serves, every status in it)}."""
    graph = CallGraph(HANDLER_SOURCES + ANSWER_SOURCES)
    mount_of = mounts()
    ops, per_file = {}, {}
    for path in HANDLER_SOURCES:
        code = graph.code[path]
        handler = handler_name_of(code)
        assert handler, (f"{path}: no `strcmp(r->handler, \"...\")` nor "
                         "`strcmp(r->handler, NAME)` with NAME a string "
                         "#define of mod_orders.h")
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


def resolve(spec, obj):
    """`obj`, or what its local $ref names."""
    while isinstance(obj, dict) and "$ref" in obj:
        node = spec
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        obj = node
    return obj


def answered_by_apache(spec, response):
    """A response Apache gives before the module is reached (a bad escape in
    a path parameter): documented for clients, but no handler's."""
    return resolve(spec, response).get("x-answered-by") == "apache"


def documented_operations(spec):
    """{(path, METHOD): {status, ...}} of the document: the module's answers
    (not those marked as Apache's own)."""
    ops = {}
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                ops[(norm(path), method.upper())] = {
                    int(code) for code, resp in item[method]["responses"].items()
                    if str(code).isdigit() and not answered_by_apache(spec, resp)}
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


# -- 4. the schemas are as strict as the server ------------------------------

class SchemaChecker:
    """JSON Schema 2020-12, the keywords this document uses, with exact
    numbers: instances are parsed with decimals (json_value), and every
    bound and multipleOf is compared as a fraction, as the specification
    means it (a validator that divides binary floats finds 0.07 no multiple
    of 0.01).  A keyword it does not know fails
    test_the_checker_knows_every_keyword_of_the_document, so none is
    skipped silently."""

    APPLIED = {"$ref", "type", "enum", "const", "not", "oneOf", "anyOf",
               "allOf", "minimum", "maximum", "exclusiveMinimum",
               "exclusiveMaximum", "multipleOf", "minLength", "maxLength",
               "pattern", "items", "minItems", "maxItems", "properties",
               "required", "additionalProperties", "dependentRequired"}
    ANNOTATIONS = {"title", "description", "examples", "default", "format",
                   "deprecated", "readOnly", "writeOnly"}

    def __init__(self, spec):
        self.spec = spec

    @staticmethod
    def number(v):
        """An exact value of a number of the document or of an instance."""
        if isinstance(v, float):
            v = repr(v)         # the literal YAML read, e.g. 0.01
        return fractions.Fraction(decimal.Decimal(v) if isinstance(v, str) else v)

    @staticmethod
    def is_number(v):
        return isinstance(v, (int, decimal.Decimal)) and not isinstance(v, bool)

    def has_type(self, v, t):
        if t == "null":
            return v is None
        if t == "boolean":
            return isinstance(v, bool)
        if t == "number":
            return self.is_number(v)
        if t == "integer":
            return self.is_number(v) and self.number(v).denominator == 1
        return isinstance(v, {"string": str, "array": list,
                              "object": dict}[t])

    def same(self, a, b):
        """JSON equality: 1 and 1.0 are equal, true and 1 are not."""
        if self.is_number(a) and self.is_number(b):
            return self.number(a) == self.number(b)
        if isinstance(a, bool) or isinstance(b, bool):
            return type(a) is type(b) and a == b
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(map(self.same, a, b))
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(self.same(a[k], b[k]) for k in a)
        return type(a) is type(b) and a == b

    def errors(self, schema, v, where="$"):
        """Every way `v` fails `schema`, as 'where: why' strings."""
        out = []
        if "$ref" in schema:
            out += self.errors(resolve(self.spec, {"$ref": schema["$ref"]}), v, where)
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(self.has_type(v, t) for t in types):
                return out + [f"{where}: {v!r} is not of type {types}"]
        if "enum" in schema and not any(self.same(v, e) for e in schema["enum"]):
            out.append(f"{where}: {v!r} is not one of {schema['enum']}")
        if "const" in schema and not self.same(v, schema["const"]):
            out.append(f"{where}: {v!r} is not {schema['const']!r}")
        if "not" in schema and not self.errors(schema["not"], v, where):
            out.append(f"{where}: {v!r} matches what `not` excludes")
        for sub in schema.get("allOf", []):
            out += self.errors(sub, v, where)
        if "anyOf" in schema and all(self.errors(s, v, where) for s in schema["anyOf"]):
            out.append(f"{where}: {v!r} matches none of anyOf")
        if "oneOf" in schema:
            n = sum(not self.errors(s, v, where) for s in schema["oneOf"])
            if n != 1:
                out.append(f"{where}: {v!r} matches {n} of oneOf, not 1")
        if self.is_number(v):
            x = self.number(v)
            for key, bad in (("minimum", lambda b: x < b), ("maximum", lambda b: x > b),
                             ("exclusiveMinimum", lambda b: x <= b),
                             ("exclusiveMaximum", lambda b: x >= b),
                             ("multipleOf", lambda b: (x / b).denominator != 1)):
                if key in schema and bad(self.number(schema[key])):
                    out.append(f"{where}: {v} fails {key} {schema[key]}")
        if isinstance(v, str):
            if len(v) < schema.get("minLength", 0):
                out.append(f"{where}: {v!r} is shorter than {schema['minLength']}")
            if "maxLength" in schema and len(v) > schema["maxLength"]:
                out.append(f"{where}: {v[:80]!r}... is longer than {schema['maxLength']}")
            if "pattern" in schema and not re.search(schema["pattern"], v):
                out.append(f"{where}: {v[:80]!r} does not match {schema['pattern']}")
        if isinstance(v, list):
            if len(v) < schema.get("minItems", 0):
                out.append(f"{where}: fewer than {schema['minItems']} items")
            if "maxItems" in schema and len(v) > schema["maxItems"]:
                out.append(f"{where}: more than {schema['maxItems']} items")
            if "items" in schema:
                for i, item in enumerate(v):
                    out += self.errors(schema["items"], item, f"{where}[{i}]")
        if isinstance(v, dict):
            props = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in v:
                    out.append(f"{where}: {name} is missing")
            for name, deps in schema.get("dependentRequired", {}).items():
                if name in v:
                    out += [f"{where}: {d} is missing (with {name})" for d in deps
                            if d not in v]
            for name, value in v.items():
                if name in props:
                    out += self.errors(props[name], value, f"{where}.{name}")
                elif schema.get("additionalProperties") is False:
                    out.append(f"{where}: {name} is not allowed")
                elif isinstance(schema.get("additionalProperties"), dict):
                    out += self.errors(schema["additionalProperties"], value,
                                       f"{where}.{name}")
        return out


def json_value(text):
    """JSON text as a schema sees it: numbers exact (decimals, not floats)."""
    return json.loads(text, parse_float=decimal.Decimal)


def document_schemas(spec):
    """(where, schema) of every schema of the document, nested ones too."""
    found = []

    def walk(node, where, is_schema):
        if isinstance(node, dict):
            if is_schema:
                found.append((where, node))
                for key in ("not", "items", "additionalProperties"):
                    if isinstance(node.get(key), dict):
                        walk(node[key], f"{where}/{key}", True)
                for key in ("allOf", "anyOf", "oneOf"):
                    for i, sub in enumerate(node.get(key, [])):
                        walk(sub, f"{where}/{key}/{i}", True)
                for name, sub in node.get("properties", {}).items():
                    walk(sub, f"{where}/properties/{name}", True)
                return
            for key, sub in node.items():
                walk(sub, f"{where}/{key}", key == "schema")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}/{i}", False)

    walk(spec["paths"], "#/paths", False)
    for name, schema in spec["components"]["schemas"].items():
        walk(schema, f"#/components/schemas/{name}", True)
    for kind in ("parameters", "headers", "responses"):
        walk(spec["components"].get(kind, {}), f"#/components/{kind}", False)
    return found


def test_the_checker_knows_every_keyword_of_the_document():
    """Every keyword of every schema is one SchemaChecker applies or an
    annotation; every pattern is in the part of the regex syntax where
    ECMA-262 (JSON Schema's) and Python's agree."""
    schemas = document_schemas(load_spec())
    assert len(schemas) > 50, len(schemas)
    known = SchemaChecker.APPLIED | SchemaChecker.ANNOTATIONS
    for where, schema in schemas:
        assert set(schema) <= known, (where, sorted(set(schema) - known))
        if "pattern" in schema:
            re.compile(schema["pattern"])
            assert not re.search(r"\\[dDwWsSbBpP]", schema["pattern"]), (
                where, "\\d, \\w, \\s, \\b, \\p differ between ECMA-262 and Python")


def test_the_checker_refuses_what_it_should():
    """A guard on the checker itself, on the document's own schemas."""
    check = SchemaChecker(load_spec())
    amount = {"$ref": "#/components/schemas/Amount"}
    assert not check.errors(amount, json_value("0.07"))
    assert check.errors(amount, json_value("0.071"))
    assert check.errors(amount, json_value("true"))
    assert not check.errors({"type": "integer"}, json_value("1.0"))
    assert check.errors({"const": 1}, True)
    assert check.errors({"$ref": "#/components/schemas/Error"},
                        {"error": "x", "other": 1})


BASE_ORDER = {"user_id": 1, "item_ids": [1], "total_amount": 1}


def body_with(field, value_text):
    """The JSON text of a valid order (its order_id generated) whose
    `field` is `value_text` (JSON)."""
    body = {k: json.dumps(v) for k, v in BASE_ORDER.items()}
    body[field] = value_text
    return "{" + ", ".join(f'"{k}": {v}' for k, v in body.items()) + "}"


X64, X65 = "x" * 64, "x" * 65
# (field, the field's JSON text, the server takes it, spelling).  A row with
# a spelling is one the schema accepts and the server refuses: the value is
# right, the way it is written is not, which JSON Schema cannot see; the
# description of `field` in the document must name that kind of spelling
# (the last column: the example of it the description gives).
ORDER_FIELD_CASES = [
    ("total_amount", "0", True, None),
    ("total_amount", "0.01", True, None),
    ("total_amount", "0.07", True, None),
    ("total_amount", "4.02", True, None),
    ("total_amount", "59.99", True, None),
    ("total_amount", "60.0", True, None),
    ("total_amount", "59.999", False, None),
    ("total_amount", "0.001", False, None),
    ("total_amount", "1000000000000", True, None),
    ("total_amount", "1e12", True, None),
    ("total_amount", "1000000000000.01", False, None),
    ("total_amount", "1e13", False, None),
    ("total_amount", "1.5e1", True, None),
    ("total_amount", "1234e-2", True, None),
    ("total_amount", "-0", True, None),
    ("total_amount", "-0.01", False, None),
    ("total_amount", "-5", False, None),
    ("total_amount", "1e-400", False, None),
    ("total_amount", "1e400", False, None),
    ("total_amount", '"5"', False, None),
    ("total_amount", "null", False, None),
    ("total_amount", "true", False, None),
    ("total_amount", "1.000", False, "1.000"),
    ("total_amount", "0.100", False, "0.100"),
    ("total_amount", "100e-3", False, "100e-3"),
    ("user_id", "0", True, None),
    ("user_id", "-0", True, None),
    ("user_id", "9007199254740991", True, None),
    ("user_id", "9007199254740992", False, None),
    ("user_id", "-1", False, None),
    ("user_id", '"alice"', True, None),
    ("user_id", '"a b; DROP TABLE orders"', True, None),
    ("user_id", '""', False, None),
    ("user_id", f'"{X64}"', True, None),
    ("user_id", f'"{X65}"', False, None),
    ("user_id", '"' + "\u00e9" * 64 + '"', True, None),
    ("user_id", '"' + "\U0001F600" * 64 + '"', True, None),
    ("user_id", '"' + "\U0001F600" * 65 + '"', False, None),
    ("user_id", '"a\\u0001"', False, None),
    ("user_id", '"a\\tb"', False, None),
    ("user_id", '"a\\u007f"', False, None),
    ("user_id", '"a\\u0085"', False, None),
    ("user_id", "true", False, None),
    ("user_id", "[1]", False, None),
    ("user_id", "null", False, None),
    ("user_id", "1.0", False, "1.0"),
    ("user_id", "1e2", False, "1e2"),
    ("order_id", '"oa-ORD.1:b_c"', True, None),
    ("order_id", '"o' + "x" * 63 + '"', True, None),
    ("order_id", '"o' + "x" * 64 + '"', False, None),
    ("order_id", '""', False, None),
    ("order_id", '"a b"', False, None),
    ("order_id", '"a/b"', False, None),
    ("order_id", '"\u00e9t\u00e9"', False, None),
    ("order_id", '"populate"', False, None),
    ("order_id", '"events"', False, None),
    ("order_id", "987654321", True, None),
    ("order_id", "9007199254740991", True, None),
    ("order_id", "9007199254740992", False, None),
    ("order_id", "-1", False, None),
    ("order_id", "2.0", False, "1.0"),
    ("order_id", "1e3", False, "1e2"),
    ("item_ids", "[1]", True, None),
    ("item_ids", '[1, "a", 9007199254740991]', True, None),
    ("item_ids", "[]", False, None),
    ("item_ids", "[-1]", False, None),
    ("item_ids", "[9007199254740992]", False, None),
    ("item_ids", "[[1]]", False, None),
    ("item_ids", "[{}]", False, None),
    ("item_ids", "[null]", False, None),
    ("item_ids", '[""]', False, None),
    ("item_ids", f'["{X65}"]', False, None),
    ("item_ids", '["a\\u0000"]', False, None),
    ("item_ids", "[" + ", ".join(["1"] * 1000) + "]", True, None),
    ("item_ids", "[" + ", ".join(["1"] * 1001) + "]", False, None),
    ("item_ids", "[1.0]", False, "1.0"),
    ("item_ids", "[1e2]", False, "1e2"),
    ("item_ids", '"a,b"', True, None),
    ("item_ids", '" a , b "', True, None),
    ("item_ids", '"a b,c"', True, None),
    ("item_ids", '"\u00e9,\U0001F600"', True, None),
    ("item_ids", '"a"', True, None),
    ("item_ids", f'"a,{X64}  "', True, None),
    ("item_ids", f'"   {X64},a"', True, None),
    ("item_ids", f'"a,{X65}"', False, None),
    ("item_ids", '"a,,b"', False, None),
    ("item_ids", '"a, "', False, None),
    ("item_ids", '",a"', False, None),
    ("item_ids", '","', False, None),
    ("item_ids", '""', False, None),
    ("item_ids", '"  "', False, None),
    ("item_ids", '"a,\\tb"', False, None),
    ("item_ids", '"\\ta"', False, None),
    ("item_ids", '"a\\u0001b,c"', False, None),
    ("item_ids", '"a\\u0085"', False, None),
    ("item_ids", '"' + ",".join(["a"] * 1000) + '"', True, None),
    ("item_ids", '"' + ",".join(["a"] * 1001) + '"', False, None),
    ("item_ids", "{}", False, None),
    ("item_ids", "5", False, None),
    ("status", '"Pending"', True, None),
    ("status", '"Completed"', False, None),
    ("status", '"pending"', False, None),
    ("status", "null", False, None),
    ("colour", '"red"', False, None),
]


def field_description(spec, schema, field):
    """Every description of `field` of `schema` and of what it refers to."""
    texts = []

    def walk(node):
        node = resolve(spec, node)
        if isinstance(node, dict):
            texts.append(node.get("description", ""))
            for key in ("allOf", "oneOf", "anyOf"):
                for sub in node.get(key, []):
                    walk(sub)
            if "items" in node:
                walk(node["items"])
    walk(schema["properties"].get(field, {}))
    return "\n".join(texts)


def check_table(spec, schema, cases, body_of, post):
    """Each (field, value text, server takes it, spelling) of `cases`: the
    body `body_of(field, value text)` (JSON text) must get the verdict the
    row says from the server (`post(body)` -> response) and from `schema`.
    Returns the problems."""
    check = SchemaChecker(spec)
    problems = []
    for field, text, takes, spelling in cases:
        body = body_of(field, text)
        r = post(body)
        label = f"{field}={text[:60]}"
        if r.status not in (200, 201, 202, 400):
            problems.append(f"{label}: the server answered {r.status} {r.body[:200]!r}")
            continue
        if (r.status != 400) != takes:
            problems.append(f"{label}: the server {'refused' if takes else 'took'} it: "
                            f"{r.status} {r.body[:200]!r}")
        if r.status == 400:
            error = json.loads(r.body)["error"]
            if field not in error:
                problems.append(f"{label}: the 400 does not name {field}: {error}")
        schema_takes = not check.errors(schema, json_value(body))
        if spelling:
            if not schema_takes or takes:
                problems.append(f"{label}: a spelling row, but the schema "
                                f"{'refuses' if not schema_takes else 'takes'} it")
            if spelling not in field_description(spec, schema, field):
                problems.append(f"{label}: the description of {field} does not "
                                f"name the refused spelling {spelling}")
        elif schema_takes != takes:
            problems.append(f"{label}: the schema {'takes' if schema_takes else 'refuses'}"
                            f" it, the server {'takes' if takes else 'refuses'} it"
                            f" ({check.errors(schema, json_value(body))[:2]})")
    return problems


def test_new_order_fields_are_refused_by_the_schema_exactly_as_by_the_server(server):
    spec = load_spec()
    schema = spec["components"]["schemas"]["NewOrder"]
    problems = check_table(spec, schema, ORDER_FIELD_CASES, body_with,
                           lambda body: server.post("/orders", body))
    assert not problems, "\n".join(problems)


POPULATE_CASES = [
    ("total_entries", "1", True, None),
    ("total_entries", "2", True, None),
    ("total_entries", "0", False, None),
    ("total_entries", "100001", False, None),
    ("total_entries", "-1", False, None),
    ("total_entries", '"1"', False, None),
    ("total_entries", "null", False, None),
    ("total_entries", "1.0", False, "1.0"),
    ("total_entries", "1e0", False, "1e2"),
    ("batch_id", '"b-1.x:y_z"', True, None),
    ("batch_id", '"b' + "x" * 56 + '"', True, None),
    ("batch_id", '"b' + "x" * 57 + '"', False, None),
    ("batch_id", '""', False, None),
    ("batch_id", '"a b"', False, None),
    ("batch_id", "7", False, None),
    ("colour", '"red"', False, None),
]


def test_populate_fields_are_refused_by_the_schema_exactly_as_by_the_server(fresh):
    s = fresh(extra_conf="<Location /orders>\n OrdersPopulate On\n</Location>\n").start()
    spec = load_spec()
    schema = spec["components"]["schemas"]["PopulateRequest"]

    def body_of(field, text):
        fields = {"total_entries": "1", field: text}
        return "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"

    problems = check_table(spec, schema, POPULATE_CASES, body_of,
                           lambda body: s.post("/orders/populate", body))
    assert not problems, "\n".join(problems)
    # Its answers, as documented.
    for payload, status in (({"total_entries": 3, "batch_id": "answers-1"}, 201),
                            ({"total_entries": 1, "batch_id": "answers-1"}, 409),
                            ({"total_entries": 0}, 400)):
        r = s.post("/orders/populate", payload)
        assert r.status == status, r
        problems += answer_problems(spec, "POST", "/orders/populate", r)
    assert not problems, "\n".join(problems)


def coerced(value, schema):
    """A query value as a validator that coerces query strings sees it
    (ajv's coerceTypes, as Prism uses it): a number where the schema wants
    one and the text is numeric to JavaScript, else the text."""
    types = schema.get("type")
    if types in ("integer", "number") and re.fullmatch(
            r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", value):
        return json_value(str(decimal.Decimal(value)))
    return value


# (path, parameter, raw query value, the server takes it, spelling)
QUERY_CASES = [
    ("/orders", "limit", "1", True, None),
    ("/orders", "limit", "1000", True, None),
    ("/orders", "limit", "0050", True, None),
    ("/orders", "limit", "0", False, None),
    ("/orders", "limit", "1001", False, None),
    ("/orders", "limit", "-1", False, None),
    ("/orders", "limit", "abc", False, None),
    ("/orders", "limit", "", False, None),
    ("/orders", "limit", "50.0", False, "50.0"),
    ("/orders", "limit", "5e1", False, "5e1"),
    ("/orders", "limit", "%2B50", False, "+50"),
    ("/orders", "user_id", "1", True, None),
    ("/orders", "user_id", "alice", True, None),
    ("/orders", "user_id", "a+b", True, None),
    ("/orders", "user_id", "%C3%A9", True, None),
    ("/orders", "user_id", X64, True, None),
    ("/orders", "user_id", X65, False, None),
    ("/orders", "user_id", "", False, None),
    ("/orders", "user_id", "a%01", False, None),
    ("/orders", "user_id", "a%09b", False, None),
    ("/orders", "user_id", "a%C2%85", False, None),
    ("/orders", "after", "1", True, None),
    ("/orders", "after", "00012", True, None),
    ("/orders", "after", "9" * 18, True, None),
    ("/orders", "after", "1" + "0" * 18, False, None),
    ("/orders", "after", "0", False, None),
    ("/orders", "after", "000", False, None),
    ("/orders", "after", "-1", False, None),
    ("/orders", "after", "1.5", False, None),
    ("/orders", "status", "Pending", True, None),
    ("/orders", "status", "Cancelled", True, None),
    ("/orders", "status", "pending", False, None),
    ("/orders", "status", "", False, None),
    ("/orders/events", "limit", "1", True, None),
    ("/orders/events", "limit", "1001", False, None),
    ("/orders/events", "limit", "100.0", False, "100.0"),
    ("/orders/events", "limit", "1e2", False, "1e2"),
    ("/orders/events", "wait", "0", True, None),
    ("/orders/events", "wait", "31", False, None),
    ("/orders/events", "wait", "-1", False, None),
    ("/orders/events", "wait", "5.0", False, "5.0"),
    ("/orders/events", "after", "0-0", True, None),
    ("/orders/events", "after", "12-345", True, None),
    ("/orders/events", "after", "1", False, None),
    ("/orders/events", "after", "1-", False, None),
    ("/orders/events", "after", "-1", False, None),
    ("/orders/events", "after", "1-2-3", False, None),
    ("/orders/events", "after", "1" + "0" * 18 + "-1", False, None),
    ("/orders/events", "order_id", "ORD-1", True, None),
    ("/orders/events", "order_id", "a+b", False, None),
    ("/orders/events", "order_id", X65, False, None),
    ("/orders/events", "type", "order.created", True, None),
    ("/orders/events", "type", "created", False, None),
    ("/orders/events", "delivery", "failed", True, None),
    ("/orders/events", "delivery", "lost", False, None),
    ("/metrics", "scope", "server", True, None),
    ("/metrics", "scope", "cluster", True, None),
    ("/metrics", "scope", "all", False, None),
    ("/metrics", "order_ids", "true", True, None),
    ("/metrics", "order_ids", "false", True, None),
    ("/metrics", "order_ids", "yes", False, None),
    ("/metrics", "format", "json", True, None),
    ("/metrics", "format", "prometheus", True, None),
    ("/metrics", "format", "xml", False, None),
]


def query_parameter(spec, path, name):
    for p in spec["paths"][path]["get"].get("parameters", []):
        p = resolve(spec, p)
        if p["in"] == "query" and p["name"] == name:
            return p
    raise AssertionError(f"GET {path} documents no query parameter {name}")


def test_query_parameters_are_refused_by_the_schema_exactly_as_by_the_server(server):
    spec = load_spec()
    check = SchemaChecker(spec)
    problems = []
    for path, name, value, takes, spelling in QUERY_CASES:
        param = query_parameter(spec, path, name)
        label = f"GET {path}?{name}={value[:40]}"
        r = server.get(f"{path}?{name}={value}")
        if r.status not in (200, 400, 410):
            problems.append(f"{label}: the server answered {r.status} {r.body[:200]!r}")
        elif (r.status != 400) != takes:
            problems.append(f"{label}: the server {'refused' if takes else 'took'} "
                            f"it: {r.status} {r.body[:200]!r}")
        elif r.status == 400 and name not in json.loads(r.body)["error"]:
            problems.append(f"{label}: the 400 does not name {name}: {r.body!r}")
        schema = resolve(spec, param["schema"])
        seen = coerced(urllib.parse.unquote_plus(value, errors="strict"), schema)
        schema_takes = not check.errors(param["schema"], seen)
        if spelling:
            if not schema_takes or takes:
                problems.append(f"{label}: a spelling row, but the schema "
                                f"{'refuses' if not schema_takes else 'takes'} it")
            if spelling not in param.get("description", ""):
                problems.append(f"{label}: the description of {name} does not "
                                f"name the refused spelling {spelling}")
        elif schema_takes != takes:
            problems.append(f"{label}: the schema {'takes' if schema_takes else 'refuses'}"
                            f" {seen!r}, the server {'takes' if takes else 'refuses'} it")
    assert not problems, "\n".join(problems)


def test_head_takes_the_parameters_of_get():
    """HEAD is GET without the body: the same parameters on every path."""
    spec = load_spec()
    for path, item in spec["paths"].items():
        if "head" in item:
            names = [[resolve(spec, p)["name"] for p in item[m].get("parameters", [])]
                     for m in ("get", "head")]
            assert names[0] == names[1], (path, names)


# -- 5. real answers match the document --------------------------------------

def header_value(text, schema):
    """A header's text as its schema's type."""
    if schema.get("type") == "integer" and re.fullmatch(r"[0-9]+", text):
        return int(text)
    return text


def answer_problems(spec, method, path, r):
    """How answer `r` to `method` on the document's `path` differs from
    what the document says of it."""
    check = SchemaChecker(spec)
    where = f"{method} {path} -> {r.status}"
    item = spec["paths"][path]
    if method.lower() not in item:
        # A method the path does not take: the 405 every operation lists.
        method = next(m for m in METHODS if m in item).upper()
    documented = item[method.lower()]["responses"]
    if str(r.status) not in documented:
        return [f"{where}: status not documented"]
    resp = resolve(spec, documented[str(r.status)])
    problems = []
    content = resp.get("content", {})
    media = (r.header("Content-Type") or "").split(";")[0].strip().lower()
    if method == "HEAD" or r.status == 304:
        if r.body:
            problems.append(f"{where}: a body {r.body[:100]!r}")
    elif not content:
        if r.body:
            problems.append(f"{where}: a body, documented without one: {r.body[:100]!r}")
    elif media not in content:
        problems.append(f"{where}: Content-Type {media!r}, documented {sorted(content)}")
    else:
        schema = content[media]["schema"]
        value = json_value(r.body) if media == "application/json" else r.body.decode("latin-1")
        problems += [f"{where}: {e}" for e in check.errors(schema, value)]
    for name, header in resp.get("headers", {}).items():
        header = resolve(spec, header)
        text = r.header(name)
        if text is None:
            if header.get("required"):
                problems.append(f"{where}: no {name} header")
            continue
        problems += [f"{where}: header {name}: {e}" for e in
                     check.errors(header["schema"], header_value(text, header["schema"]))]
    if resp.get("x-answered-by") == "apache" and media != "text/html" \
            and method != "HEAD":
        problems.append(f"{where}: Apache's answer is {media!r}, not text/html")
    if (resp.get("x-answered-by") == "apache" or media == "text/html") \
            and r.header("Request-Id") is not None:
        problems.append(f"{where}: Apache's own answer has a Request-Id")
    return problems


def raw_request(server, data):
    """A request written by hand (for what http.client would fix up)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(data)
        resp = http.client.HTTPResponse(s, method=data.split(b" ", 1)[0].decode())
        resp.begin()
        return Response(resp.status, resp.getheaders(), resp.read())


def test_real_answers_match_the_document(server):
    spec = load_spec()
    oid = f"ans-{uuid.uuid4().hex[:12]}"
    order = {"order_id": oid, "user_id": "alice", "item_ids": [101, "x-2"],
             "total_amount": 4.02}
    rid = {"X-Request-ID": f"check-{uuid.uuid4().hex[:8]}"}
    answers = []

    def ask(method, template, url=None, expect=None, **kw):
        r = server.request(method, url or template, **kw)
        answers.append((method, template, r, expect))
        return r

    placed = ask("POST", "/orders", body=order, headers=rid, expect=202)
    ask("POST", "/orders", body=order, expect=200)
    ask("POST", "/orders", body=dict(order, total_amount=5), expect=409)
    ask("POST", "/orders", body=dict(order, total_amount=5.999), expect=400, headers=rid)
    ask("POST", "/orders", body="x", headers={"Content-Type": "text/plain"}, expect=415)
    for data, status in (
            (b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
             b"application/json\r\nConnection: close\r\n\r\n", 411),
            (b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
             b"application/json\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n", 413)):
        answers.append(("POST", "/orders", raw_request(server, data), status))
    one = f"/orders/{oid}"
    got = ask("GET", "/orders/{order_id}", one, expect=200)
    ask("GET", "/orders/{order_id}", one, expect=304,
        headers={"If-None-Match": got.header("ETag") or '"none"'})
    ask("HEAD", "/orders/{order_id}", one, expect=200)
    ask("GET", "/orders/{order_id}", "/orders/no-such-order", expect=404)
    ask("HEAD", "/orders/{order_id}", "/orders/no-such-order", expect=404)
    ask("DELETE", "/orders/{order_id}", "/orders/no-such-order", expect=404)
    ask("DELETE", "/orders/{order_id}", one, expect=(200, 409))
    ask("GET", "/orders", "/orders?limit=1", expect=200)
    ask("GET", "/orders", "/orders?user_id=alice&status=Pending&limit=1000", expect=200)
    ask("GET", "/orders", "/orders?limit=0", expect=400)
    ask("HEAD", "/orders", "/orders?limit=2", expect=200)
    ask("HEAD", "/orders", "/orders?limit=0", expect=400)
    ask("GET", "/orders/events", "/orders/events?limit=2", expect=200)
    ask("GET", "/orders/events", f"/orders/events?order_id={oid}&type=order.created",
        expect=200)
    ask("GET", "/orders/events", "/orders/events?wait=99", expect=400)
    ask("HEAD", "/orders/events", expect=200)
    ask("POST", "/orders/events/{event_id}/redeliver", "/orders/events/evt_1/redeliver",
        expect=404)
    ask("POST", "/orders/populate", body={"total_entries": 1}, expect=404)
    ask("GET", "/metrics", expect=200)
    ask("GET", "/metrics", "/metrics?order_ids=true&scope=cluster", expect=200)
    ask("GET", "/metrics", "/metrics?format=prometheus", expect=200)
    ask("GET", "/metrics", headers={"Accept": "application/openmetrics-text"}, expect=200)
    ask("GET", "/metrics", "/metrics?scope=everywhere", expect=400)
    ask("HEAD", "/metrics", "/metrics?format=json", expect=200)
    ask("HEAD", "/metrics", "/metrics?order_ids=maybe", expect=400)
    for path in spec["paths"]:
        ask("PATCH", path, re.sub(r"\{[^}]*\}", "x", path), expect=405)
    # Apache's own refusals, before the module.
    ask("GET", "/orders/{order_id}", "/orders/a%zzb", expect=400)
    ask("HEAD", "/orders/{order_id}", "/orders/a%zzb", expect=400)
    ask("DELETE", "/orders/{order_id}", "/orders/a%2Fb", expect=404)
    ask("GET", "/orders/{order_id}", "/orders/a%00b", expect=404)
    ask("POST", "/orders/events/{event_id}/redeliver", "/orders/events/evt%zz/redeliver",
        expect=400)
    ask("POST", "/orders/events/{event_id}/redeliver", "/orders/events/evt_1%2F/redeliver",
        expect=404)

    problems = []
    for method, path, r, expect in answers:
        wanted = expect if isinstance(expect, tuple) else (expect,)
        if r.status not in wanted:
            problems.append(f"{method} {path}: {r.status}, the test expected {expect}: "
                            f"{r.body[:200]!r}")
        problems += answer_problems(spec, method, path, r)
    assert not problems, "\n".join(problems)
    # What the document says of request ids, where the server gives them
    # (the Request-Id header's `required: true` makes it a must above).
    for r in (placed, answers[3][2]):
        if r.header("Request-Id") is not None:
            assert r.header("Request-Id") == rid["X-Request-ID"], r.headers
    error = answers[3][2].json()
    if "request_id" in error:
        assert error["request_id"] == answers[3][2].header("Request-Id"), error
