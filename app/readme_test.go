package app_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMECodeIsRealCode: every line of a Go snippet in README.md is a
// line of the route table or of auth's Example test, both of which
// compile, so the lines readers copy cannot rot.
func TestREADMECodeIsRealCode(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	var source []string
	for _, f := range []string{"routes.go", "../auth/example_test.go"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, l := range strings.Split(string(b), "\n") {
			source = append(source, strings.Join(strings.Fields(l), " "))
		}
	}
	snippets := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	require.NotEmpty(t, snippets, "README has Go snippets")
	for _, s := range snippets {
		for _, line := range strings.Split(strings.TrimSpace(s[1]), "\n") {
			assert.Contains(t, source, strings.Join(strings.Fields(line), " "), "README's Go line is in app/routes.go or auth/example_test.go")
		}
	}
}
