-- The province's resource capital, the problems its working group records, and the
-- topics that link them to indicators (issue 15), in step with migrations/postgres/0008.
--
-- * Resources and problems are shared by code: a connector (a steward's sheet, a
--   workshop workbook) or the API (connector '@api', a name no connector can take)
--   writes them; the load reports a row it would take from another writer.
-- * Both keep history: what a connector's source drops is retired on a full refresh
--   (retired_on set, retired_by empty), and a retirement through the API names who.
-- * A resource's areas and topics are lists stored as ';90;9001;': one LIKE finds a
--   resource covering an area or any area under one, on either database.
-- * Thai has no spaces between words, so search is by trigram: an FTS5 table with the
--   trigram tokenizer over the resource's titles and descriptions, kept by triggers.
--   `id` is the rowid it points at, declared so that VACUUM cannot renumber it.
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
    id              INTEGER PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE,
    title_th        TEXT NOT NULL,
    title_en        TEXT,
    description_th  TEXT,
    description_en  TEXT,
    category        TEXT NOT NULL,
    subcategory     TEXT,
    agency          TEXT,
    contact         TEXT,
    areas           TEXT NOT NULL,
    topics          TEXT NOT NULL DEFAULT ';',
    amount          DOUBLE PRECISION,
    unit            TEXT,
    valid_from      TEXT,
    valid_to        TEXT,
    origin          TEXT NOT NULL DEFAULT 'connector',
    connector       TEXT,
    run_id          BIGINT,
    updated_by      TEXT,
    updated_at      TEXT,
    retired_on      TEXT,
    retired_by      TEXT
);
CREATE INDEX resources_category ON resources (category, subcategory);

CREATE VIRTUAL TABLE resources_search USING fts5(
    title_th, title_en, description_th, description_en,
    content = 'resources', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER resources_search_insert AFTER INSERT ON resources BEGIN
    INSERT INTO resources_search (rowid, title_th, title_en, description_th, description_en)
    VALUES (new.id, new.title_th, new.title_en, new.description_th, new.description_en);
END;
CREATE TRIGGER resources_search_delete AFTER DELETE ON resources BEGIN
    INSERT INTO resources_search (resources_search, rowid, title_th, title_en, description_th, description_en)
    VALUES ('delete', old.id, old.title_th, old.title_en, old.description_th, old.description_en);
END;
-- Only a change of the searched text re-indexes (not a retirement, not a reload).
CREATE TRIGGER resources_search_update
AFTER UPDATE OF title_th, title_en, description_th, description_en ON resources BEGIN
    INSERT INTO resources_search (resources_search, rowid, title_th, title_en, description_th, description_en)
    VALUES ('delete', old.id, old.title_th, old.title_en, old.description_th, old.description_en);
    INSERT INTO resources_search (rowid, title_th, title_en, description_th, description_en)
    VALUES (new.id, new.title_th, new.title_en, new.description_th, new.description_en);
END;

CREATE TABLE problems (
    id              INTEGER PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE,
    area_code       TEXT NOT NULL,
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
    updated_at      TEXT,
    retired_on      TEXT,
    retired_by      TEXT
);
CREATE INDEX problems_area ON problems (area_code);
CREATE INDEX problems_topic ON problems (topic, status);
