-- Operations on the network: weekly timetables that generate departures, the baseline plan a
-- departure's lateness is measured against, each booking's announced ETA and its place on its
-- route's waitlist, multimodal shipments with their legs, and the exceptions raised (once each).

CREATE TABLE timetables (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    route_code         text        NOT NULL REFERENCES routes (code),
    weekday            smallint    NOT NULL CHECK (weekday BETWEEN 0 AND 6), -- 0 is Sunday
    departure_time     time        NOT NULL,                  -- local time at the origin
    time_zone          text        NOT NULL,                  -- IANA zone of the origin, e.g. Asia/Shanghai
    train_number       text        NOT NULL,
    cutoff_before      interval    NOT NULL CHECK (cutoff_before >= '0'),
    open_before        interval    NOT NULL CHECK (open_before >= '0'), -- generated runs open this long before leaving
    teu_cn             integer     CHECK (teu_cn >= 0),       -- NULL: the route's default
    teu_abroad         integer     CHECK (teu_abroad >= 0),
    weight_capacity_kg bigint      CHECK (weight_capacity_kg >= 0),
    valid_from         date        NOT NULL,
    valid_until        date,                                  -- inclusive; NULL: open-ended
    version            integer     NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_until IS NULL OR valid_until >= valid_from)
);

CREATE UNIQUE INDEX timetables_slot_key ON timetables (route_code, weekday, departure_time);

-- A run generated from a timetable names it and its service date (the origin's local date), so
-- generating the same weeks again creates nothing new, even after a run was delayed.
ALTER TABLE departures
    ADD COLUMN timetable_id uuid REFERENCES timetables (id) ON DELETE SET NULL,
    ADD COLUMN service_date date;

CREATE UNIQUE INDEX departures_timetable_run_key ON departures (timetable_id, service_date)
    WHERE timetable_id IS NOT NULL;
CREATE INDEX departures_cutoff_idx ON departures (cutoff_at) WHERE status IN ('planned', 'open');

-- The plan as first made: lateness (delays by dispatchers and in the field) is measured from it.
ALTER TABLE departure_stops
    ADD COLUMN baseline_arrival_at   timestamptz,
    ADD COLUMN baseline_departure_at timestamptz;

UPDATE departure_stops SET baseline_arrival_at = planned_arrival_at, baseline_departure_at = planned_departure_at;

-- eta is the arrival at the booking's to-stop last announced (schedule.v1.eta.changed or at
-- creation); waitlisted_at orders the route-wide waitlist.
ALTER TABLE bookings
    ADD COLUMN eta           timestamptz,
    ADD COLUMN waitlisted_at timestamptz;

CREATE INDEX bookings_waitlist_idx ON bookings (waitlisted_at) WHERE status = 'waitlisted';

CREATE TABLE shipments (
    id                           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id                    text        NOT NULL,
    transport_document_reference text        NOT NULL UNIQUE, -- the multimodal bill of lading
    status                       text        NOT NULL DEFAULT 'created'
        CHECK (status IN ('created', 'booked', 'in_transit', 'arrived', 'delivered', 'cancelled')),
    origin                       text        NOT NULL,        -- UN/LOCODE of the place of receipt
    destination                  text        NOT NULL,        -- UN/LOCODE of the place of delivery
    eta                          timestamptz,                 -- last announced arrival at the destination
    version                      integer     NOT NULL DEFAULT 1,
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX shipments_tenant_idx ON shipments (tenant_id, created_at DESC);

CREATE TABLE shipment_containers (
    shipment_id         uuid NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
    equipment_reference text NOT NULL,
    PRIMARY KEY (shipment_id, equipment_reference)
);

CREATE INDEX shipment_containers_container_idx ON shipment_containers (equipment_reference);

-- A leg is either a booking on a departure here (booking_id set; its times come from the
-- departure) or an external leg with planned times and the actual times its carrier reports.
CREATE TABLE shipment_legs (
    shipment_id          uuid        NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
    seq                  integer     NOT NULL CHECK (seq >= 1),
    mode                 text        NOT NULL CHECK (mode IN ('rail', 'sea', 'road', 'air', 'barge')),
    from_location        text        NOT NULL,
    to_location          text        NOT NULL,
    carrier_code         text        NOT NULL DEFAULT '',
    transport_reference  text        NOT NULL DEFAULT '',
    booking_id           uuid        REFERENCES bookings (id),
    planned_departure_at timestamptz,
    planned_arrival_at   timestamptz,
    actual_departure_at  timestamptz,
    actual_arrival_at    timestamptz,
    PRIMARY KEY (shipment_id, seq)
);

CREATE UNIQUE INDEX shipment_legs_booking_key ON shipment_legs (booking_id) WHERE booking_id IS NOT NULL;

-- Exceptions raised, one per key (e.g. missed_cutoff:<booking id>), so a sweep or a redelivered
-- event never raises the same one twice.
CREATE TABLE exceptions (
    key          text        PRIMARY KEY,
    kind         text        NOT NULL,
    departure_id uuid        REFERENCES departures (id) ON DELETE CASCADE,
    booking_id   uuid        REFERENCES bookings (id) ON DELETE CASCADE,
    tenant_id    text        NOT NULL DEFAULT '',
    detail       text        NOT NULL DEFAULT '',
    raised_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX exceptions_raised_idx ON exceptions (raised_at DESC);
