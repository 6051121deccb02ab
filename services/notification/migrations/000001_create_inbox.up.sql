-- The inbox makes event handlers idempotent: one row per (consumer, event id) processed,
-- written in the same transaction as the handler's own changes (pkg/postgres.Process).
CREATE TABLE inbox (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    subject      text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

CREATE INDEX inbox_processed_at_idx ON inbox (processed_at);
