-- Subscriptions, the ownership they are checked against, and the deliveries made for them.
--
-- Matching is by index, never a scan of subscriptions: an event yields its keys (the container
-- number, booking id and transport document reference it is about, and the tenant that owns the
-- container) and subscription_keys finds the subscriptions listening on any of them.

-- Who owns what, projected from schedule.v1.booking.* and schedule.v1.shipment.* (the
-- tenant_id of their envelope). One row per (tenant, kind, value).
CREATE TABLE ownership (
    tenant_id  text        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('container', 'booking', 'document')),
    value      text        NOT NULL,            -- ISO 6346 number, booking id, transport document reference
    container  text        NOT NULL DEFAULT '', -- for a booking: its container
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, value, tenant_id)
);

CREATE INDEX ownership_tenant_idx ON ownership (tenant_id, kind);

CREATE TABLE subscriptions (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           text        NOT NULL,
    callback_url        text        NOT NULL,
    scheme              text        NOT NULL DEFAULT 'standard' CHECK (scheme IN ('standard', 'dcsa')),
    secret              text        NOT NULL,     -- whsec_... (standard) or base64 (dcsa)
    previous_secret     text,                     -- during a rotation: still signed with until previous_until
    previous_until      timestamptz,
    all_containers      boolean     NOT NULL DEFAULT false, -- "all my containers"
    event_types         text[]      NOT NULL DEFAULT '{}',  -- e.g. {DEPA,ARRI,ETA}; empty: every type
    status              text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    disabled_reason     text,
    disabled_at         timestamptz,
    consecutive_failures integer    NOT NULL DEFAULT 0,
    first_failure_at    timestamptz,                  -- start of the current run of failures
    version             integer     NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX subscriptions_tenant_idx ON subscriptions (tenant_id, created_at DESC);

-- What a subscription listens on: kind container / booking / document with the reference, or
-- kind tenant with the tenant id for "all my containers".
CREATE TABLE subscription_keys (
    kind            text NOT NULL CHECK (kind IN ('container', 'booking', 'document', 'tenant')),
    value           text NOT NULL,
    subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    PRIMARY KEY (kind, value, subscription_id)
);

CREATE INDEX subscription_keys_subscription_idx ON subscription_keys (subscription_id);

-- One delivery per (subscription, event). lane orders deliveries: within a subscription, the
-- deliveries about one container (or one booking/shipment when there is no container) go out in
-- event order, a later one never before an earlier one that is still retrying.
CREATE TABLE deliveries (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(), -- the webhook-id
    subscription_id uuid        NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    tenant_id       text        NOT NULL,
    event_id        text        NOT NULL,
    event_type      text        NOT NULL,    -- e.g. DEPA, ARRI, ETA
    subject         text        NOT NULL,
    lane            text        NOT NULL,    -- e.g. container:MSCU1234565
    seq             bigserial,               -- order within the lane
    body            bytea       NOT NULL,    -- the JSON envelope sent, signed at each attempt
    status          text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'succeeded', 'dead', 'cancelled')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (subscription_id, event_id)
);

CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_lane_idx ON deliveries (subscription_id, lane, seq) WHERE status = 'pending';
CREATE INDEX deliveries_subscription_idx ON deliveries (subscription_id, created_at DESC, id);

CREATE TABLE delivery_attempts (
    delivery_id uuid        NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt     integer     NOT NULL,
    started_at  timestamptz NOT NULL,
    status_code integer,                     -- NULL when no HTTP answer (timeout, refused, DNS)
    latency_ms  integer     NOT NULL,
    error       text,                        -- for the subscription's owner only
    response    text,                        -- the first bytes of the answer, for its owner only
    PRIMARY KEY (delivery_id, attempt)
);
