package app

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"

	"github.com/scalekit-samples/go-rbac-projects/problem"
)

func TestDatabaseUnavailableTellsAnOutageFromABug(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"a bad connection", fmt.Errorf("list: %w", driver.ErrBadConn), true},
		{"connection refused", fmt.Errorf("list: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), true},
		{"a connection cut mid-answer", fmt.Errorf("list projects: %w", io.ErrUnexpectedEOF), true},
		{"the server shutting down", &pgconn.PgError{Code: "57P01"}, true},
		{"the server starting", &pgconn.PgError{Code: "57P03"}, true},
		{"a connection exception", &pgconn.PgError{Code: "08006"}, true},
		{"a unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"a syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"not found", problem.ErrNotFound, false},
		{"anything else", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, databaseUnavailable(tt.err))
		})
	}
}
