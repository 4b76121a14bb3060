-- PostgreSQL only, applied after 0006_quarantine_keys.sql.
CREATE INDEX quarantine_meter_ts ON quarantine (meter_id, ts);
