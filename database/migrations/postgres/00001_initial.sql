-- The same schema as migrations/sqlite/00001_initial.sql, in PostgreSQL's
-- types: identity columns for AUTOINCREMENT, BYTEA for BLOB, BOOLEAN for
-- the 0/1 flag, BIGINT for times (unix ms unless a comment says
-- otherwise). Goose runs it in one transaction under its advisory lock, so
-- instances starting together on an empty database do not race.

-- +goose Up
CREATE TABLE leases (
	name   TEXT PRIMARY KEY,
	holder TEXT NOT NULL,  -- random per acquisition: only its holder releases it
	until  BIGINT NOT NULL -- unix ms: a crashed holder's lease lapses
);

CREATE TABLE sessions (
	id_hash    TEXT PRIMARY KEY, -- SHA-256 of the id: a leaked database yields no usable cookie
	data       BYTEA NOT NULL,   -- the session's values, sealed with a key derived from the id (auth/sessionseal.go)
	expires_at BIGINT NOT NULL   -- unix seconds
);
CREATE INDEX sessions_expiry ON sessions (expires_at); -- for the sweep

CREATE TABLE members (
	org_id    TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	email     TEXT NOT NULL DEFAULT '',
	name      TEXT NOT NULL DEFAULT '',
	roles     TEXT NOT NULL DEFAULT '[]',
	last_seen BIGINT NOT NULL, -- unix ms of the last sign-in here; 0: never (listed by the IdP)
	PRIMARY KEY (org_id, user_id)
);
CREATE TABLE members_left ( -- who the directory says left: not synced back in
	org_id  TEXT NOT NULL,
	user_id TEXT NOT NULL,
	left_at BIGINT NOT NULL,
	PRIMARY KEY (org_id, user_id)
);
CREATE TABLE directory_sync (
	org_id      TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	occurred_at BIGINT NOT NULL, -- unix ns of the newest event applied to the member
	PRIMARY KEY (org_id, user_id)
);

CREATE TABLE role_changes (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id     TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	changed_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
	id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at        BIGINT NOT NULL,
	org_id    TEXT NOT NULL,
	actor     TEXT NOT NULL,
	target    TEXT NOT NULL,
	old_roles TEXT NOT NULL,
	new_roles TEXT NOT NULL,
	source    TEXT NOT NULL,
	outcome   TEXT NOT NULL,
	reason    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);

CREATE TABLE webhook_events (
	id          TEXT PRIMARY KEY, -- webhook-id: a redelivery is answered, not applied again
	received_at BIGINT NOT NULL   -- unix seconds
);
CREATE INDEX webhook_events_received ON webhook_events (received_at);

CREATE TABLE projects (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id      TEXT NOT NULL,
	name        TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	created_by  TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL
);
CREATE INDEX projects_org ON projects (org_id, id);

CREATE TABLE tasks (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id     TEXT NOT NULL,
	project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	title      TEXT NOT NULL,
	assignee   TEXT NOT NULL DEFAULT '',
	done       BOOLEAN NOT NULL DEFAULT false,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX tasks_project ON tasks (org_id, project_id, id);

-- +goose Down
-- The first migration is not undone: it would drop every table and all data.
SELECT 1;
