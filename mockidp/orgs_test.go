package mockidp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// Users in several organizations: Casey, the demo consultant, is a
// project manager at Acme and a viewer at Globex.
const (
	casey  = "usr_300000000000000001"
	globex = "org_200000000000000001"
)

func startCast(t testing.TB) *env {
	t.Helper()
	return startWith(t, mockidp.DemoCast())
}

// post submits a sign-in form and returns the answer, not followed.
func (e *env) post(t testing.TB, form url.Values) *http.Response {
	t.Helper()
	resp, err := e.browser.PostForm(e.idp.URL()+"/oauth/authorize", form)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// authorizeWith is the authorize URL with extra parameters.
func (e *env) authorizeWith(s signIn, extra url.Values, scopes ...string) string {
	u, _ := url.Parse(e.authorizeURL(s, scopes...))
	q := u.Query()
	for k, v := range extra {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// get opens an authorize URL and returns the answer, not followed.
func (e *env) get(t testing.TB, u string) *http.Response {
	t.Helper()
	resp, err := e.browser.Get(u)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// exchange redeems the code of a callback redirect.
func (e *env) exchange(t testing.TB, loc *url.URL, s signIn) *oauth2.Token {
	t.Helper()
	require.Equal(t, s.state, loc.Query().Get("state"))
	require.NotEmpty(t, loc.Query().Get("code"), "a code, not %s", loc.Query().Get("error_description"))
	tok, err := e.oauth.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(s.verifier))
	require.NoError(t, err)
	return tok
}

// chooser signs Casey in through the picker and returns the chooser page.
func (e *env) chooser(t testing.TB, s signIn, scopes ...string) picker {
	t.Helper()
	page := e.openPicker(t, e.authorizeURL(s, scopes...))
	form := cloneValues(page.hidden)
	form.Set("user_id", casey)
	resp := e.post(t, form)
	require.Equal(t, http.StatusOK, resp.StatusCode, "a second step, not a code")
	return parsePicker(t, resp.Body)
}

// signInTo signs Casey in to org through the chooser, with a refresh token.
func (e *env) signInTo(t testing.TB, org string) *oauth2.Token {
	t.Helper()
	s := newSignIn()
	ch := e.chooser(t, s, "openid", "offline_access")
	return e.exchange(t, e.submit(t, ch, url.Values{"organization_id": {org}}), s)
}

// assertIn checks that an access token is for Casey in org with roles.
func assertIn(t *testing.T, e *env, accessToken, org string, roles ...string) {
	t.Helper()
	c := claims(t, accessToken)
	assert.Equal(t, casey, c["sub"])
	assert.Equal(t, org, c["oid"])
	assert.Equal(t, roles, strs(c["roles"]))
	assert.Equal(t, tokenPermissions(e.model, roles...), strs(c["permissions"]), "the permissions of %v", roles)
}

// denied checks an OAuth error redirect that carries no code.
func denied(t *testing.T, resp *http.Response, s signIn, want string) {
	t.Helper()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := resp.Location()
	require.NoError(t, err)
	assert.Equal(t, "/auth/callback", loc.Path)
	assert.Equal(t, want, loc.Query().Get("error"))
	assert.NotEmpty(t, loc.Query().Get("error_description"))
	assert.Equal(t, s.state, loc.Query().Get("state"))
	assert.False(t, loc.Query().Has("code"), "never a code")
}

func TestAMemberOfSeveralOrganizationsChoosesOneAfterThePicker(t *testing.T) {
	e := startCast(t)
	s := newSignIn()
	page := e.openPicker(t, e.authorizeURL(s))
	assert.Equal(t, map[string][]string{
		"Acme Corp":             {"usr_100000000000000001", "usr_100000000000000002", "usr_100000000000000003", "usr_100000000000000004"},
		"Globex Inc":            {"usr_200000000000000001", "usr_200000000000000002"},
		"Several organizations": {casey},
	}, page.orgs, "Casey is listed once: the organization is the next step")

	ch := e.chooser(t, s)
	assert.Equal(t, []string{acme, globex}, ch.choice)
	assert.Equal(t, casey, ch.hidden.Get("user_id"))
	assert.Equal(t, s.state, ch.hidden.Get("state"))
	assert.False(t, ch.hidden.Has("organization_id"), "the buttons carry it")
	assert.True(t, ch.cancel)

	for _, tt := range []struct {
		name, org string
		roles     []string
	}{
		{"choosing Acme yields Acme's roles and permissions", acme, []string{"project_manager"}},
		{"choosing Globex yields Globex's roles and permissions", globex, []string{"viewer"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSignIn()
			ch := e.chooser(t, s)
			tok := e.exchange(t, e.submit(t, ch, url.Values{"organization_id": {tt.org}}), s)
			assertIn(t, e, tok.AccessToken, tt.org, tt.roles...)
			id := claims(t, tok.Extra("id_token").(string))
			assert.Equal(t, tt.org, id["oid"])
			assert.Equal(t, tt.roles, strs(id["roles"]))
		})
	}
	t.Run("Cancel on the chooser is access_denied", func(t *testing.T) {
		s := newSignIn()
		ch := e.chooser(t, s)
		form := cloneValues(ch.hidden)
		form.Set("cancel", "1")
		denied(t, e.post(t, form), s, "access_denied")
	})
	t.Run("a forged choice of an organization Casey is not in is access_denied", func(t *testing.T) {
		initech, err := e.idp.CreateOrganization("Initech")
		require.NoError(t, err)
		s := newSignIn()
		ch := e.chooser(t, s)
		form := cloneValues(ch.hidden)
		form.Set("organization_id", initech.OrgID)
		denied(t, e.post(t, form), s, "access_denied")
	})
}

func TestOrganizationIDGoesStraightInOrIsRefused(t *testing.T) {
	e := startCast(t)
	initech, err := e.idp.CreateOrganization("Initech")
	require.NoError(t, err)

	t.Run("a picker narrowed to Globex signs Casey straight into Globex", func(t *testing.T) {
		s := newSignIn()
		page := e.openPicker(t, e.authorizeWith(s, url.Values{"organization_id": {globex}}))
		assert.Equal(t, map[string][]string{"Globex Inc": {"usr_200000000000000001", "usr_200000000000000002", casey}}, page.orgs)
		tok := e.exchange(t, e.submit(t, page, url.Values{"user_id": {casey}}), s)
		assertIn(t, e, tok.AccessToken, globex, "viewer")
	})
	straight := []struct {
		name  string
		extra url.Values
		org   string
		roles []string
	}{
		{"login_hint and organization_id sign in headless", url.Values{"login_hint": {"casey@consulting.example"}, "organization_id": {globex}}, globex, []string{"viewer"}},
		{"prompt=select_account with organization_id routes straight in",
			url.Values{"login_hint": {"casey@consulting.example"}, "prompt": {"select_account"}, "organization_id": {acme}}, acme, []string{"project_manager"}},
	}
	for _, tt := range straight {
		t.Run(tt.name, func(t *testing.T) {
			s := newSignIn()
			resp := e.get(t, e.authorizeWith(s, tt.extra))
			require.Equal(t, http.StatusFound, resp.StatusCode)
			loc, err := resp.Location()
			require.NoError(t, err)
			assertIn(t, e, e.exchange(t, loc, s).AccessToken, tt.org, tt.roles...)
		})
	}

	refused := []struct {
		name  string
		extra url.Values
		post  url.Values // a picker submit instead of a headless GET
		want  string
	}{
		{"a login_hint for an organization the user is not in", url.Values{"login_hint": {"casey@consulting.example"}, "organization_id": {initech.OrgID}}, nil, "access_denied"},
		{"the same with prompt=select_account", url.Values{"login_hint": {"casey@consulting.example"}, "prompt": {"select_account"}, "organization_id": {initech.OrgID}}, nil, "access_denied"},
		{"a one-organization user for another one", url.Values{"login_hint": {"erin@globex.example"}, "organization_id": {acme}}, nil, "access_denied"},
		{"a picker submit of a user outside the organization", url.Values{"organization_id": {acme}}, url.Values{"user_id": {"usr_200000000000000001"}}, "access_denied"},
		{"an organization the mock does not know", url.Values{"login_hint": {"casey@consulting.example"}, "organization_id": {"org_999"}}, nil, "invalid_request"},
	}
	for _, tt := range refused {
		t.Run(tt.name+" is refused with "+tt.want+", never a code", func(t *testing.T) {
			s := newSignIn()
			u := e.authorizeWith(s, tt.extra)
			if tt.post == nil {
				denied(t, e.get(t, u), s, tt.want)
				return
			}
			parsed, err := url.Parse(u)
			require.NoError(t, err)
			form := parsed.Query()
			for k, v := range tt.post {
				form[k] = v
			}
			denied(t, e.post(t, form), s, tt.want)
		})
	}
}

func TestPromptSelectAccountAndLoginHintShowTheChooser(t *testing.T) {
	e := startCast(t)
	t.Run("a login_hint for a member of several organizations shows the chooser", func(t *testing.T) {
		s := newSignIn()
		resp := e.get(t, e.authorizeWith(s, url.Values{"login_hint": {"casey@consulting.example"}}))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		ch := parsePicker(t, resp.Body)
		assert.Equal(t, []string{acme, globex}, ch.choice)
		assert.Equal(t, casey, ch.hidden.Get("user_id"))
		assert.False(t, ch.hidden.Has("login_hint"), "the hint is spent: the form names the user")
		tok := e.exchange(t, e.submit(t, ch, url.Values{"organization_id": {acme}}), s)
		assertIn(t, e, tok.AccessToken, acme, "project_manager")
	})
	t.Run("prompt=select_account shows the chooser to a member of one organization", func(t *testing.T) {
		s := newSignIn()
		resp := e.get(t, e.authorizeWith(s, url.Values{"login_hint": {"bob@acme.example"}, "prompt": {"select_account"}}))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		ch := parsePicker(t, resp.Body)
		assert.Equal(t, []string{acme}, ch.choice)
		tok := e.exchange(t, e.submit(t, ch, url.Values{"organization_id": {acme}}), s)
		assert.Equal(t, bob, claims(t, tok.AccessToken)["sub"])
	})
	t.Run("a member of one organization skips the chooser", func(t *testing.T) {
		code, _ := e.login(t, bob)
		assert.NotEmpty(t, code)
	})
}

func TestARefreshKeepsTheOrganizationOfItsSignIn(t *testing.T) {
	e := startCast(t)
	tok := e.signInTo(t, globex)
	refreshToken := tok.RefreshToken

	status, body := e.refresh(t, refreshToken)
	require.Equal(t, http.StatusOK, status)
	assertIn(t, e, body["access_token"].(string), globex, "viewer")
	refreshToken = body["refresh_token"].(string)

	t.Run("a refresh asking for another organization is refused and spends nothing", func(t *testing.T) {
		status, body := e.postToken(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "organization_id": {acme}})
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_request", body["error"])
		assert.Contains(t, body["error_description"], "prompt=select_account")
		assert.NotContains(t, body, "access_token")

		status, body = e.refresh(t, refreshToken)
		require.Equal(t, http.StatusOK, status, "the token is still good: %v", body)
		assertIn(t, e, body["access_token"].(string), globex, "viewer")
		refreshToken = body["refresh_token"].(string)
	})
	t.Run("organization_id in the token URL is ignored: only the body counts", func(t *testing.T) {
		resp, err := http.PostForm(e.idp.URL()+"/oauth/token?organization_id="+acme, url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {refreshToken}, "client_id": {mockidp.DemoClientID}, "client_secret": {mockidp.DemoClientSecret}})
		require.NoError(t, err)
		defer resp.Body.Close()
		var got struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
		assertIn(t, e, got.AccessToken, globex, "viewer")
		refreshToken = got.RefreshToken
	})
	t.Run("the sign-in's own organization_id is accepted", func(t *testing.T) {
		status, body := e.postToken(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "organization_id": {globex}})
		require.Equal(t, http.StatusOK, status)
		assertIn(t, e, body["access_token"].(string), globex, "viewer")
	})
	t.Run("a code exchanged with another organization_id is refused", func(t *testing.T) {
		s := newSignIn()
		ch := e.chooser(t, s)
		loc := e.submit(t, ch, url.Values{"organization_id": {globex}})
		status, body := e.postToken(t, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"redirect_uri": {callback}, "code_verifier": {s.verifier}, "organization_id": {acme}})
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", body["error"])
	})
}

func TestADemotionInOneOrganizationChangesNothingInTheOther(t *testing.T) {
	e := startCast(t)
	inAcme, inGlobex := e.signInTo(t, acme), e.signInTo(t, globex)

	var field *mockidp.FieldError
	require.ErrorAs(t, e.idp.SetUserRoles(casey, []string{"viewer"}), &field, "which organization?")
	assert.Equal(t, "organization_id", field.Field)

	require.NoError(t, e.idp.SetMembershipRoles(casey, acme, []string{"team_member"}))
	status, body := e.refresh(t, inAcme.RefreshToken)
	require.Equal(t, http.StatusOK, status)
	assertIn(t, e, body["access_token"].(string), acme, "team_member")

	status, body = e.refresh(t, inGlobex.RefreshToken)
	require.Equal(t, http.StatusOK, status)
	assertIn(t, e, body["access_token"].(string), globex, "viewer")
	tok, err := e.idp.OrgAccessToken(casey, globex, mockidp.DemoClientID)
	require.NoError(t, err)
	assertIn(t, e, tok, globex, "viewer")

	// The management API's PATCH changes one organization too.
	c := e.client(t)
	ctx := context.Background()
	_, err = c.UpdateMemberRoles(ctx, globex, casey, []string{"editor"})
	require.NoError(t, err)
	acmeRoles, err := c.ListMemberRoles(ctx, acme, casey)
	require.NoError(t, err)
	require.Len(t, acmeRoles, 1)
	assert.Equal(t, "team_member", acmeRoles[0].Name)
	u, ok := userByID(e.idp, casey)
	require.True(t, ok)
	assert.Equal(t, []mockidp.Membership{
		{OrgID: acme, OrgName: "Acme Corp", Roles: []string{"team_member"}},
		{OrgID: globex, OrgName: "Globex Inc", Roles: []string{"editor"}},
	}, u.Memberships)
	assert.Equal(t, acme, u.OrgID, "OrgID and Roles are the first membership")
	assert.Equal(t, []string{"team_member"}, u.Roles)
}

func TestTheManagementAPIListsEveryMembership(t *testing.T) {
	e := startCast(t)
	c := e.client(t)
	ctx := context.Background()
	for _, tt := range []struct{ org, role string }{{acme, "project_manager"}, {globex, "viewer"}} {
		users, err := c.ListOrganizationUsers(ctx, tt.org)
		require.NoError(t, err)
		i := slices.IndexFunc(users, func(u scalekit.User) bool { return u.ID == casey })
		require.GreaterOrEqual(t, i, 0, "Casey is listed in %s", tt.org)
		assert.Equal(t, []string{tt.role}, users[i].RolesIn(tt.org))
		assert.Len(t, users[i].Memberships, 2, "the user object names every membership")
		roles, err := c.ListMemberRoles(ctx, tt.org, casey)
		require.NoError(t, err)
		require.Len(t, roles, 1)
		assert.Equal(t, tt.role, roles[0].Name)
	}
	initech, err := e.idp.CreateOrganization("Initech")
	require.NoError(t, err)
	_, err = c.ListMemberRoles(ctx, initech.OrgID, casey)
	assert.ErrorIs(t, err, scalekit.ErrNotFound, "not a member there")
	_, err = c.UpdateMemberRoles(ctx, initech.OrgID, casey, []string{"viewer"})
	assert.ErrorIs(t, err, scalekit.ErrNotFound, "no membership is made by a PATCH")
}

func TestMembershipsComeAndGoOneOrganizationAtATime(t *testing.T) {
	e := startCast(t)
	inAcme, inGlobex := e.signInTo(t, acme), e.signInTo(t, globex)

	_, err := e.idp.RemoveMembership(casey, globex)
	require.NoError(t, err)
	status, body := e.refresh(t, inGlobex.RefreshToken)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_grant", body["error"], "the sign-in to Globex ended")
	status, body = e.refresh(t, inAcme.RefreshToken)
	require.Equal(t, http.StatusOK, status)
	assertIn(t, e, body["access_token"].(string), acme, "project_manager")
	code, _ := e.login(t, casey)
	assert.NotEmpty(t, code, "one membership left: no chooser")

	_, err = e.idp.RemoveMembership(casey, acme)
	assert.ErrorIs(t, err, mockidp.ErrLastMembership)
	_, err = e.idp.OrgAccessToken(casey, globex, mockidp.DemoClientID)
	assert.ErrorIs(t, err, mockidp.ErrNotMember)

	refusals := []struct {
		name string
		m    mockidp.Membership
		want error
	}{
		{"an organization the mock does not know", mockidp.Membership{OrgID: "org_999"}, mockidp.ErrNoOrganization},
		{"an organization the user is in already", mockidp.Membership{OrgID: acme}, mockidp.ErrAlreadyMember},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.idp.AddMembership(casey, tt.m)
			assert.ErrorIs(t, err, tt.want)
		})
	}
	_, err = e.idp.AddMembership(casey, mockidp.Membership{OrgID: globex, Roles: []string{"root"}})
	require.ErrorAs(t, err, new(*mockidp.FieldError))
	u, _ := userByID(e.idp, casey)
	assert.Len(t, u.Memberships, 1, "a refused add changes nothing")

	u, err = e.idp.AddMembership(casey, mockidp.Membership{OrgID: globex})
	require.NoError(t, err)
	assert.Equal(t, []string{e.model.DefaultMemberRole}, u.Memberships[1].Roles, "no roles: the default member role")
	assert.Equal(t, "Globex Inc", u.Memberships[1].OrgName)
	tok := e.signInTo(t, globex)
	assertIn(t, e, tok.AccessToken, globex, e.model.DefaultMemberRole)
}

func TestConfiguredUsersTakeEitherForm(t *testing.T) {
	model := loadModel(t)
	c := mockidp.DemoConsultant()
	assert.Equal(t, acme, c.OrgID, "DemoConsultant's OrgID and Roles are its first membership")
	assert.Equal(t, []string{"project_manager"}, c.Roles)

	bad := []struct {
		name string
		u    mockidp.User
	}{
		{"two forms that disagree", mockidp.User{ID: "usr_1", OrgID: globex, Memberships: []mockidp.Membership{{OrgID: acme}}}},
		{"one organization twice", mockidp.User{ID: "usr_1", Memberships: []mockidp.Membership{{OrgID: acme}, {OrgID: acme}}}},
		{"a role unknown in one of them", mockidp.User{ID: "usr_1", Memberships: []mockidp.Membership{{OrgID: acme}, {OrgID: globex, Roles: []string{"root"}}}}},
	}
	for _, tt := range bad {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			_, err := mockidp.New("http://127.0.0.1:1", mockidp.Config{Model: model, Users: []mockidp.User{tt.u}})
			assert.Error(t, err)
		})
	}
	s, err := mockidp.New("http://127.0.0.1:1", mockidp.Config{Model: model, Users: []mockidp.User{
		{ID: "usr_1", Email: "a@x", OrgID: acme, OrgName: "Acme", Roles: []string{"viewer"}},
	}})
	require.NoError(t, err)
	assert.Equal(t, []mockidp.Membership{{OrgID: acme, OrgName: "Acme", Roles: []string{"viewer"}}}, s.Users()[0].Memberships)

	s.Reset()
	assert.Len(t, s.Users()[0].Memberships, 1, "Reset brings back the configured memberships")
}
