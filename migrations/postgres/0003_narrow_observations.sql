-- Narrower observations, for loads near PostgreSQL's own COPY speed and for prefix queries.
--
-- * The file and sheet a row came from are stored once per run in `run_sources`; a row
--   keeps the source's number within its run and its row. The load time is the run's
--   finish time. A national file repeated its path and a timestamp on every row.
-- * No surrogate id: the natural key identifies a row, and pages follow the key's index
--   (one index to maintain per row instead of two).
-- * Codes compare as bytes (COLLATE "C"): they are ASCII, their order is their byte order,
--   comparisons skip the locale, and `area_code LIKE '90%'` (an area and everything below
--   it) can use the index, which a locale collation forbids.
-- * Fixed-width columns first: no alignment padding between them.

-- No foreign key to runs: observations never had one, and a database whose runs were
-- pruned by hand must still migrate without losing rows.
CREATE TABLE run_sources (
    run_id  BIGINT NOT NULL,
    source  INTEGER NOT NULL,
    file    TEXT NOT NULL,
    sheet   TEXT,
    PRIMARY KEY (run_id, source)
);

INSERT INTO run_sources (run_id, source, file, sheet)
SELECT run_id,
       (row_number() OVER (PARTITION BY run_id ORDER BY source_file, source_sheet NULLS FIRST) - 1)::INTEGER,
       source_file, source_sheet
FROM (SELECT DISTINCT run_id, source_file, source_sheet FROM observations) AS s;

CREATE TABLE observations_narrow (
    value       DOUBLE PRECISION NOT NULL,
    run_id      BIGINT NOT NULL,
    source_row  BIGINT,
    source      INTEGER NOT NULL,
    indicator   TEXT COLLATE "C" NOT NULL,
    area_code   TEXT COLLATE "C" NOT NULL,
    period      TEXT COLLATE "C" NOT NULL,
    breakdown   TEXT COLLATE "C" NOT NULL DEFAULT '',
    school_code TEXT COLLATE "C" NOT NULL DEFAULT '',
    connector   TEXT COLLATE "C" NOT NULL
);

INSERT INTO observations_narrow
    (value, run_id, source_row, source, indicator, area_code, period, breakdown, school_code, connector)
SELECT o.value, o.run_id, o.source_row, s.source, o.indicator, o.area_code, o.period, o.breakdown,
       o.school_code, o.connector
FROM observations AS o
JOIN run_sources AS s
  ON s.run_id = o.run_id AND s.file = o.source_file AND s.sheet IS NOT DISTINCT FROM o.source_sheet;

DROP TABLE observations;
ALTER TABLE observations_narrow RENAME TO observations;
CREATE UNIQUE INDEX observations_natural_key
    ON observations (indicator, area_code, period, breakdown, school_code, connector);

-- Area and school codes compare as bytes too, so joins with observations use their keys.
ALTER TABLE areas ALTER COLUMN code TYPE TEXT COLLATE "C";
ALTER TABLE areas ALTER COLUMN parent_code TYPE TEXT COLLATE "C";
ALTER TABLE schools ALTER COLUMN code TYPE TEXT COLLATE "C";
ALTER TABLE schools ALTER COLUMN area_code TYPE TEXT COLLATE "C";
