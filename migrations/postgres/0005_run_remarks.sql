-- What a run did without refusing a row, in step with migrations/sqlite/0005:
--
-- * `rows_duplicate`: rows whose key an earlier row of the run gave, merged as the
--   connector's `on_duplicate` chose. read = inserted + updated + unchanged +
--   duplicates + rejected.
-- * `reason_summary`: rejects and warnings counted by reason, with their first
--   positions (JSON), over every remark of the run, not only the stored ones.
-- * A remark kept in `rejects` is a reject (the row did not load) or a warning (a
--   duplicate merged, a row another connector owns).
ALTER TABLE runs ADD COLUMN rows_duplicate BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN reason_summary TEXT;
ALTER TABLE rejects ADD COLUMN severity TEXT NOT NULL DEFAULT 'reject';
