-- PostgreSQL only, applied after 0001_initial.sql (which is translated from DuckDB's dialect).
-- TRY_CAST of DuckDB: NULL instead of an error for text that is not a value of the type. Only
-- the forms DuckDB reads are accepted (PostgreSQL would also read 'yesterday' or 'Jan 5').
CREATE FUNCTION gp_try_timestamptz(t text) RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF t IS NULL OR t !~ '^\s*\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?\s*$' THEN
        RETURN NULL;
    END IF;
    RETURN t::timestamptz;
EXCEPTION WHEN others THEN RETURN NULL;
END $$;

CREATE FUNCTION gp_try_timestamp(t text) RETURNS timestamp LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF t IS NULL OR t !~ '^\s*\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*$' THEN
        RETURN NULL;
    END IF;
    RETURN t::timestamp;
EXCEPTION WHEN others THEN RETURN NULL;
END $$;

CREATE FUNCTION gp_try_date(t text) RETURNS date LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF t IS NULL OR t !~ '^\s*\d{4}-\d{2}-\d{2}\s*$' THEN
        RETURN NULL;
    END IF;
    RETURN t::date;
EXCEPTION WHEN others THEN RETURN NULL;
END $$;

CREATE FUNCTION gp_try_double(t text) RETURNS double precision LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF t IS NULL OR t ~ '^\s*$' THEN
        RETURN NULL;
    END IF;
    RETURN t::double precision;
EXCEPTION WHEN others THEN RETURN NULL;
END $$;

CREATE FUNCTION gp_try_bigint(t text) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN t::bigint;
EXCEPTION WHEN others THEN RETURN NULL;
END $$;

-- keys the import path keeps unique (DuckDB's file relies on the import path alone) and the
-- lookups of the accounts and the API
CREATE UNIQUE INDEX readings_key ON readings (meter_id, ts);
CREATE UNIQUE INDEX registers_key ON registers (meter_id, ts);
CREATE INDEX readings_history_key ON readings_history (meter_id, ts);
CREATE UNIQUE INDEX rollup_hourly_key ON rollup_hourly (meter_id, hour);
CREATE UNIQUE INDEX rollup_daily_key ON rollup_daily (meter_id, day);
CREATE UNIQUE INDEX rollup_monthly_key ON rollup_monthly (meter_id, month);
CREATE INDEX imports_checksum ON imports (checksum);
CREATE INDEX quarantine_import ON quarantine (import_id, line_no);
