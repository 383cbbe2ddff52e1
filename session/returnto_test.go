package session_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/scalekit-samples/go-rbac-projects/session"
)

func TestSafeReturnPath(t *testing.T) {
	tests := map[string]string{
		"/projects/42":            "/projects/42",
		"/projects?x=1#frag":      "/projects?x=1#frag",
		"":                        "/",
		"projects":                "/",
		"https://evil.example/":   "/",
		"//evil.example":          "/",
		"/\\evil.example":         "/",
		"/\tevil":                 "/",
		"javascript:alert(1)":     "/",
		"/%2F%2Fevil.example":     "/%2F%2Fevil.example", // an encoded path stays a path here
		"///evil.example":         "/",
		"\\\\evil.example":        "/",
		"http:/evil.example":      "/",
		"/ok/../still-local-path": "/ok/../still-local-path",
	}
	tests["/"+strings.Repeat("a", session.MaxReturnPath-1)] = "/" + strings.Repeat("a", session.MaxReturnPath-1)
	tests["/"+strings.Repeat("a", session.MaxReturnPath)] = "/" // too long for the sign-in cookie
	for in, want := range tests {
		assert.Equal(t, want, session.SafeReturnPath(in), "SafeReturnPath(%.40q)", in)
	}
}

func FuzzSafeReturnPath(f *testing.F) {
	for _, s := range []string{"/a", "//b", "/\\c", "https://d", "/e?f=//g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := session.SafeReturnPath(in)
		if got != "/" && got != in {
			t.Fatalf("rewrote %q to %q", in, got)
		}
		if len(got) > 1 && (got[1] == '/' || got[1] == '\\') || got[0] != '/' {
			t.Fatalf("off-site path %q accepted", got)
		}
	})
}
