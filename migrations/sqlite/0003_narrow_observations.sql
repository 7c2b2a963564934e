-- Narrower observations, in step with migrations/postgres/0003:
--
-- * The file and sheet a row came from are stored once per run in `run_sources`; a row
--   keeps the source's number within its run and its row. The load time is the run's
--   finish time. A national file repeated its path and a timestamp on every row.
-- * WITHOUT ROWID, keyed by the natural key: the table is its own unique index, so a
--   load writes one B-tree per row instead of a rowid table and an index (half the disk
--   too). Pages follow the key.
-- (SQLite's default BINARY collation already compares codes as bytes.)

-- No foreign key to runs: observations never had one, and a database whose runs were
-- pruned by hand must still migrate without losing rows.
CREATE TABLE run_sources (
    run_id  INTEGER NOT NULL,
    source  INTEGER NOT NULL,
    file    TEXT NOT NULL,
    sheet   TEXT,
    PRIMARY KEY (run_id, source)
) WITHOUT ROWID;

INSERT INTO run_sources (run_id, source, file, sheet)
SELECT run_id,
       row_number() OVER (PARTITION BY run_id ORDER BY source_file, source_sheet) - 1,
       source_file, source_sheet
FROM (SELECT DISTINCT run_id, source_file, source_sheet FROM observations);

CREATE TABLE observations_narrow (
    indicator   TEXT NOT NULL,
    area_code   TEXT NOT NULL,
    period      TEXT NOT NULL,
    breakdown   TEXT NOT NULL DEFAULT '',
    school_code TEXT NOT NULL DEFAULT '',
    connector   TEXT NOT NULL,
    value       REAL NOT NULL,
    run_id      INTEGER NOT NULL,
    source      INTEGER NOT NULL,
    source_row  INTEGER,
    PRIMARY KEY (indicator, area_code, period, breakdown, school_code, connector)
) WITHOUT ROWID;

INSERT INTO observations_narrow
    (indicator, area_code, period, breakdown, school_code, connector, value, run_id, source, source_row)
SELECT o.indicator, o.area_code, o.period, o.breakdown, o.school_code, o.connector, o.value,
       o.run_id, s.source, o.source_row
FROM observations AS o
JOIN run_sources AS s
  ON s.run_id = o.run_id AND s.file = o.source_file AND s.sheet IS o.source_sheet;

DROP TABLE observations;
ALTER TABLE observations_narrow RENAME TO observations;
