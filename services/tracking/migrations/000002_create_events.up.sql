-- History of container events: every distinct event once, partitioned by month of the time
-- the event happened (occurred_at), so years of history stay fast and old months can be
-- detached or archived whole. Monthly partitions are created ahead by the service at start and
-- daily (pgstore.EnsurePartitions); anything outside them lands in events_default.
CREATE TABLE events (
    event_id               uuid        NOT NULL,
    occurred_at            timestamptz NOT NULL,
    occurred_offset_s      integer     NOT NULL DEFAULT 0,  -- the source's UTC offset, for display
    created_at             timestamptz NOT NULL,
    recorded_at            timestamptz NOT NULL,
    event_type             text        NOT NULL,            -- EQUIPMENT | TRANSPORT | SHIPMENT | POSITION
    type_code              text,                            -- LOAD, ARRI, ...; NULL for POSITION
    classifier             text        NOT NULL,            -- PLN | EST | ACT
    equipment_reference    text,                            -- ISO 6346; NULL for train-only events
    un_location_code       text,
    mode_of_transport      text,
    vehicle                text,                            -- train number, vessel IMO, plate
    carrier_booking_ref    text,
    transport_document_ref text,
    document_type_code     text,
    refs                   text[]      NOT NULL DEFAULT '{}', -- "TYPE:value" of every reference
    derived                boolean     NOT NULL DEFAULT false, -- produced from positions by a geofence
    payload                bytea       NOT NULL,             -- the protobuf ContainerEvent
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE TABLE events_default PARTITION OF events DEFAULT;

CREATE INDEX events_container_idx ON events (equipment_reference, occurred_at DESC, event_id DESC);
CREATE INDEX events_recorded_idx ON events (recorded_at, event_id);
-- Partial indexes: position fixes (most of the volume) have neither a location nor references,
-- and skipping them keeps the write cost of a fix to the primary key and two btrees.
CREATE INDEX events_location_idx ON events (un_location_code, occurred_at DESC) WHERE un_location_code IS NOT NULL;
CREATE INDEX events_refs_idx ON events USING gin (refs) WHERE refs <> '{}';

-- Event ids seen, across all partitions (a unique index on a partitioned table must include
-- the partition key, so the dedupe key lives here).
CREATE TABLE event_ids (
    event_id    uuid        PRIMARY KEY,
    occurred_at timestamptz NOT NULL
);

-- Which tenant (shipper) may see which container: tracking's own projection of bookings and
-- shipments announced by scheduling on schedule.v1.booking.* and schedule.v1.shipment.*.
CREATE TABLE ownership (
    tenant_id           text        NOT NULL,
    equipment_reference text        NOT NULL,
    granted_by          text        NOT NULL,  -- booking:<id> or shipment:<id>
    granted_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, equipment_reference, granted_by)
);

CREATE INDEX ownership_container_idx ON ownership (equipment_reference);
