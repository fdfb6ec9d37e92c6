"""The one builder of order bodies for the integration tests.

    order("a-1")                     {"order_id": "a-1", "user_id": 1,
                                      "item_ids": [101, 102],
                                      "total_amount": 10.5}
    order("a-1", user_id="bob")      that, with user_id replaced
    order("a-1", status="Pending")   that, with a field added (at the end)
    order("a-1", user_id=OMIT)       that, without user_id
    order("load-7", 7)               the content of order number 7 of a
                                     load: user_id 7 % 50, item_ids
                                     [7, "item-7"], total_amount 10.05 + 7

Keyword arguments are applied last, over the defaults and over what `n`
gives.  The keys keep the order order_id, user_id, item_ids, total_amount
(then added fields), so the JSON sent is what the tests wrote by hand
before.  Bodies whose bytes matter (number spellings, broken JSON) are
written as bytes by the tests that send them, not built here.
"""

OMIT = object()
"""A field given OMIT is left out of the body."""


def order(order_id, n=None, **fields):
    """A valid order body (a dict, which Server.post sends as JSON).

    `n`, a number, gives the order content of its own, for loads of many
    orders (every order different, amounts with cents); keyword arguments
    then replace or add fields, and OMIT removes one (order_id too)."""
    if n is None:
        body = {"order_id": order_id, "user_id": 1, "item_ids": [101, 102],
                "total_amount": 10.5}
    else:
        body = {"order_id": order_id, "user_id": n % 50,
                "item_ids": [n, f"item-{n}"], "total_amount": 10.05 + n}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not OMIT}
