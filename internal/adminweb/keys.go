package adminweb

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// keysView is admin_api_keys.html's data.
type keysView struct {
	Form         keyForm
	Keys         []keyRow
	Projects     []option
	NeedPassword bool
	Active       int
}

// keyForm is the create form as submitted; there is nothing secret in it.
type keyForm struct {
	web.Form
	Name       string
	ProjectIDs []string
	Admin      bool
	Rate       string // as typed; empty: the server's default
}

type keyRow struct {
	store.APIKey
	Projects   string
	Scope      string
	Created    When
	CreatedBy  string
	LastUsed   When
	Revoked    When
	Tokens     int64
	RevokeHref string
	Limit      string
}

// createdView is admin_api_key_created.html's data: the key, shown once.
type createdView struct {
	Key      string
	Name     string
	Prefix   string
	Scope    string
	Projects string
}

func (h *Handler) keys(w http.ResponseWriter, r *http.Request) {
	h.renderKeys(w, r, http.StatusOK, keyForm{})
}

func (h *Handler) renderKeys(w http.ResponseWriter, r *http.Request, status int, f keyForm) {
	v, wv, ok := viewerOf(r)
	if !ok {
		return
	}
	list, err := h.Service.APIKeys(r.Context(), v)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.ui.Now()
	names := map[string]string{}
	view := keysView{Form: f, NeedPassword: h.needPassword(wv)}
	for _, p := range list.Projects {
		names[p.ID] = p.Name
		view.Projects = append(view.Projects, option{p.ID, p.Name, slices.Contains(f.ProjectIDs, p.ID)})
	}
	for _, k := range list.Keys {
		row := keyRowOf(k, list, names, now)
		if k.RevokedAt == nil {
			view.Active++
		}
		view.Keys = append(view.Keys, row)
	}
	h.ui.Render(w, r, status, "admin_api_keys.html", web.Page{Title: "API keys", Data: view})
}

func projectNames(ids []string, names map[string]string) string {
	if ids == nil {
		return "Every project"
	}
	var out []string
	for _, id := range ids {
		if n := names[id]; n != "" {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "No project"
	}
	return strings.Join(out, ", ")
}

func scopeLabel(scope string) string {
	if scope == "admin" {
		return "Tokens and admin API"
	}
	return "Tokens"
}

// createKey serves POST /api-keys. The new key is rendered in the answer
// itself rather than after a redirect: it must not sit in a cookie or a
// server-side store on its way to the next page, and it is shown once.
func (h *Handler) createKey(w http.ResponseWriter, r *http.Request) {
	v, wv, ok := viewerOf(r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	f := keyForm{Name: strings.TrimSpace(r.PostForm.Get("name")), ProjectIDs: r.PostForm["projects"],
		Admin: r.PostForm.Get("admin") == "on", Rate: strings.TrimSpace(r.PostForm.Get("rate"))}
	rate, rateOK := parseRate(f.Rate)
	if !v.TenantAdmin() || v.Kind != admin.KindUser {
		h.fail(w, r, &admin.Error{Code: admin.CodeForbidden, Message: "API keys are managed by the tenant's administrators."})
		return
	}
	if h.askMicrosoft(w, r, wv, "/api-keys") {
		return
	}
	if h.needPassword(wv) && !h.reauthenticate(w, r, wv, &f.Form) {
		h.renderKeys(w, r, reauthStatus(f.Form), f)
		return
	}
	if !rateOK {
		f.Check(false, "rate", "Give a rate in requests a second, e.g. 50, or leave it empty for the server's default.")
		h.renderKeys(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	plain, k, err := h.Service.CreateKey(r.Context(), v, admin.NewKey{Name: f.Name, ProjectIDs: f.ProjectIDs, Admin: f.Admin,
		Rate: rate})
	if e, ok := admin.AsError(err); ok && e.Code == admin.CodeInvalid {
		f.Check(false, e.Field, e.Message)
		h.renderKeys(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list, err := h.Service.APIKeys(r.Context(), v)
	names := map[string]string{}
	if err == nil {
		for _, p := range list.Projects {
			names[p.ID] = p.Name
		}
	}
	h.ui.Render(w, r, http.StatusCreated, "admin_api_key_created.html", web.Page{Title: "API key created", Data: createdView{
		Key: plain, Name: k.Name, Prefix: k.Prefix, Scope: scopeLabel(k.Scope), Projects: projectNames(k.ProjectIDs, names)}})
}

// revokeView is admin_revoke.html's data.
type revokeView struct {
	web.Form
	Key          keyRow
	NeedPassword bool
	Reason       string
}

func (h *Handler) findKey(w http.ResponseWriter, r *http.Request) (admin.Viewer, *web.ViewerInfo, keyRow, bool) {
	v, wv, ok := viewerOf(r)
	if !ok {
		return v, wv, keyRow{}, false
	}
	list, err := h.Service.APIKeys(r.Context(), v)
	if err != nil {
		h.fail(w, r, err)
		return v, wv, keyRow{}, false
	}
	id := chi.URLParam(r, "id")
	i := slices.IndexFunc(list.Keys, func(k store.APIKey) bool { return k.ID == id })
	if i < 0 {
		h.ui.ErrorPage(w, r, http.StatusNotFound, "There is no such API key.")
		return v, wv, keyRow{}, false
	}
	names := map[string]string{}
	for _, p := range list.Projects {
		names[p.ID] = p.Name
	}
	return v, wv, keyRowOf(list.Keys[i], list, names, h.ui.Now()), true
}

// keyRowOf formats a key. Last use is the later of the key's own record
// (written in batches) and its latest token fetch.
func keyRowOf(k store.APIKey, list admin.KeyList, names map[string]string, now time.Time) keyRow {
	u := list.Usage[k.ID]
	last := derefTime(k.LastUsedAt)
	if u.LastAt.After(last) {
		last = u.LastAt
	}
	return keyRow{APIKey: k, Projects: projectNames(k.ProjectIDs, names), Scope: scopeLabel(k.Scope),
		Created: when(k.CreatedAt, now), LastUsed: when(last, now), Revoked: whenPtr(k.RevokedAt, now),
		Tokens: u.Tokens, RevokeHref: "/api-keys/" + k.ID + "/revoke", Limit: apikeys.DescribeLimit(k.Rate, k.Burst)}
}

// parseRate reads the form's optional rate limit: empty is the default.
func parseRate(v string) (*float64, bool) {
	if v == "" {
		return nil, true
	}
	n, err := strconv.ParseFloat(strings.ReplaceAll(v, ",", ""), 64)
	if err != nil {
		return nil, false
	}
	return &n, true
}

func (h *Handler) confirmRevoke(w http.ResponseWriter, r *http.Request) {
	_, wv, k, ok := h.findKey(w, r)
	if !ok {
		return
	}
	if k.RevokedAt != nil {
		h.ui.ErrorPage(w, r, http.StatusConflict, "This key was already revoked.")
		return
	}
	if h.askMicrosoft(w, r, wv, r.URL.Path) {
		return
	}
	h.ui.Render(w, r, http.StatusOK, "admin_revoke.html", web.Page{Title: "Revoke API key", Data: revokeView{Key: k,
		NeedPassword: h.needPassword(wv)}})
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	v, wv, k, ok := h.findKey(w, r)
	if !ok {
		return
	}
	if h.askMicrosoft(w, r, wv, r.URL.Path) {
		return
	}
	rv := revokeView{Key: k, Reason: strings.TrimSpace(r.PostForm.Get("reason")),
		NeedPassword: h.needPassword(wv)}
	if rv.NeedPassword && !h.reauthenticate(w, r, wv, &rv.Form) {
		h.ui.Render(w, r, reauthStatus(rv.Form), "admin_revoke.html", web.Page{Title: "Revoke API key", Data: rv})
		return
	}
	if _, err := h.Service.RevokeKey(r.Context(), v, k.ID, rv.Reason); err != nil {
		h.fail(w, r, err)
		return
	}
	h.ui.SetFlash(w, "success", "Revoked “"+k.Name+"”. Requests with it are refused from now on.")
	web.SeeOther(w, r, "/api-keys")
}
