package auth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

func TestGates(t *testing.T) {
	pm := &auth.Principal{Subject: "usr_1", Roles: []string{"project_manager"}, Permissions: []rbac.Permission{"projects:create", "projects:read"}}
	admin := &auth.Principal{Subject: "usr_2", Roles: []string{"admin"}}
	tests := []struct {
		name     string
		gate     auth.Gate
		p        *auth.Principal
		wantErr  error
		wantPerm rbac.Permission
	}{
		{"public lets everybody through, signed out included", auth.Public, nil, nil, ""},
		{"signed in refuses nobody", auth.SignedIn, nil, auth.ErrUnauthenticated, ""},
		{"signed in lets anyone with a token through", auth.SignedIn, admin, nil, ""},
		{"a permission in the token passes", auth.Need("projects:create"), pm, nil, ""},
		{"a missing permission is denied and named", auth.Need("projects:delete"), pm, &auth.DeniedError{}, "projects:delete"},
		{"a permission gate refuses nobody with 401", auth.Need("projects:read"), nil, auth.ErrUnauthenticated, ""},
		{"a role in the token passes", auth.Role("admin"), admin, nil, ""},
		{"a missing role is denied", auth.Role("admin"), pm, &auth.DeniedError{}, ""},
		{"any of: the role suffices", auth.AnyOf(auth.Role("admin"), auth.Need("roles:assign")), admin, nil, ""},
		{"any of: neither is denied, naming the permission", auth.AnyOf(auth.Role("admin"), auth.Need("roles:assign")), pm, &auth.DeniedError{}, "roles:assign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.gate.Check(tt.p)
			switch want := tt.wantErr.(type) {
			case nil:
				assert.NoError(t, err)
			case *auth.DeniedError:
				var d *auth.DeniedError
				assert.True(t, errors.As(err, &d), "got %v", err)
				if d != nil {
					assert.Equal(t, tt.wantPerm, d.Permission)
					assert.Equal(t, tt.p.Roles, d.Have)
				}
			default:
				assert.ErrorIs(t, err, want)
			}
		})
	}
}

func TestZeroGateIsInvalid(t *testing.T) {
	assert.False(t, auth.Gate{}.Valid())
	assert.False(t, auth.AnyOf().Valid())
	assert.False(t, auth.AnyOf(auth.Gate{}).Valid())
	assert.False(t, auth.Gate{}.Allows(&auth.Principal{Permissions: []rbac.Permission{"projects:read"}}))
	assert.True(t, auth.Need("projects:read").Valid())
}

func TestDeniedErrorDescribesTheRequirement(t *testing.T) {
	err := auth.AnyOf(auth.Role("admin"), auth.Need("roles:assign")).Check(&auth.Principal{Subject: "usr_1"})
	var d *auth.DeniedError
	assert.True(t, errors.As(err, &d))
	assert.Equal(t, "the admin role or the roles:assign permission", d.Requirement())
	assert.Equal(t, "role admin or roles:assign", auth.AnyOf(auth.Role("admin"), auth.Need("roles:assign")).String())
}

func TestRequireAsMiddleware(t *testing.T) {
	var refused error
	fail := func(w http.ResponseWriter, _ *http.Request, err error) {
		refused = err
		w.WriteHeader(http.StatusForbidden)
	}
	h := auth.Require("projects:create", fail)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	tests := []struct {
		name string
		p    *auth.Principal
		want int
	}{
		{"with the permission the handler runs", &auth.Principal{Subject: "usr_1", Permissions: []rbac.Permission{"projects:create"}}, http.StatusCreated},
		{"without it the handler never runs", &auth.Principal{Subject: "usr_1", Permissions: []rbac.Permission{"projects:read"}}, http.StatusForbidden},
		{"nobody is refused", nil, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refused = nil
			r := httptest.NewRequest("POST", "/projects", nil)
			if tt.p != nil {
				r = r.WithContext(auth.WithPrincipal(r.Context(), tt.p))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tt.want, w.Code)
			assert.Equal(t, tt.want != http.StatusCreated, refused != nil)
		})
	}
	assert.Panics(t, func() { auth.Gate{}.Middleware(fail) }, "a zero gate cannot become middleware")
}
