package web_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/web"
)

// ObserveAPI's writer passes a flush through at once (the Graph proxy's
// streamed answers), keeps the first status it was given, and its context
// carries the request ID it answered with and chi's route context.
func TestObserveAPIStreamsAndRemembers(t *testing.T) {
	ts := newTestServer(t)
	release := make(chan struct{})
	r := chi.NewRouter()
	r.Get("/api/v1/stream/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(web.RequestID(r.Context()) + " " + chi.URLParam(r, "id") + "\n"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		<-release
		w.WriteHeader(http.StatusInternalServerError) // too late: dropped, as before
		w.Write([]byte("rest\n"))
	})
	srv := httptest.NewServer(ts.srv.ObserveAPI(r))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/stream/42")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n') // before the handler is released: flushed
	close(release)
	id := resp.Header.Get("X-Request-ID")
	if err != nil || first != id+" 42\n" || len(id) != 24 || resp.StatusCode != http.StatusOK {
		t.Fatalf("first line %q (%v), request id %q, status %d", first, err, id, resp.StatusCode)
	}
	if rest, _ := br.ReadString('\n'); rest != "rest\n" {
		t.Fatalf("rest %q", rest)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Cache-Control"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s", h)
		}
	}
	resp.Body.Close()
	srv.Close() // the handler has returned: its line is logged
	want := `"level":"DEBUG","msg":"api request","method":"GET","route":"/api/v1/stream/{id}","path":"/api/v1/stream/42","status":200,`
	if logs := ts.logs.String(); !strings.Contains(logs, want) || !strings.Contains(logs, `"request_id":"`+id+`"`) {
		t.Fatalf("log lacks %s with the request id:\n%s", want, logs)
	}
}
