-- The province's resource capital, the problems its working group records, and the
-- topics that link them to indicators (issue 15), in step with migrations/sqlite/0008.
--
-- * Resources and problems are shared by code: a connector (a steward's sheet, a
--   workshop workbook) or the API (connector '@api', a name no connector can take)
--   writes them; the load reports a row it would take from another writer.
-- * Both keep history: what a connector's source drops is retired on a full refresh
--   (retired_on set, retired_by empty), and a retirement through the API names who.
-- * A resource's areas and topics are lists stored as ';90;9001;': one LIKE finds a
--   resource covering an area or any area under one, on either database.
-- * Thai has no spaces between words, so search is by trigram (pg_trgm here, FTS5's
--   trigram tokenizer on SQLite), indexed. The indexed expression is
--   abe_store::registry::SEARCH_TEXT, and a test checks the index is used.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- 0001 made placeholder `resources` and `problems` tables that nothing ever wrote; they
-- are made again with what the registry needs (as 0006 did for `alerts`).
DROP TABLE resources;
DROP TABLE problems;

CREATE TABLE topics (
    code        TEXT PRIMARY KEY,
    name_th     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE resources (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            TEXT COLLATE "C" NOT NULL UNIQUE,
    title_th        TEXT NOT NULL,
    title_en        TEXT,
    description_th  TEXT,
    description_en  TEXT,
    category        TEXT NOT NULL,
    subcategory     TEXT,
    agency          TEXT,
    contact         TEXT,
    areas           TEXT COLLATE "C" NOT NULL,
    topics          TEXT COLLATE "C" NOT NULL DEFAULT ';',
    amount          DOUBLE PRECISION,
    unit            TEXT,
    valid_from      TEXT,
    valid_to        TEXT,
    origin          TEXT NOT NULL DEFAULT 'connector',
    connector       TEXT,
    run_id          BIGINT,
    updated_by      TEXT,
    updated_at      TIMESTAMPTZ,
    retired_on      TEXT,
    retired_by      TEXT
);
CREATE INDEX resources_category ON resources (category, subcategory);
CREATE INDEX resources_search ON resources USING gin (
    (title_th || ' ' || COALESCE(title_en, '') || ' ' || COALESCE(description_th, '')
     || ' ' || COALESCE(description_en, '')) gin_trgm_ops);

CREATE TABLE problems (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            TEXT COLLATE "C" NOT NULL UNIQUE,
    area_code       TEXT COLLATE "C" NOT NULL,
    topic           TEXT NOT NULL,
    statement_th    TEXT NOT NULL,
    statement_en    TEXT,
    group_name      TEXT,
    workshop        TEXT,
    raised_on       TEXT,
    severity        TEXT NOT NULL DEFAULT 'medium',
    status          TEXT NOT NULL DEFAULT 'open',
    children        DOUBLE PRECISION,
    origin          TEXT NOT NULL DEFAULT 'connector',
    connector       TEXT,
    run_id          BIGINT,
    updated_by      TEXT,
    updated_at      TIMESTAMPTZ,
    retired_on      TEXT,
    retired_by      TEXT
);
CREATE INDEX problems_area ON problems (area_code);
CREATE INDEX problems_topic ON problems (topic, status);
