package session

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gorilla/sessions"
)

// Data is what a browser session holds. It is sealed as one value into the
// session's row (sessionseal.go): the database holds no usable token.
type Data struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"` // only when offline_access was granted
	IDToken      string    `json:"id_token,omitempty"`      // the hint of RP-initiated logout
	Expiry       time.Time `json:"expiry"`                  // of the access token
	// Obtained is when the app asked for the tokens: their lifetime is
	// measured from it, and they reflect the user's roles as of at least
	// that moment.
	Obtained time.Time `json:"obtained"`
	// Created is the sign-in: a session ends Lifetime after it, even if
	// activity kept renewing its cookie and row.
	Created time.Time `json:"created"`
	// Subject and OrgID say whose session it is; the store records them
	// beside the sealed data too (EndSessions).
	Subject string `json:"sub"`
	OrgID   string `json:"oid"`
	// From the ID token, for display only.
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
}

// dataKey is the one key of a gorilla session's Values: it holds the *Data.
const dataKey = "data"

// dataOf returns the session's data, adding an empty one to a session that
// has none (a new session).
func dataOf(sess *sessions.Session) *Data {
	d, ok := sess.Values[dataKey].(*Data)
	if !ok {
		d = &Data{}
		sess.Values[dataKey] = d
	}
	return d
}

// encodeData is the plaintext of a session row.
func encodeData(sess *sessions.Session) ([]byte, error) {
	for k := range sess.Values {
		if k != dataKey {
			return nil, fmt.Errorf("session value %v: a session holds its Data and nothing else", k)
		}
	}
	return json.Marshal(dataOf(sess))
}

// decodeData reads what encodeData wrote. A row written in another format
// (such as the netstrings of earlier versions) does not decode: its user
// signs in again.
func decodeData(plain []byte) (*Data, bool) {
	var d Data
	if err := json.Unmarshal(plain, &d); err != nil {
		return nil, false
	}
	return &d, true
}
