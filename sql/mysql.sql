-- mod_orders schema for MariaDB and MySQL (DBDriver mysql).
-- mod_orders creates it itself when it is missing; this file is the same
-- text, for DBAs.  Times are integer microseconds since the epoch (UTC);
-- money is integer hundredths plus the number of decimals the client sent.
-- InnoDB for transactions, utf8mb4 for any text a client sends, and the
-- binary collation so that ids compare exactly as on the other databases
-- (ORD1 and ord1 are two orders).  Ids are at most 64 characters, the
-- contract's limit.  MariaDB has no partial indexes: where the others index
-- only the rows a query wants, these index every row.
CREATE TABLE IF NOT EXISTS orders (
    seq            BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    order_id       VARCHAR(64) NOT NULL UNIQUE,
    order_id_int   SMALLINT    NOT NULL,
    user_id        VARCHAR(64) NOT NULL,
    user_id_int    SMALLINT    NOT NULL,
    item_ids       MEDIUMTEXT  NOT NULL,
    amount_cents   BIGINT      NOT NULL,
    amount_scale   SMALLINT    NOT NULL,
    status         VARCHAR(16) NOT NULL,
    created_us     BIGINT      NOT NULL,
    updated_us     BIGINT      NOT NULL,
    started_us     BIGINT,
    completed_us   BIGINT,
    lease_until_us BIGINT,
    claim_token    VARCHAR(255)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- Finished orders have no lease (NULL), so this holds the unfinished ones.
CREATE INDEX IF NOT EXISTS orders_unfinished ON orders (lease_until_us);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, seq);
CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id, seq);
CREATE TABLE IF NOT EXISTS order_batches (
    batch_id      VARCHAR(64) NOT NULL PRIMARY KEY,
    total_entries BIGINT      NOT NULL,
    created_us    BIGINT      NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- Leases of jobs that one child of one server does at a time (the recovery
-- pass): a holder keeps its lease by renewing it, and once a holder stops
-- renewing (killed, hung, stopped) another takes it over when it runs out.
CREATE TABLE IF NOT EXISTS order_leases (
    name     VARCHAR(64)  NOT NULL PRIMARY KEY,
    holder   VARCHAR(255) NOT NULL,
    until_us BIGINT       NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO order_leases (name, holder, until_us) VALUES ('recovery', '', 0)
    ON DUPLICATE KEY UPDATE name = name;
-- Every change of an order, written in the transaction of the change (the
-- outbox of the events feed and the webhooks).  The order's fixed fields
-- are read from orders; an event keeps what changed.  AUTO_INCREMENT order
-- is not commit order with several writers: a writer's transaction locks
-- the row 'event-writer' of order_leases just before its first event (FOR
-- UPDATE, until its COMMIT), so that transactions writing events commit one
-- after another in seq order, as SQLite's single writer does, and xid is 0.
CREATE TABLE IF NOT EXISTS order_events (
    seq          BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    xid          BIGINT      NOT NULL DEFAULT 0,
    type         VARCHAR(32) NOT NULL,
    order_id     VARCHAR(64) NOT NULL,
    status       VARCHAR(16) NOT NULL,
    updated_us   BIGINT      NOT NULL,
    started_us   BIGINT,
    completed_us BIGINT,
    created_us   BIGINT      NOT NULL,
    -- The webhook delivery (NULL when no OrdersWebhookURL was set when the
    -- event was written): pending, delivered or failed, and the holder of its
    -- lease while an attempt is under way.
    delivery        VARCHAR(16),
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_status     BIGINT,
    next_attempt_us BIGINT,
    lease_holder    VARCHAR(255),
    lease_until_us  BIGINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- The deliveries still to make, in the order they go out (delivery first,
-- for want of a partial index): the delivery threads walk it, /metrics
-- counts it.
CREATE INDEX IF NOT EXISTS order_events_pending
    ON order_events (delivery, seq, next_attempt_us, lease_until_us);
CREATE INDEX IF NOT EXISTS order_events_by_order ON order_events (order_id, seq);
CREATE INDEX IF NOT EXISTS order_events_by_time ON order_events (created_us);
-- The newest event retention removed: a cursor before it answers 410.
INSERT INTO order_leases (name, holder, until_us) VALUES ('events-removed', '0.0', 0)
    ON DUPLICATE KEY UPDATE name = name;
-- The lock every transaction that writes events takes first (see above).
INSERT INTO order_leases (name, holder, until_us) VALUES ('event-writer', '', 0)
    ON DUPLICATE KEY UPDATE name = name;
