package session

import (
	"strings"
	"testing"
)

func BenchmarkUnseal(b *testing.B) {
	const id = "Zm9yIHRlc3RzOiBhIHNlc3Npb24gaWQgb2YgMzIgYnl0ZXM"
	sealed, err := seal(id, []byte(strings.Repeat("x", 3000)))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sealAEAD(id)
		}
	})
	b.Run("unseal", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, len(sealed))
		for b.Loop() {
			copy(buf, sealed) // unseal decrypts in place
			if _, err := unseal(id, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
