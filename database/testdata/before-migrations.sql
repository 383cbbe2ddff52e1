-- The DDL that the package constructors of the versions before migrations
-- ran (lease, auth, members, projects, tasks), as they wrote it: a data/app.db
-- of those versions has exactly these tables.

CREATE TABLE IF NOT EXISTS leases (
	name   TEXT PRIMARY KEY,
	holder TEXT NOT NULL,   -- random per acquisition: only its holder releases it
	until  INTEGER NOT NULL -- unix ms: a crashed holder's lease lapses
);
DROP TABLE IF EXISTS session_leases; -- earlier versions' table for session refreshes

CREATE TABLE IF NOT EXISTS sessions (
	id_hash    TEXT PRIMARY KEY, -- SHA-256 of the id: a leaked database yields no usable cookie
	data       BLOB NOT NULL,    -- the session's values, sealed with a key derived from the id (sessionseal.go)
	expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at); -- for the sweep

CREATE TABLE IF NOT EXISTS members (
	org_id    TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	email     TEXT NOT NULL DEFAULT '',
	name      TEXT NOT NULL DEFAULT '',
	roles     TEXT NOT NULL DEFAULT '[]',
	last_seen INTEGER NOT NULL, -- unix ms of the last sign-in here; 0: never (listed by the IdP)
	PRIMARY KEY (org_id, user_id)
);
CREATE TABLE IF NOT EXISTS members_left ( -- who the directory says left: not synced back in
	org_id  TEXT NOT NULL,
	user_id TEXT NOT NULL,
	left_at INTEGER NOT NULL,
	PRIMARY KEY (org_id, user_id)
);

CREATE TABLE IF NOT EXISTS directory_sync (
	org_id      TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	occurred_at INTEGER NOT NULL, -- unix ns of the newest event applied to the member
	PRIMARY KEY (org_id, user_id)
);

CREATE TABLE IF NOT EXISTS role_changes (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id     TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	changed_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_log (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	at        INTEGER NOT NULL,
	org_id    TEXT NOT NULL,
	actor     TEXT NOT NULL,
	target    TEXT NOT NULL,
	old_roles TEXT NOT NULL,
	new_roles TEXT NOT NULL,
	source    TEXT NOT NULL,
	outcome   TEXT NOT NULL,
	reason    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_log_org ON audit_log (org_id, id);

CREATE TABLE IF NOT EXISTS webhook_events (
	id          TEXT PRIMARY KEY, -- webhook-id: a redelivery is answered, not applied again
	received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_events_received ON webhook_events (received_at);

CREATE TABLE IF NOT EXISTS projects (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id      TEXT NOT NULL,
	name        TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	created_by  TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS projects_org ON projects (org_id, id);

CREATE TABLE IF NOT EXISTS tasks (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id     TEXT NOT NULL,
	project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	title      TEXT NOT NULL,
	assignee   TEXT NOT NULL DEFAULT '',
	done       INTEGER NOT NULL DEFAULT 0,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_project ON tasks (org_id, project_id, id);
