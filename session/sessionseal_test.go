package session

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	assert.Equal(t, data, string(got))

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
