-- abe-hub unified schema, first cut (PostgreSQL). Kept in step with migrations/sqlite.
-- Timestamps are TIMESTAMPTZ; codes are the natural keys of reference tables.

CREATE TABLE agencies (
    code        TEXT PRIMARY KEY,
    name_th     TEXT NOT NULL,
    name_en     TEXT,
    kind        TEXT NOT NULL
);

CREATE TABLE areas (
    code        TEXT PRIMARY KEY,
    level       TEXT NOT NULL,
    parent_code TEXT,
    name_th     TEXT NOT NULL,
    name_en     TEXT,
    connector   TEXT,
    run_id      BIGINT
);
CREATE INDEX areas_parent ON areas (parent_code);
CREATE INDEX areas_level ON areas (level);

CREATE TABLE schools (
    code        TEXT PRIMARY KEY,
    name_th     TEXT NOT NULL,
    name_en     TEXT,
    area_code   TEXT NOT NULL,
    affiliation TEXT,
    levels      TEXT,
    connector   TEXT,
    run_id      BIGINT
);
CREATE INDEX schools_area ON schools (area_code);

CREATE TABLE indicators (
    code        TEXT PRIMARY KEY,
    name_th     TEXT NOT NULL,
    name_en     TEXT,
    unit        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    numerator   TEXT,
    denominator TEXT,
    direction   TEXT NOT NULL,
    topic       TEXT
);

CREATE TABLE thresholds (
    indicator   TEXT NOT NULL,
    level       TEXT NOT NULL,
    warning     DOUBLE PRECISION,
    critical    DOUBLE PRECISION,
    PRIMARY KEY (indicator, level)
);

CREATE TABLE connectors (
    name        TEXT PRIMARY KEY,
    agency      TEXT,
    kind        TEXT NOT NULL,
    target      TEXT NOT NULL,
    schedule    TEXT,
    config      TEXT NOT NULL,
    provisioned BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE runs (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector     TEXT NOT NULL,
    trigger       TEXT NOT NULL,
    status        TEXT NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    rows_read     BIGINT NOT NULL DEFAULT 0,
    rows_inserted BIGINT NOT NULL DEFAULT 0,
    rows_updated  BIGINT NOT NULL DEFAULT 0,
    rows_unchanged BIGINT NOT NULL DEFAULT 0,
    rows_deleted  BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    read_ms       BIGINT NOT NULL DEFAULT 0,
    load_ms       BIGINT NOT NULL DEFAULT 0,
    error         TEXT,
    cursor        TEXT
);
CREATE INDEX runs_connector ON runs (connector, id);

CREATE TABLE rejects (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    file        TEXT NOT NULL,
    sheet       TEXT,
    row_number  BIGINT,
    column_name TEXT,
    value       TEXT,
    reason      TEXT NOT NULL
);
CREATE INDEX rejects_run ON rejects (run_id, id);

CREATE TABLE observations (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector   TEXT NOT NULL,
    indicator   TEXT NOT NULL,
    area_code   TEXT NOT NULL,
    school_code TEXT NOT NULL DEFAULT '',
    period      TEXT NOT NULL,
    breakdown   TEXT NOT NULL DEFAULT '',
    value       DOUBLE PRECISION NOT NULL,
    run_id      BIGINT NOT NULL,
    source_file TEXT NOT NULL,
    source_sheet TEXT,
    source_row  BIGINT,
    loaded_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX observations_natural_key
    ON observations (connector, indicator, area_code, school_code, period, breakdown);
CREATE INDEX observations_indicator_area ON observations (indicator, area_code, period);

CREATE TABLE resources (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category    BIGINT NOT NULL CHECK (category BETWEEN 1 AND 4),
    subcategory TEXT,
    name_th     TEXT NOT NULL,
    name_en     TEXT,
    owner_agency TEXT,
    area_codes  TEXT NOT NULL DEFAULT '',
    topics      TEXT NOT NULL DEFAULT '',
    amount      DOUBLE PRECISION,
    unit        TEXT,
    contact     TEXT,
    valid_from  TIMESTAMPTZ,
    valid_to    TIMESTAMPTZ
);

CREATE TABLE problems (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    area_code   TEXT NOT NULL,
    topic       TEXT NOT NULL,
    text_th     TEXT NOT NULL,
    text_en     TEXT,
    origin      TEXT NOT NULL,
    alert_id    BIGINT,
    recorded_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE alerts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    indicator   TEXT NOT NULL,
    area_code   TEXT NOT NULL,
    period      TEXT NOT NULL,
    severity    TEXT NOT NULL,
    rule        TEXT NOT NULL,
    value       DOUBLE PRECISION NOT NULL,
    threshold   DOUBLE PRECISION,
    status      TEXT NOT NULL,
    history     TEXT NOT NULL DEFAULT '[]',
    raised_at   TIMESTAMPTZ NOT NULL
);
