DROP TABLE ownership;
DROP TABLE event_ids;
DROP TABLE events;
