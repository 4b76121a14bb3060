-- schema version 2: monitoring stations (air quality, surface water, weather) and their observations.
CREATE TABLE stations (
    station_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,               -- air | water | weather
    water_body VARCHAR,                  -- river | lake (water sections)
    name_zh VARCHAR,
    name_en VARCHAR
);

-- one value per station, instant and parameter, in the parameter's unit (station_parameters.csv):
-- hourly air concentrations (timestamp labels the end of the hour), water samples (sampling time),
-- weather (temperature [degC])
CREATE TABLE observations (
    station_id VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,               -- UTC
    parameter VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    import_id BIGINT NOT NULL
);

CREATE TABLE observations_history (
    station_id VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    parameter VARCHAR NOT NULL,
    old_value DOUBLE NOT NULL,
    old_import_id BIGINT NOT NULL,
    new_value DOUBLE NOT NULL,
    new_import_id BIGINT NOT NULL,
    replaced_at TIMESTAMPTZ NOT NULL
);
