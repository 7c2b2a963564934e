-- Central indicators and early warning, in step with migrations/postgres/0006:
--
-- * The catalogue says how each indicator is computed: ratio multiplier and
--   denominator lag, mean weight, decimals, supported breakdowns and source precedence
--   (comma-separated lists), and Thai and English descriptions.
-- * `alert_rules`: early-warning rules per indicator; the definition is the rule as
--   JSON, read by the same type as the config. Provisioned rules come from the config
--   file and are replaced at each start; the others were saved through the API.
-- * `indicator_values`: computed values per indicator, area, period and breakdown,
--   written by analytics after each load that changed data and on demand;
--   `computed_periods` lists the periods each indicator has values for.
-- * `alerts` had never been written: it is made again with what an alert's lifecycle
--   needs, and at most one alert per indicator, area and rule is not resolved.
ALTER TABLE indicators ADD COLUMN description_th TEXT;
ALTER TABLE indicators ADD COLUMN description_en TEXT;
ALTER TABLE indicators ADD COLUMN multiplier REAL;
ALTER TABLE indicators ADD COLUMN denominator_lag INTEGER;
ALTER TABLE indicators ADD COLUMN weight TEXT;
ALTER TABLE indicators ADD COLUMN decimals INTEGER;
ALTER TABLE indicators ADD COLUMN breakdowns TEXT NOT NULL DEFAULT '';
ALTER TABLE indicators ADD COLUMN sources TEXT NOT NULL DEFAULT '';

CREATE TABLE alert_rules (
    name        TEXT PRIMARY KEY,
    indicator   TEXT NOT NULL,
    provisioned INTEGER NOT NULL DEFAULT 0,
    definition  TEXT NOT NULL
);

CREATE TABLE indicator_values (
    indicator   TEXT NOT NULL,
    area_code   TEXT NOT NULL,
    period      TEXT NOT NULL,
    breakdown   TEXT NOT NULL DEFAULT '',
    level       TEXT NOT NULL,
    parent_code TEXT,
    value       REAL NOT NULL,
    numerator   REAL,
    denominator REAL,
    denominator_period TEXT,
    reported    INTEGER,
    expected    INTEGER,
    rank        INTEGER,
    siblings    INTEGER,
    parent_value REAL,
    previous_period TEXT,
    previous_value REAL,
    band        TEXT NOT NULL,
    sources     TEXT NOT NULL,
    PRIMARY KEY (indicator, area_code, period, breakdown)
) WITHOUT ROWID;

-- The periods each indicator has computed values for, so that "the latest period" is
-- a look at a few rows rather than a scan of the indicator's values.
CREATE TABLE computed_periods (
    indicator   TEXT NOT NULL,
    period      TEXT NOT NULL,
    value_count INTEGER NOT NULL,
    PRIMARY KEY (indicator, period)
);

DROP TABLE alerts;
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    indicator   TEXT NOT NULL,
    area_code   TEXT NOT NULL,
    rule        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    period      TEXT NOT NULL,
    severity    TEXT NOT NULL,
    value       REAL,
    threshold   REAL,
    expected    TEXT NOT NULL,
    sources     TEXT NOT NULL DEFAULT '[]',
    status      TEXT NOT NULL,
    resolved_period TEXT,
    history     TEXT NOT NULL DEFAULT '[]',
    raised_at   TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX alerts_one_unresolved ON alerts (indicator, area_code, rule)
    WHERE status <> 'resolved';
CREATE INDEX alerts_area ON alerts (area_code, status);
