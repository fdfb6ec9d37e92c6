-- mod_orders schema for SQLite (DBDriver sqlite3).
-- mod_orders creates it itself when it is missing; this file is the same
-- text, for DBAs.  Times are integer microseconds since the epoch (UTC);
-- money is integer hundredths plus the number of decimals the client sent.
-- On a new file mod_orders first sets PRAGMA page_size = 1024 (each order
-- touches index pages at random places, and a commit writes every page it
-- touched) and PRAGMA journal_mode = WAL; do the same if you make it here.
CREATE TABLE IF NOT EXISTS orders (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id       TEXT    NOT NULL UNIQUE,
    order_id_int   INTEGER NOT NULL,
    user_id        TEXT    NOT NULL,
    user_id_int    INTEGER NOT NULL,
    item_ids       TEXT    NOT NULL,
    amount_cents   INTEGER NOT NULL,
    amount_scale   INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    created_us     INTEGER NOT NULL,
    updated_us     INTEGER NOT NULL,
    started_us     INTEGER,
    completed_us   INTEGER,
    lease_until_us INTEGER,
    claim_token    TEXT
);
CREATE INDEX IF NOT EXISTS orders_unfinished
    ON orders (lease_until_us) WHERE status IN ('Pending', 'Processing');
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, seq);
CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id, seq);
CREATE TABLE IF NOT EXISTS order_batches (
    batch_id      TEXT    NOT NULL PRIMARY KEY,
    total_entries INTEGER NOT NULL,
    created_us    INTEGER NOT NULL
);
-- Leases of jobs that one child of one server does at a time (the recovery
-- pass): a holder keeps its lease by renewing it, and once a holder stops
-- renewing (killed, hung, stopped) another takes it over when it runs out.
CREATE TABLE IF NOT EXISTS order_leases (
    name     TEXT    NOT NULL PRIMARY KEY,
    holder   TEXT    NOT NULL,
    until_us INTEGER NOT NULL
);
INSERT INTO order_leases (name, holder, until_us) VALUES ('recovery', '', 0)
    ON CONFLICT (name) DO NOTHING;
-- Every change of an order, written in the transaction of the change (the
-- outbox of the events feed and the webhooks).  The order's fixed fields
-- are read from orders; an event keeps what changed.  `xid` orders the
-- feed: SQLite has one writer at a time, so commit order is seq order and
-- xid is 0.
CREATE TABLE IF NOT EXISTS order_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    xid          INTEGER NOT NULL DEFAULT 0,
    type         TEXT    NOT NULL,
    order_id     TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    updated_us   INTEGER NOT NULL,
    started_us   INTEGER,
    completed_us INTEGER,
    created_us   INTEGER NOT NULL,
    -- The webhook delivery (NULL when no OrdersWebhookURL was set when the
    -- event was written): pending, delivered or failed, and the holder of its
    -- lease while an attempt is under way.
    delivery        TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER,
    next_attempt_us INTEGER,
    lease_holder    TEXT,
    lease_until_us  INTEGER
);
-- The deliveries still to make, in the order they go out, with what decides
-- whether one is due: the delivery threads walk it, /metrics counts it.
-- (order_events_due, by time alone, made the walk sort the whole backlog.)
DROP INDEX IF EXISTS order_events_due;
CREATE INDEX IF NOT EXISTS order_events_pending
    ON order_events (seq, next_attempt_us, lease_until_us)
    WHERE delivery = 'pending';
CREATE INDEX IF NOT EXISTS order_events_by_order ON order_events (order_id, seq);
CREATE INDEX IF NOT EXISTS order_events_by_time ON order_events (created_us);
-- The newest event retention removed: a cursor before it answers 410.
INSERT INTO order_leases (name, holder, until_us) VALUES ('events-removed', '0.0', 0)
    ON CONFLICT (name) DO NOTHING;
