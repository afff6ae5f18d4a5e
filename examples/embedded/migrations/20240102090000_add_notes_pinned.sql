-- strata:up
ALTER TABLE notes ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT FALSE;

-- strata:down
ALTER TABLE notes DROP COLUMN pinned;
