// Package plaintext tells text a person could have typed from bytes that
// only a crafted request sends, before either is stored, and bounds how
// much of a sender's text is kept or repeated.
package plaintext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Valid reports whether s is valid UTF-8 without control characters (C0,
// DEL, C1); with multiline, tabs and line breaks are text too. PostgreSQL
// refuses invalid UTF-8 and NUL in a text column, failing the statement
// (a 500), while SQLite stores them as sent, bytes that the JSON API then
// shows mangled: refused up front, both engines answer the same 400.
func Valid(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return false
		}
	}
	return true
}

// Sanitize returns s with invalid UTF-8 and control characters replaced by
// "?": what may be stored of input that has to be kept even when it is not
// text (the audit log keeps refused attempts as their sender wrote them).
func Sanitize(s string) string {
	if Valid(s, false) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}

// Cut returns s if it is at most max bytes long; otherwise its beginning,
// at most max bytes and never ending inside a character, and a marker
// saying how much was cut. Logs, error messages and the audit log repeat
// what a sender wrote only this far: a path or a key may be as long as the
// request.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)-cut) + " bytes cut)"
}
