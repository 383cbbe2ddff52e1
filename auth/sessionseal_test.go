package auth

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/scalekit-samples/go-rbac-projects/lease"
)

func TestSealedSessionDataOpensOnlyWithItsID(t *testing.T) {
	const id, other = "Zm9yIHRlc3RzOiBhIHNlc3Npb24gaWQgb2YgMzIgYnl0ZXM", "YW5vdGhlciBzZXNzaW9uIGlkIG9mIDMyIGJ5dGVzIQ"
	const data = "access_token=eyJhbGciOi.payload.sig&refresh_token=SECRETREFRESH"
	sealed, err := seal(id, []byte(data))
	require.NoError(t, err)
	assert.NotContains(t, string(sealed), "SECRETREFRESH")
	assert.NotContains(t, string(sealed), "eyJ")

	again, err := seal(id, []byte(data))
	require.NoError(t, err)
	assert.NotEqual(t, sealed, again, "a fresh nonce each time")

	got, err := unseal(id, bytes.Clone(sealed)) // unseal decrypts in place
	require.NoError(t, err)
	assert.Equal(t, data, got)

	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	tests := []struct {
		name   string
		id     string
		stored []byte
	}{
		{"another session's id", other, bytes.Clone(sealed)},
		{"a flipped bit in the ciphertext", id, flip(len(sealed) - 5)},
		{"a flipped bit in the nonce", id, flip(3)},
		{"another version byte", id, flip(0)},
		{"truncated", id, bytes.Clone(sealed[:10])},
		{"empty", id, nil},
		{"written in clear by an older version", id, []byte(data)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := unseal(tt.id, tt.stored)
			assert.ErrorIs(t, err, errUnsealable)
		})
	}
}

func TestRowsStoredInClearByEarlierVersionsArePurged(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+t.TempDir()+"/s.db")
	require.NoError(t, err)
	defer db.Close()
	sealed, err := seal("id-b", []byte("access_token=x"))
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE sessions (id_hash TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at INTEGER NOT NULL);
		INSERT INTO sessions VALUES ('a', 'access_token=eyJ...&refresh_token=R', 9999999999), ('b', ?, 9999999999)`, sealed)
	require.NoError(t, err)

	leases, err := lease.New(ctx, db)
	require.NoError(t, err)
	_, err = NewSessionStore(ctx, db, leases, []byte(strings.Repeat("s", 32)), time.Hour, false)
	require.NoError(t, err)
	var left []string
	rows, err := db.Query(`SELECT id_hash FROM sessions`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		left = append(left, id)
	}
	assert.Equal(t, []string{"b"}, left, "the clear-text row is gone, the sealed one kept")
}
