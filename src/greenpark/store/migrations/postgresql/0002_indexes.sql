-- PostgreSQL only, applied after 0002_observations.sql.
CREATE UNIQUE INDEX observations_key ON observations (station_id, ts, parameter);
CREATE INDEX observations_history_key ON observations_history (station_id, ts, parameter);
