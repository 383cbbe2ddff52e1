package mockidp

import "testing"

// StartTest starts a mock IdP on a random port of 127.0.0.1 for one test
// and closes it when the test ends.
func StartTest(t testing.TB, cfg Config) *Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("start mock idp: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close mock idp: %v", err)
		}
	})
	return s
}
