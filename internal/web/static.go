package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
)

// assets serves web/static under /static/. Templates link each file with a
// content hash in the query (asset "app.css"), so a link to the current
// version can be cached for a year and a deploy still shows new CSS at once.
type assets struct {
	fsys     fs.FS // rooted at static/
	versions map[string]string
}

func newAssets(fsys fs.FS) (*assets, error) {
	sub, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	a := &assets{fsys: sub, versions: map[string]string{}}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a.versions[p] = hex.EncodeToString(sum[:])[:12]
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	return a, nil
}

// url is the template function "asset"; an unknown name fails the render,
// which the start-up parse of every page does not catch but the first
// test of that page does.
func (a *assets) url(name string) (string, error) {
	v, ok := a.versions[name]
	if !ok {
		return "", fmt.Errorf("web: no static file %q", name)
	}
	return "/static/" + name + "?v=" + v, nil
}

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	v, ok := a.versions[name]
	if !ok { // also refuses directory listings
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	if r.URL.Query().Get("v") == v {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	h.Set("ETag", `"`+v+`"`)
	http.ServeFileFS(w, r, a.fsys, name) // answers If-None-Match with 304
}
