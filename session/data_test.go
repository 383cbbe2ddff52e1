package session

import (
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSessionDataRoundTrips(t *testing.T) {
	sess := sessions.NewSession(nil, "session")
	*dataOf(sess) = Data{
		AccessToken: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2ln", RefreshToken: "ZDYC4VBTSA3OONS4UCPRXBQBWO",
		Expiry:   time.Date(2026, 11, 22, 20, 19, 56, 272521082, time.UTC),
		Obtained: time.Date(2026, 11, 22, 20, 14, 56, 1, time.UTC), Created: time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC),
		Subject: "usr_1", OrgID: "org_1", Name: "Zoë O'Brien, 12:3 & co\x00\n",
	}
	plain, err := encodeData(sess)
	require.NoError(t, err)
	got, ok := decodeData(plain)
	require.True(t, ok)
	assert.Equal(t, dataOf(sess), got, "every field, times to the nanosecond")
}

func TestSessionDataOfAnotherFormatIsRefused(t *testing.T) {
	for _, plain := range []string{
		"12:access_token,3:abc,", // the netstrings of earlier versions: their users sign in again
		"",
		"{",
		`{"access_token":1}`,
	} {
		_, ok := decodeData([]byte(plain))
		assert.False(t, ok, "%q", plain)
	}
	sess := sessions.NewSession(nil, "session")
	sess.Values["other"] = "value"
	_, err := encodeData(sess)
	assert.Error(t, err, "a session holds its Data and nothing else")
}
