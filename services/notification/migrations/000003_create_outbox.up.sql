-- The transactional outbox (postgres.OutboxDDL): the notification.v1.* events (dead letters,
-- disabled subscriptions) written with the delivery state they announce, published to the
-- NOTIFICATION stream by the relay.
CREATE TABLE outbox (
    id         bigserial   PRIMARY KEY,
    subject    text        NOT NULL,
    msg_id     text        NOT NULL UNIQUE,
    headers    jsonb,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts   int         NOT NULL DEFAULT 0,
    last_error text
);
