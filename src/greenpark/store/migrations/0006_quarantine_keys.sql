-- greenpark store, schema version 6: the meter and instant of a quarantined row (issue 15 item 7).
-- A quarantined reading names the meter and UTC instant it was for when they could be read, so
-- that the quarantine can hide rows superseded by a later accepted reading of the same meter and
-- time, be filtered by meter and period, and be scoped to an enterprise's meters. NULL where the
-- row gave no known meter or no readable time (malformed rows, station rows).

ALTER TABLE quarantine ADD COLUMN meter_id VARCHAR;
ALTER TABLE quarantine ADD COLUMN ts TIMESTAMP;   -- UTC

-- rows quarantined before version 6: the meter from the first field of the original line when
-- it is a meter of the park (the layout meter_id,timestamp,value[,unit]); their time stays NULL
UPDATE quarantine SET meter_id = split_part(raw, ',', 1)
WHERE raw IS NOT NULL AND split_part(raw, ',', 1) IN (SELECT meter_id FROM meters);
