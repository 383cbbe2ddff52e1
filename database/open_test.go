package database_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

func TestAWrongDatabaseURLIsNamedInOneLine(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"not postgres", "mysql://u:hunter2@db/app", "DATABASE_URL: want a postgres:// URL"},
		{"a typo in the port", "postgres://u:hunter2@db:54x2/app", "DATABASE_URL is not a valid URL"},
		{"an unknown sslmode", "postgres://u:hunter2@db/app?sslmode=sometimes", "DATABASE_URL is not a valid postgres:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := database.Open(context.Background(), database.Config{URL: tt.url}, quiet)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "hunter2", "the password is not repeated")
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

// TestPGVariablesFillWhatTheURLLeavesOut documents a choice: as with psql,
// the PG* environment variables (and ~/.pgpass) supply what DATABASE_URL
// omits, and the URL wins where both say something.
func TestPGVariablesFillWhatTheURLLeavesOut(t *testing.T) {
	t.Setenv("PGUSER", "from_env")
	t.Setenv("PGPORT", "6543")
	cc, err := database.ParsePostgresURL("postgres://db.internal/app")
	require.NoError(t, err)
	assert.Equal(t, "from_env@db.internal:6543/app", database.Describe(cc))
	cc, err = database.ParsePostgresURL("postgres://app@db.internal:5432/app")
	require.NoError(t, err)
	assert.Equal(t, "app@db.internal:5432/app", database.Describe(cc))
}

func TestStartUpWaitsForAPostgresServerThatIsDown(t *testing.T) {
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := hold.Addr().String()
	require.NoError(t, hold.Close()) // nothing listens there now
	var logs bytes.Buffer
	wait := 700 * time.Millisecond
	if testing.Short() {
		wait = 300 * time.Millisecond // still one retry, at 250 ms
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, _, err = database.Open(ctx, database.Config{URL: "postgres://app:hunter2@" + addr + "/app?sslmode=disable"},
		slog.New(slog.NewTextHandler(&logs, nil)))
	require.Error(t, err, "gives up when the start-up context ends")
	assert.Contains(t, err.Error(), "DATABASE_URL: database server app@127.0.0.1:")
	assert.Contains(t, err.Error(), "not reachable")
	assert.Contains(t, logs.String(), "database not reachable yet, retrying", "and said why it waited")
	assert.NotContains(t, logs.String()+err.Error(), "hunter2")
}

func TestARefusedConnectionFailsAtOnce(t *testing.T) {
	databasetest.Require(t, database.Postgres)
	base, err := url.Parse(os.Getenv("TEST_DATABASE_URL"))
	require.NoError(t, err)
	tests := []struct {
		name string
		edit func(u *url.URL)
		want string
	}{
		{"an unknown user", func(u *url.URL) { u.User = url.User("no_such_user") }, "refused the connection: authentication failed"},
		{"a missing database", func(u *url.URL) { u.Path = "/no_such_database" }, `database "no_such_database" does not exist`},
	}
	for _, tt := range tests {
		t.Run("postgres/"+tt.name, func(t *testing.T) {
			u := *base
			tt.edit(&u)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			_, _, err := database.Open(ctx, database.Config{URL: u.String()}, quiet)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Less(t, time.Since(start), 30*time.Second, "not retried until the context ends")
		})
	}
}
