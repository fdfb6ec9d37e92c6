"""conf/orders.conf documents every directive of the built module, with the
default the module really uses."""
import os
import re
import subprocess

from orders_server import ROOT, Server

DOCS = os.path.join(ROOT, "conf", "orders.conf")


def command_table():
    """`apache2 -L` with the module loaded: every directive with its help
    text, straight from the built module's command table."""
    s = Server()
    try:
        return subprocess.run(["apache2", "-f", s.conf, "-L"], check=True,
                              capture_output=True, text=True).stdout
    finally:
        s.cleanup()


def module_directives():
    return {m.group(1) for m in
            re.finditer(r"^(\w+) \(mod_orders\.c\)", command_table(), re.M)}


def documented():
    """{directive: default} from the '#   ... Default: X.' lines."""
    text = open(DOCS).read()
    docs = {}
    for block in re.split(r"\n\s*\n", text):
        name = re.search(r"#\s+(Orders\w+)\s", block)
        default = re.search(r"Default: ([^.]+(?:\.\d+)?)\.", block)
        if name and default:
            docs[name.group(1)] = default.group(1)
    return docs


def test_every_directive_is_documented_and_nothing_else():
    names = module_directives()
    assert names, "the module's directives could not be listed"
    assert set(documented()) == names


def test_documented_defaults_are_the_commented_sample_values():
    text = open(DOCS).read()
    for name, default in documented().items():
        assert re.search(rf"^\s*#{name} {re.escape(default)}$", text, re.M), name


def test_documented_defaults_are_what_the_module_uses():
    """The command table's help text, built from the very macros the module
    falls back to, names the documented defaults."""
    out = command_table()
    for name, default in documented().items():
        help_text = re.search(rf"^{name} \(mod_orders\.c\)\n\t(.*)$", out, re.M).group(1)
        assert f"default {default}" in help_text, (name, help_text)
