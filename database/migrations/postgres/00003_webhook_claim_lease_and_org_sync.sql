-- A webhook delivery's claim becomes a lease: "processing" until a time
-- by the database's clock, taken over once lapsed (an instance that
-- crashed between claim and apply no longer leaves the event claimed and
-- never applied), "done" once applied. Rows from before are done.
-- And the organization member-listing throttle, shared by every instance
-- instead of once a minute per instance.

-- +goose Up
ALTER TABLE webhook_events ADD COLUMN state TEXT NOT NULL DEFAULT 'done'; -- processing or done
ALTER TABLE webhook_events ADD COLUMN holder TEXT NOT NULL DEFAULT '';    -- random per claim: only its holder completes or releases it
ALTER TABLE webhook_events ADD COLUMN until BIGINT NOT NULL DEFAULT 0;     -- unix ms, database clock: a processing claim lapses then

CREATE TABLE org_syncs (
	org_id     TEXT PRIMARY KEY,
	started_at BIGINT NOT NULL -- unix ms, database clock: the last member listing of the organization began
);

-- +goose Down
DROP TABLE org_syncs;
ALTER TABLE webhook_events DROP COLUMN until;
ALTER TABLE webhook_events DROP COLUMN holder;
ALTER TABLE webhook_events DROP COLUMN state;
