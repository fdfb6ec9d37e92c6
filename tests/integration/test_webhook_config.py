"""The webhook directives: apachectl configtest refuses what cannot work,
with a message that names the directive and what it takes."""
import subprocess

import pytest

from orders_server import Server

# The Standard Webhooks specification's test secret (24 bytes).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def configtest(extra):
    s = Server(extra_conf=extra)
    try:
        p = subprocess.run(["apache2", "-f", s.conf, "-t"], capture_output=True,
                           text=True)
        return p.returncode, p.stdout + p.stderr
    finally:
        s.cleanup()


@pytest.mark.parametrize("conf, says", [
    ("OrdersWebhookURL ftp://127.0.0.1/x\n", "OrdersWebhookURL takes an http:// or https://"),
    ("OrdersWebhookURL not-a-url\n", "OrdersWebhookURL takes an http:// or https://"),
    ("OrdersWebhookURL http://127.0.0.1:9/x\n", "OrdersWebhookURL needs OrdersWebhookSecret"),
    ("OrdersWebhookSecret secret\n", "OrdersWebhookSecret"),
    ("OrdersWebhookSecret whsec_dG9vIHNob3J0\n", "OrdersWebhookSecret"),
    (f"OrdersWebhookSecret {SECRET} {SECRET}\n", "OrdersWebhookSecret"),
    ("OrdersWebhookTimeout 0\n", "OrdersWebhookTimeout takes seconds from"),
    ("OrdersWebhookRetry 10 5\n", "MAX (5) must not be less than MIN (10)"),
    ("OrdersWebhookAttempts 0\n", "OrdersWebhookAttempts must be a whole number from 1 to 1000"),
    ("OrdersEventRetention 0\n", "OrdersEventRetention takes seconds from 1"),
    ("OrdersMaxWaiters -1\n", "OrdersMaxWaiters must be a whole number from 0"),
])
def test_configtest_refuses_with_a_message_naming_the_directive(conf, says):
    rc, out = configtest(conf)
    assert rc != 0, out
    assert says in out, out


def test_a_complete_webhook_configuration_passes_configtest():
    rc, out = configtest(f"OrdersWebhookURL https://127.0.0.1:9/hooks\n"
                         f"OrdersWebhookSecret {SECRET}\n"
                         f"OrdersWebhookTimeout 2.5\nOrdersWebhookRetry 0.5 60\n"
                         f"OrdersWebhookAttempts 3\n")
    assert rc == 0, out
