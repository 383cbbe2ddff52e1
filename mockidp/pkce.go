package mockidp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE (RFC 7636) with the S256 method only: "plain" would send the
// verifier itself through the browser, where it can be read.

// pkceMatches reports whether verifier hashes to challenge.
func pkceMatches(verifier, challenge string) bool {
	if !pkceString(verifier, 43, 128) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// validChallenge reports whether challenge can be an S256 code challenge:
// the unpadded base64url encoding of 32 bytes is 43 characters.
func validChallenge(challenge string) bool {
	return pkceString(challenge, 43, 43)
}

// pkceString reports whether s has a length in [minLen, maxLen] and only the
// unreserved characters RFC 7636 section 4.1 allows.
func pkceString(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}
