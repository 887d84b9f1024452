package mssim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func (e *testEnv) graphDo(method, path, token, contentType, body string) (int, http.Header, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func TestGraphMail(t *testing.T) {
	e := newTestEnv(t)
	adele := e.redeem("common", e.demo.Adele.UPN, map[string]string{"scope": "openid Mail.Read Mail.Send"}).AccessToken
	readOnly := e.redeem("common", e.demo.Alex.UPN, map[string]string{"scope": "openid Mail.Read"}).AccessToken

	// Sending: JSON with a recipient, Mail.Send; answers 202 with no body.
	mail := `{"message":{"subject":"hi","toRecipients":[{"emailAddress":{"address":"x@y.example"}}]}}`
	for _, c := range []struct {
		name, token, ct, body string
		status                int
		code                  string
	}{
		{"sent", adele, "application/json", mail, 202, ""},
		{"no recipient", adele, "application/json", `{"message":{"subject":"hi"}}`, 400, "ErrorInvalidRecipients"},
		{"not JSON", adele, "text/plain", mail, 400, "BadRequest"},
		{"no Mail.Send", readOnly, "application/json", mail, 403, "ErrorAccessDenied"},
	} {
		status, _, body := e.graphDo("POST", "/v1.0/me/sendMail", c.token, c.ct, c.body)
		if status != c.status || c.code != "" && !strings.Contains(string(body), c.code) {
			t.Errorf("%s: %d %s, want %d %s", c.name, status, body, c.status, c.code)
		}
	}
	if got := e.sim.Sent(e.demo.Adele.UPN); len(got) != 1 || got[0] != "hi" {
		t.Fatalf("sent: %v", got)
	}

	// Listing pages with $top and @odata.nextLink; the sent message is in it.
	status, _, body := e.graphDo("GET", "/v1.0/me/messages?$top=1", adele, "", "")
	var page struct {
		Value []message `json:"value"`
		Next  string    `json:"@odata.nextLink"`
	}
	if json.Unmarshal(body, &page); status != 200 || len(page.Value) != 1 || page.Next == "" {
		t.Fatalf("page 1: %d %s", status, body)
	}
	if status, _, _ := e.graphDo("GET", "/v1.0/me/messages?$top=0", adele, "", ""); status != 400 {
		t.Errorf("$top=0: %d", status)
	}

	// The attachment has the configured size and streams its bytes.
	e.sim.SetAttachmentSize(100_000)
	welcome := mailboxID(e.sim.dir.user(e.demo.Adele.UPN), "welcome")
	att := mailboxID(e.sim.dir.user(e.demo.Adele.UPN), "welcome-attachment")
	status, hdr, body := e.graphDo("GET", "/v1.0/me/messages/"+welcome+"/attachments/"+att+"/$value", adele, "", "")
	want, _ := io.ReadAll(AttachmentReader(100_000))
	if status != 200 || hdr.Get("Content-Length") != "100000" || string(body) != string(want) {
		t.Fatalf("$value: %d %s, %d bytes", status, hdr.Get("Content-Length"), len(body))
	}

	// $batch: at most 20 requests, each answered with its own status.
	var reqs []string
	for i := range 21 {
		reqs = append(reqs, fmt.Sprintf(`{"id":"%d","method":"GET","url":"/me/messages"}`, i))
	}
	if status, _, _ := e.graphDo("POST", "/v1.0/$batch", adele, "application/json", `{"requests":[`+strings.Join(reqs, ",")+`]}`); status != 400 {
		t.Errorf("21 requests: %d", status)
	}
	status, _, body = e.graphDo("POST", "/v1.0/$batch", adele, "application/json",
		`{"requests":[{"id":"a","method":"GET","url":"/me/messages"},{"id":"b","method":"GET","url":"/me/messages/nope"}]}`)
	var batch struct {
		Responses []batchResponse `json:"responses"`
	}
	if json.Unmarshal(body, &batch); status != 200 || len(batch.Responses) != 2 || batch.Responses[0].Status != 200 || batch.Responses[1].Status != 404 {
		t.Fatalf("batch: %d %s", status, body)
	}

	// A revoked access token is refused with 401 InvalidAuthenticationToken.
	if n := e.sim.RevokeAccessTokens(e.demo.Adele.UPN); n == 0 {
		t.Fatal("nothing revoked")
	}
	if status, _, body := e.graphDo("GET", "/v1.0/me/messages", adele, "", ""); status != 401 || !strings.Contains(string(body), "InvalidAuthenticationToken") {
		t.Fatalf("revoked: %d %s", status, body)
	}
}

// A fifth concurrent request of one app to one mailbox is throttled.
func TestGraphMailboxConcurrency(t *testing.T) {
	e := newTestEnv(t)
	adele := e.redeem("common", e.demo.Adele.UPN, nil).AccessToken
	e.sim.InjectFault(Fault{Endpoint: EndpointGraph, Grant: "messages", Latency: 300 * time.Millisecond})
	var mu sync.Mutex
	var wg sync.WaitGroup
	statuses := map[int]int{}
	var retry string
	for range 8 {
		wg.Go(func() {
			status, hdr, _ := e.graphDo("GET", "/v1.0/me/messages", adele, "", "")
			mu.Lock()
			statuses[status]++
			if status == 429 {
				retry = hdr.Get("Retry-After")
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[200] != 4 || statuses[429] != 4 || retry == "" {
		t.Fatalf("8 at once: %v (Retry-After %q)", statuses, retry)
	}
}
