-- Meters read once a day or once a month (bills, park.toml interval = "day" | "month"): completeness
-- counts days or months; NULL for meters with an interval in minutes.
ALTER TABLE meters ADD COLUMN period VARCHAR;
