-- greenpark store, schema version 3: published carbon results (issue 3).
-- The first `greenpark carbon` run of a year (for one grid level, region, factor-year rule and
-- certificate matching rule) publishes its result here with every factor it used. Later runs pin
-- those factors, so a newer factor edition (or a USER factor added to park.toml) changes a published
-- year only with `greenpark carbon --restate`, which supersedes the row and records the difference.
-- JSON documents are stored as VARCHAR (portable to every engine).

CREATE TABLE carbon_results (
    result_id BIGINT PRIMARY KEY,
    period INTEGER NOT NULL,                 -- calendar year reported (park time)
    level VARCHAR NOT NULL,                  -- national | regional | provincial (location-based grid factor)
    region VARCHAR NOT NULL,                 -- grid region or province of the level; '' for national
    factor_year_rule VARCHAR NOT NULL,       -- carbon_rules.csv id (electricity_factor_year)
    certificate_matching VARCHAR NOT NULL,   -- carbon_rules.csv id (certificate_matching)
    published_at TIMESTAMPTZ NOT NULL,
    greenpark_version VARCHAR NOT NULL,
    selection VARCHAR NOT NULL,              -- JSON {role: {id, reason}}: factors the rules chose, and why
    factors VARCHAR NOT NULL,                -- JSON [{id, value, unit, source, status, ...}]: the factor edition used
    figures VARCHAR NOT NULL,                -- JSON {entity id or "park": {scope1_t, scope2_location_t, ...}} [tCO2]
    superseded_by BIGINT,                    -- result_id of the restatement that replaced this row; NULL = current
    restates BIGINT,                         -- result_id this row restated (NULL for a first publication)
    restatement VARCHAR                      -- JSON: figures and factors that changed against the restated row
);

-- certificates and green-power contracts a published result applied: the registry that keeps a
-- serial from being counted in two periods even when park.toml is edited later
CREATE TABLE carbon_certificate_uses (
    result_id BIGINT NOT NULL,
    period INTEGER NOT NULL,
    certificate_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,                   -- gec | green_power_contract
    enterprise_id VARCHAR NOT NULL,
    serial_start VARCHAR,
    serial_end VARCHAR,
    serial_head VARCHAR,                     -- serial prefix (text before the trailing digits)
    serial_lo BIGINT,                        -- trailing digits of serial_start / serial_end as integers
    serial_hi BIGINT,
    applied_mwh DOUBLE NOT NULL
);
