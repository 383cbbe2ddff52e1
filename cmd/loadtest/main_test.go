package main

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

func TestHelpPrintsUsageAndSucceeds(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-h"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "Usage: go run ./cmd/loadtest")
	assert.Contains(t, stderr.String(), "-compare")
	assert.Contains(t, stderr.String(), "-duration")
}

func TestBadArgumentsAreRefusedBeforeAnythingStarts(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"an unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"a stray argument", []string{"60s"}, `unexpected argument "60s"`},
		{"too many workers", []string{"-workers", "100000"}, "workers"},
		{"a duration over the limit", []string{"-duration", "2h"}, "duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Empty(t, stdout.String())
		})
	}
}

func TestAShortRunPrintsTheCommandAndPasses(t *testing.T) {
	var stdout, stderr bytes.Buffer
	d := "300ms"
	if testing.Short() {
		d = "100ms" // the least -duration takes: this test is about the command, not the load
	}
	args := []string{"-duration", d, "-workers", "3", "-orgs", "1", "-seed", "../../rbac.seed.json"}
	require.NoError(t, run(context.Background(), args, &stdout, &stderr), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "$ go run ./cmd/loadtest -duration "+d+" -workers 3 -orgs 1")
	assert.Contains(t, stdout.String(), "result: PASS")
}

func TestAShortRunOnPostgreSQLPrintsBothEnginesSideBySide(t *testing.T) {
	databasetest.Require(t, database.Postgres)
	var stdout, stderr bytes.Buffer
	args := []string{"-duration", "300ms", "-workers", "3", "-orgs", "1", "-seed", "../../rbac.seed.json",
		"-database-url", os.Getenv("TEST_DATABASE_URL")}
	require.NoError(t, run(context.Background(), args, &stdout, &stderr), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "mixed load on SQLite")
	assert.Contains(t, stdout.String(), "mixed load on PostgreSQL")
	assert.Regexp(t, `total req/s\s+\d+\s+\d+`, stdout.String(), "a column per engine")
	assert.NotContains(t, stdout.String(), "result: FAIL")
}
