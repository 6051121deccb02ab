-- The transactional outbox (postgres.OutboxDDL): events written with the state change they
-- announce, published to JetStream by the relay.
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
