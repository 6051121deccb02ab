DROP TABLE bookings;
DROP TABLE departure_segments;
DROP TABLE departure_stops;
DROP TABLE departures;
DROP TABLE route_stops;
DROP TABLE routes;
