package session

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSessionValuesRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		values map[any]any
	}{
		{"none", map[any]any{}},
		{"tokens and times", map[any]any{
			keyAccessToken: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2ln",
			keyExpiry:      "2026-11-22T20:19:56.272521082Z",
			keyRefresh:     "ZDYC4VBTSA3OONS4UCPRXBQBWO",
		}},
		{"characters a netstring must carry as they are", map[any]any{
			keyName: "Zoë O'Brien, 12:3 & co\x00\n", keyEmail: "", "": "empty key",
			"colon:and,comma": strings.Repeat(",:", 500),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := encodeValues(tt.values)
			require.NoError(t, err)
			got := map[any]any{}
			require.True(t, decodeValues(string(data), got))
			assert.Equal(t, tt.values, got)
		})
	}
	_, err := encodeValues(map[any]any{"n": 1})
	assert.Error(t, err, "only strings")
}

func TestMalformedSessionValuesAreRefused(t *testing.T) {
	for _, data := range []string{
		"access_token=eyJ&expiry=2026",                // another encoding (an earlier version's)
		"5:hello,",                                    // a key without a value
		"5:hello,9:world,",                            // a length past the end
		"5:hello;5:world,",                            // no comma where the length ends
		"-1:,0:,", "x:,0:,", "99999999999999999999:,", // bad lengths
	} {
		assert.False(t, decodeValues(data, map[any]any{}), "%q", data)
	}
}

func FuzzSessionValues(f *testing.F) {
	f.Add("5:hello,5:world,")
	f.Add("0:,0:,")
	f.Add("access_token=x")
	f.Fuzz(func(t *testing.T, data string) {
		got := map[any]any{}
		if !decodeValues(data, got) {
			return
		}
		// Whatever decodes encodes back to something that decodes the same.
		again, err := encodeValues(got)
		require.NoError(t, err)
		round := map[any]any{}
		require.True(t, decodeValues(string(again), round))
		assert.Equal(t, got, round)
	})
}
