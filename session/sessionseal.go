package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Session rows hold the user's tokens, refresh token included. They are
// encrypted with a key derived from the session id, which only the
// browser's cookie holds (the database keeps the id's SHA-256): a copy of
// the database, a backup or a leaked file yields no token, and no
// encryption key needs configuring or rotating.

// sealVersion is the first byte of a sealed row: AES-256-GCM, key from SHA-256.
const sealVersion = 1

// errUnsealable is a row that does not decrypt with the id's key.
var errUnsealable = errors.New("session data does not decrypt with this session's id")

// sealAEAD returns the AEAD keyed for session id. The id is 32 random
// bytes, so one SHA-256 makes a sound key of it; the label keeps the key
// apart from the id's plain SHA-256, which the database stores.
func sealAEAD(id string) (cipher.AEAD, error) {
	key := sha256.Sum256([]byte("go-rbac-projects session data v1\x00" + id))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal encrypts a session row's data for session id: the version byte,
// the nonce, then the ciphertext.
func seal(id string, plaintext []byte) ([]byte, error) {
	aead, err := sealAEAD(id)
	if err != nil {
		return nil, fmt.Errorf("seal session: %w", err)
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	nonce := out[1:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal session: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, out[:1]), nil
}

// unseal decrypts what seal made for session id. It decrypts in place:
// sealed is the caller's copy and is overwritten.
func unseal(id string, sealed []byte) ([]byte, error) {
	if len(sealed) == 0 || sealed[0] != sealVersion {
		return nil, errUnsealable
	}
	aead, err := sealAEAD(id)
	if err != nil {
		return nil, fmt.Errorf("unseal session: %w", err)
	}
	if len(sealed) < 1+aead.NonceSize() {
		return nil, errUnsealable
	}
	nonce, ciphertext := sealed[1:1+aead.NonceSize()], sealed[1+aead.NonceSize():]
	plain, err := aead.Open(ciphertext[:0], nonce, ciphertext, sealed[:1])
	if err != nil {
		return nil, errUnsealable
	}
	return plain, nil
}
