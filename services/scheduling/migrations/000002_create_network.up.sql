-- The corridor network (routes and their stops, seeded from pkg/corridor), the dated train runs
-- on it (departures, with planned and actual times per stop), their capacity per segment, and
-- the bookings that use it.
--
-- No overbooking is enforced here, not in Go: a booking adds its TEU and weight to every
-- segment it uses in one UPDATE, and the CHECKs on departure_segments reject the transaction
-- when any segment would go over capacity. Row locks on the segments serialise racing bookings.

CREATE TABLE routes (
    code         text        PRIMARY KEY,            -- e.g. SCO-KZ-ALA
    name         text        NOT NULL,
    transit_days integer     NOT NULL CHECK (transit_days > 0),
    feu_cn       integer     NOT NULL CHECK (feu_cn >= 0),     -- 40' slots on the Chinese section
    feu_abroad   integer     NOT NULL CHECK (feu_abroad >= 0), -- 40' slots beyond the first border
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE route_stops (
    route_code       text     NOT NULL REFERENCES routes (code) ON DELETE CASCADE,
    seq              integer  NOT NULL CHECK (seq >= 0),     -- 0 is the origin
    un_location_code text     NOT NULL,
    name             text     NOT NULL,
    country          text     NOT NULL,                      -- ISO 3166-1 alpha-2
    role             text     NOT NULL,                      -- origin, port, transit, border, destination
    gauge_mm         integer  NOT NULL CHECK (gauge_mm > 0),
    km_from_prev     integer  NOT NULL DEFAULT 0,            -- great-circle distance from the previous stop
    dwell            interval NOT NULL DEFAULT '0',          -- planned stay at this stop
    break_of_gauge   boolean  NOT NULL DEFAULT false,        -- gauge differs from the previous stop: boxes are reloaded here
    PRIMARY KEY (route_code, seq)
);

CREATE TABLE departures (
    id                   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    route_code           text        NOT NULL REFERENCES routes (code),
    train_number         text        NOT NULL,
    status               text        NOT NULL DEFAULT 'planned'
        CHECK (status IN ('planned', 'open', 'closed', 'departed', 'arrived', 'cancelled')),
    cutoff_at            timestamptz NOT NULL,
    planned_departure_at timestamptz NOT NULL,
    version              integer     NOT NULL DEFAULT 1,     -- bumped on every change; the ETag
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX departures_route_idx ON departures (route_code, planned_departure_at);
CREATE INDEX departures_status_idx ON departures (status, planned_departure_at);

CREATE TABLE departure_stops (
    departure_id         uuid        NOT NULL REFERENCES departures (id) ON DELETE CASCADE,
    seq                  integer     NOT NULL,
    un_location_code     text        NOT NULL,               -- copied from the route when the departure was made
    planned_arrival_at   timestamptz,                        -- NULL at the origin
    planned_departure_at timestamptz,                        -- NULL at the destination
    actual_arrival_at    timestamptz,
    actual_departure_at  timestamptz,
    PRIMARY KEY (departure_id, seq)
);

-- Segment seq runs from stop seq to stop seq+1.
CREATE TABLE departure_segments (
    departure_id       uuid    NOT NULL REFERENCES departures (id) ON DELETE CASCADE,
    seq                integer NOT NULL,
    teu_capacity       integer NOT NULL CHECK (teu_capacity >= 0),
    weight_capacity_kg bigint  NOT NULL CHECK (weight_capacity_kg >= 0),
    teu_booked         integer NOT NULL DEFAULT 0,
    weight_booked_kg   bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (departure_id, seq),
    -- The no-overbooking guarantee. pgstore names these constraints in its CapacityError.
    CONSTRAINT departure_segments_teu_check CHECK (teu_booked BETWEEN 0 AND teu_capacity),
    CONSTRAINT departure_segments_weight_check CHECK (weight_booked_kg BETWEEN 0 AND weight_capacity_kg)
);

CREATE TABLE bookings (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    departure_id        uuid        NOT NULL REFERENCES departures (id),
    tenant_id           text        NOT NULL,                -- the shipper
    equipment_reference text        NOT NULL,                -- ISO 6346 container number
    iso_equipment_code  text        NOT NULL,                -- ISO 6346 size/type, e.g. 45G1
    teu                 integer     NOT NULL CHECK (teu IN (1, 2)),
    gross_weight_kg     bigint      NOT NULL CHECK (gross_weight_kg > 0),
    from_seq            integer     NOT NULL,
    to_seq              integer     NOT NULL,
    status              text        NOT NULL DEFAULT 'confirmed',
    created_at          timestamptz NOT NULL DEFAULT now(),
    version             integer     NOT NULL DEFAULT 1,
    CHECK (from_seq >= 0 AND from_seq < to_seq)
);

CREATE INDEX bookings_departure_idx ON bookings (departure_id, created_at);
CREATE INDEX bookings_tenant_idx ON bookings (tenant_id, created_at DESC);
CREATE INDEX bookings_container_idx ON bookings (equipment_reference);
-- A container rides a departure once (cancelled bookings do not count).
CREATE UNIQUE INDEX bookings_departure_container_key ON bookings (departure_id, equipment_reference)
    WHERE status <> 'cancelled';
