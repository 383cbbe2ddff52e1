package plaintext_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/scalekit-samples/go-rbac-projects/internal/plaintext"
)

func TestValidAndSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		line      bool // Valid(in, false)
		multiline bool // Valid(in, true)
		sanitized string
	}{
		{"plain text", "Launch plan ✓", true, true, "Launch plan ✓"},
		{"the empty string", "", true, true, ""},
		{"a NUL", "a\x00b", false, false, "a?b"},
		{"invalid UTF-8", "a\xffb", false, false, "a?b"},
		{"a cut multibyte character", "\xc3", false, false, "?"},
		{"an escape sequence", "\x1b[31mred", false, false, "?[31mred"},
		{"DEL", "a\x7f", false, false, "a?"},
		{"a C1 control", "a\u0085b", false, false, "a?b"},
		{"line breaks and a tab", "one\r\ntwo\tthree", false, true, "one??two?three"},
		{"a bidi override is text (a format character, not a control)", "a\u202eb", true, true, "a\u202eb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.line, plaintext.Valid(tt.in, false))
			assert.Equal(t, tt.multiline, plaintext.Valid(tt.in, true))
			assert.Equal(t, tt.sanitized, plaintext.Sanitize(tt.in))
			assert.True(t, plaintext.Valid(plaintext.Sanitize(tt.in), false), "what Sanitize returns is valid")
		})
	}
}

func TestCutKeepsWholeCharactersAndSaysHowMuchWent(t *testing.T) {
	tests := []struct {
		s    string
		max  int
		want string
	}{
		{"short", 64, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc…(3 bytes cut)"},
		{"aé", 2, "a…(2 bytes cut)"}, // é is 2 bytes: not split
		{"", 0, ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, plaintext.Cut(tt.s, tt.max), "Cut(%q, %d)", tt.s, tt.max)
	}
}
