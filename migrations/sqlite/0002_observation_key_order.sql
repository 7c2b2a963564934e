-- One index serves both the natural key and the common queries: leading with the
-- indicator and area lets "indicator X in area Y and below" use it, so the separate
-- (indicator, area_code, period) index goes, and each load maintains one index less.
DROP INDEX observations_natural_key;
DROP INDEX observations_indicator_area;
CREATE UNIQUE INDEX observations_natural_key
    ON observations (indicator, area_code, period, breakdown, school_code, connector);
