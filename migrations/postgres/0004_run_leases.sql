-- Runs hold a lease in the database, in step with migrations/sqlite/0004:
--
-- * A run is its connector's lease while it is `running`: at most one running run per
--   connector (a partial unique index), owned by one process (`lease_owner`), which
--   extends `lease_expires_at` as it goes. A run whose lease expired is `abandoned` by
--   whichever process looks next; a second attempt while the lease holds is refused.
-- * A scheduled run records the tick it is for (`scheduled_for`): replicas firing the
--   same tick find it taken.
-- * A failed run keeps its code from the closed list (`error_code`) beside its detail.
ALTER TABLE runs ADD COLUMN error_code TEXT;
ALTER TABLE runs ADD COLUMN lease_owner TEXT;
ALTER TABLE runs ADD COLUMN heartbeat_at TIMESTAMPTZ;
ALTER TABLE runs ADD COLUMN lease_expires_at TIMESTAMPTZ;
ALTER TABLE runs ADD COLUMN scheduled_for TIMESTAMPTZ;

-- Runs an older hub left `running`: all but the newest of each connector are over;
-- the newest gets a lease that has already expired, so the next look abandons it
-- unless its process is still there to finish it.
UPDATE runs SET status = 'abandoned', error_code = 'ABANDONED', finished_at = started_at,
       error = 'the process running this run stopped; the previous data stands'
WHERE status = 'running'
  AND id NOT IN (SELECT max(id) FROM runs WHERE status = 'running' GROUP BY connector);
UPDATE runs SET lease_expires_at = started_at, heartbeat_at = started_at
WHERE status = 'running';
-- Failures an older hub journaled get the code their wording shows (the wording those
-- versions used); runs it closed at start as interrupted were abandoned.
UPDATE runs SET status = 'abandoned', error_code = 'ABANDONED'
WHERE status = 'failed' AND error LIKE 'interrupted:%';
UPDATE runs SET error_code = CASE
        WHEN error LIKE '% rows were rejected (%' THEN 'TOO_MANY_REJECTS'
        WHEN error LIKE 'the source gave no rows to load%' THEN 'EMPTY_SOURCE'
        ELSE 'INTERNAL'
    END
WHERE status = 'failed' AND error_code IS NULL;

CREATE UNIQUE INDEX runs_one_running ON runs (connector) WHERE status = 'running';
CREATE UNIQUE INDEX runs_one_per_tick ON runs (connector, scheduled_for)
    WHERE scheduled_for IS NOT NULL;
