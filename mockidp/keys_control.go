package mockidp

import (
	"errors"
	"fmt"
	"slices"

	"github.com/go-jose/go-jose/v4"
)

// errCurrentKey refuses to retire the key that signs: the mock would then
// issue tokens no relying party can verify.
var errCurrentKey = errors.New("the current signing key cannot be retired: rotate first")

// errNoKey is a retire of a kid the JWKS does not hold.
var errNoKey = errors.New("no such key in the JWKS")

// retire drops a published key that no longer signs.
func (k *keyring) retire(kid string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	i := slices.IndexFunc(k.public.Keys, func(j jose.JSONWebKey) bool { return j.KeyID == kid })
	switch {
	case i < 0:
		return fmt.Errorf("retire key %q: %w", kid, errNoKey)
	case i == 0:
		return fmt.Errorf("retire key %q: %w", kid, errCurrentKey)
	}
	k.public.Keys = slices.Delete(k.public.Keys, i, i+1)
	return nil
}

// keyIDs lists the published kids, the current one first.
func (k *keyring) keyIDs() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids := make([]string, len(k.public.Keys))
	for i, j := range k.public.Keys {
		ids[i] = j.KeyID
	}
	return ids
}
