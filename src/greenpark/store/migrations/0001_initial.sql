-- greenpark store, schema version 1.
-- Timestamps of readings, registers and meter events are instants stored as UTC wall-clock values
-- (TIMESTAMP, column names `ts`, `event_at`): portable to every engine (Spark TIMESTAMP_NTZ,
-- PostgreSQL timestamp) and free of session time-zone conversions. Rollup periods are park-time
-- wall-clock periods (TIMESTAMP / DATE) because accounts are kept by the park's calendar.

CREATE TABLE meters (
    meter_id VARCHAR PRIMARY KEY,
    owner VARCHAR NOT NULL,
    carrier VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,               -- interval | cumulative
    interval_minutes INTEGER NOT NULL,
    interval_label VARCHAR NOT NULL,     -- end | start: which end of its interval a timestamp labels
    multiplier DOUBLE NOT NULL,
    parent VARCHAR,
    end_use VARCHAR,
    building VARCHAR,
    renewable_generation BOOLEAN NOT NULL,
    export BOOLEAN NOT NULL,
    register_rollover DOUBLE            -- value at which a cumulative register wraps to zero
);

CREATE TABLE meter_events (
    meter_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,               -- replacement
    event_at TIMESTAMP NOT NULL,         -- UTC
    old_final DOUBLE NOT NULL,
    new_initial DOUBLE NOT NULL,
    note VARCHAR
);

CREATE TABLE imports (
    import_id BIGINT PRIMARY KEY,
    source VARCHAR NOT NULL,             -- file name (or channel for live sources)
    checksum VARCHAR NOT NULL,           -- 'blake3:<hex>' of the bytes imported
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    rows_read BIGINT NOT NULL DEFAULT 0,
    accepted BIGINT NOT NULL DEFAULT 0,  -- new readings
    unchanged BIGINT NOT NULL DEFAULT 0, -- same value already stored
    corrected BIGINT NOT NULL DEFAULT 0, -- different value for an existing key: the new one wins
    rejected BIGINT NOT NULL DEFAULT 0,  -- rows in quarantine
    status VARCHAR NOT NULL,             -- complete
    greenpark_version VARCHAR NOT NULL
);

-- interval consumption in the meter's unit (after multiplier and unit conversion)
CREATE TABLE readings (
    meter_id VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,               -- UTC
    value DOUBLE NOT NULL,
    import_id BIGINT NOT NULL
);

-- cumulative register values as read (register units, before multiplier)
CREATE TABLE registers (
    meter_id VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,               -- UTC
    register DOUBLE NOT NULL,
    import_id BIGINT NOT NULL
);

-- every value a correction replaced: when, and from which import, old and new
CREATE TABLE readings_history (
    meter_id VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,               -- UTC
    old_value DOUBLE NOT NULL,
    old_import_id BIGINT NOT NULL,
    new_value DOUBLE NOT NULL,
    new_import_id BIGINT NOT NULL,
    replaced_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE quarantine (
    import_id BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    line_no BIGINT,                      -- 1-based line in the file (header is line 1), when known
    reason VARCHAR NOT NULL,             -- stable reason code, see greenpark.ingest.REASONS
    detail VARCHAR,
    raw VARCHAR                          -- the original line (or the row re-serialised for binary formats)
);

CREATE TABLE rollup_hourly (meter_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, quantity DOUBLE NOT NULL, n_readings BIGINT NOT NULL);
CREATE TABLE rollup_daily (meter_id VARCHAR NOT NULL, day DATE NOT NULL, quantity DOUBLE NOT NULL, n_readings BIGINT NOT NULL);
CREATE TABLE rollup_monthly (meter_id VARCHAR NOT NULL, month DATE NOT NULL, quantity DOUBLE NOT NULL, n_readings BIGINT NOT NULL);
