package auth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/scalekit-samples/go-rbac-projects/auth"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    string
		wantErr bool
	}{
		{"no header is no token and no error", nil, "", false},
		{"a bearer token", []string{"Bearer abc.def-ghi_jkl"}, "abc.def-ghi_jkl", false},
		{"the scheme is case-insensitive", []string{"bearer abc"}, "abc", false},
		{"padding is allowed", []string{"Bearer abc=="}, "abc==", false},
		{"another scheme is malformed", []string{"Basic dXNlcjpwYXNz"}, "", true},
		{"a scheme without token is malformed", []string{"Bearer"}, "", true},
		{"an empty token is malformed", []string{"Bearer "}, "", true},
		{"two tokens are malformed", []string{"Bearer a b"}, "", true},
		{"two headers are malformed", []string{"Bearer a", "Bearer b"}, "", true},
		{"characters outside token68 are malformed", []string{"Bearer <script>"}, "", true},
		{"only padding is malformed", []string{"Bearer =="}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.headers {
				h.Add("Authorization", v)
			}
			got, err := auth.BearerToken(h)
			assert.Equal(t, tt.want, got)
			if tt.wantErr {
				assert.ErrorIs(t, err, auth.ErrMalformedAuthorization)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c", "Basic x", "Bearer", "Bearer a b", "Bearer ==", "Bearer \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		h := http.Header{"Authorization": {header}}
		tok, err := auth.BearerToken(h)
		if err != nil && tok != "" {
			t.Fatal("a rejected header yielded a token")
		}
		if err == nil && tok != "" {
			// Invariant: an accepted token is exactly what follows "Bearer ".
			if !strings.EqualFold(header[:7], "Bearer ") || header[7:] != tok || strings.ContainsAny(tok, " \t\r\n,\"") {
				t.Fatalf("accepted %q from %q", tok, header)
			}
		}
	})
}
