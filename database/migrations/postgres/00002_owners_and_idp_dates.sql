-- Whose session a row is (ids, not secrets), so that a user leaving the
-- directory is signed out without opening every sealed row; and the IdP's
-- date of a role change, which bearer tokens' iat is compared with.

-- +goose Up
ALTER TABLE sessions ADD COLUMN org_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_owner ON sessions (org_id, user_id);
-- unix ms by the IdP's clock; 0 in older rows, which then count changed_at + SkewMargin
ALTER TABLE role_changes ADD COLUMN issued_before BIGINT NOT NULL DEFAULT 0;

-- +goose Down
DROP INDEX sessions_owner;
ALTER TABLE sessions DROP COLUMN org_id, DROP COLUMN user_id;
ALTER TABLE role_changes DROP COLUMN issued_before;
