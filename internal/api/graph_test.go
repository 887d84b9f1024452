package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/graphproxy"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/problem"
	"github.com/brokerhq/broker/internal/store"
)

// A proxied call reaches Graph with the connection's token, the caller's
// method, path, query and body and only the allowed headers; Graph's status,
// body and useful headers come back, and nothing else.
func TestGraphProxyForwards(t *testing.T) {
	g := newGraphEnv(t, graphproxy.Options{})
	resp, body := g.do(t, "GET", "/v1.0/me/messages?$top=1", "", map[string]string{
		"client-request-id": "11111111-2222-3333-4444-555555555555", "Prefer": `outlook.body-content-type="text"`,
		"ConsistencyLevel": "eventual", "Cookie": "session=secret", "X-Forwarded-For": "10.0.0.1", "X-Custom": "no"})
	if resp.StatusCode != 200 {
		t.Fatalf("GET messages: %d %s", resp.StatusCode, body)
	}
	var list struct {
		Value    []struct{ ID, Subject string } `json:"value"`
		NextLink string                         `json:"@odata.nextLink"`
	}
	if err := json.Unmarshal(body, &list); err != nil || len(list.Value) != 1 || list.Value[0].Subject == "" {
		t.Fatalf("messages: %v %s", err, body)
	}
	seen := g.lastSeen()
	auth := seen.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || strings.Contains(auth, g.key) || strings.Contains(auth, "brk_") {
		t.Errorf("Graph got Authorization %q: want the connection's token, never the API key", auth)
	}
	for _, h := range []string{"client-request-id", "Prefer", "ConsistencyLevel"} {
		if seen.Get(h) == "" {
			t.Errorf("Graph did not get %s", h)
		}
	}
	for _, h := range []string{"Cookie", "X-Forwarded-For", "X-Custom", "Broker-Retry"} {
		if seen.Get(h) != "" {
			t.Errorf("Graph got %s: %q", h, seen.Get(h))
		}
	}
	if resp.Header.Get("request-id") == "" || resp.Header.Get("client-request-id") != "11111111-2222-3333-4444-555555555555" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("response headers: %v", resp.Header)
	}
	for _, h := range []string{"Set-Cookie", "X-Backend-Secret"} {
		if resp.Header.Get(h) != "" {
			t.Errorf("caller got Graph's %s", h)
		}
	}

	// A body goes through: sendMail answers 202 and the message is sent.
	mail := `{"message":{"subject":"Through the broker","toRecipients":[{"emailAddress":{"address":"alex@contoso.example"}}]}}`
	resp, body = g.do(t, "POST", "/v1.0/me/sendMail", mail, map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 202 {
		t.Fatalf("sendMail: %d %s", resp.StatusCode, body)
	}
	if sent := g.ms.Sim.Sent(g.ms.Demo.Adele.UPN); len(sent) != 1 || sent[0] != "Through the broker" {
		t.Fatalf("sent: %v", sent)
	}

	// $batch: one body carrying several requests, answered in one.
	batch := `{"requests":[{"id":"1","method":"GET","url":"/me/messages?$top=5"},{"id":"2","method":"GET","url":"/me"}]}`
	resp, body = g.do(t, "POST", "/v1.0/$batch", batch, map[string]string{"Content-Type": "application/json"})
	var br struct {
		Responses []struct {
			ID     string `json:"id"`
			Status int    `json:"status"`
		} `json:"responses"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &br) != nil || len(br.Responses) != 2 ||
		br.Responses[0].Status != 200 || br.Responses[1].Status != 200 {
		t.Fatalf("$batch: %d %s", resp.StatusCode, body)
	}

	// Graph's errors come back as Graph wrote them.
	resp, body = g.do(t, "GET", "/v1.0/me/messages/AAMkAnope", "", nil)
	if resp.StatusCode != 404 || !strings.Contains(string(body), "ErrorItemNotFound") {
		t.Fatalf("missing message: %d %s", resp.StatusCode, body)
	}

	// A redirect is passed back, not followed.
	calls := g.graphCalls()
	resp, _ = g.do(t, "GET", "/v1.0/me/redirected", "", nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://elsewhere.example/download" ||
		g.graphCalls() != calls+1 {
		t.Fatalf("redirect: %d %q after %d calls", resp.StatusCode, resp.Header.Get("Location"), g.graphCalls()-calls)
	}

	// Paths outside a Graph version, or climbing out of one, never leave.
	calls = g.graphCalls()
	for _, p := range []string{"/v2.0/me", "/v1.0/me/%2e%2e/%2e%2e/admin", "/v1.0/me%2F..%2F..%2Fadmin", "/", "/v1.0/me/../../x"} {
		resp, body = g.do(t, "GET", p, "", nil)
		if resp.StatusCode != 400 && resp.StatusCode != 404 {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
	if g.graphCalls() != calls {
		t.Errorf("bad paths reached Graph %d times", g.graphCalls()-calls)
	}
}

// The key's tenant and projects bound the proxy as they bound tokens.
func TestGraphProxyKeyScope(t *testing.T) {
	g := newGraphEnv(t, graphproxy.Options{})
	other, _ := g.env.key(t, g.tenant.ID, g.support.ID) // a key for another project
	req, _ := http.NewRequest("GET", g.srv.URL+"/api/v1/connections/"+g.conn.ID+"/graph/v1.0/me", nil)
	req.Header.Set("Authorization", "Bearer "+other)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var p problem.Problem
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != 404 || p.Code != "connection_not_found" || g.graphCalls() != 0 {
		t.Fatalf("other project's key: %d %+v, Graph called %d times", resp.StatusCode, p, g.graphCalls())
	}
	req.Header.Del("Authorization")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("no key: %d", resp.StatusCode)
	}
}

// A request body over the cap is refused before Graph sees it.
func TestGraphProxyBodyCap(t *testing.T) {
	g := newGraphEnv(t, graphproxy.Options{MaxBody: 1024})
	resp, body := g.do(t, "POST", "/v1.0/me/sendMail", strings.Repeat("x", 2048), map[string]string{"Content-Type": "application/json"})
	var p problem.Problem
	json.Unmarshal(body, &p)
	if resp.StatusCode != 413 || p.Code != "request_too_large" || g.graphCalls() != 0 {
		t.Fatalf("big body: %d %s, Graph called %d times", resp.StatusCode, body, g.graphCalls())
	}
}

// A project's policy allows only what it lists, $batch contents included;
// the audit counts every answer by status.
func TestGraphProxyPolicy(t *testing.T) {
	g := newGraphEnv(t, graphproxy.Options{})
	ctx := context.Background()
	rule, ok := graphproxy.ParseRule("GET /v1.0/me/messages")
	if !ok {
		t.Fatal("rule does not parse")
	}
	if err := g.st.SetGraphPolicy(ctx, g.tenant.ID, g.sales.ID, []store.GraphRule{rule}); err != nil {
		t.Fatal(err)
	}
	allowed := []string{"/v1.0/me/messages", "/v1.0/ME/Messages?$top=2", "/v1.0/me/messages/AAMkAnope"}
	for _, p := range allowed {
		if resp, body := g.do(t, "GET", p, "", nil); resp.StatusCode == 403 {
			t.Errorf("GET %s refused: %s", p, body)
		}
	}
	calls := g.graphCalls()
	denied := []struct{ method, path, body string }{
		{"GET", "/v1.0/me", ""},
		{"GET", "/v1.0/me/messagesX", ""},
		{"POST", "/v1.0/me/sendMail", `{"message":{}}`},
		{"DELETE", "/v1.0/me/messages/AAMkA1", ""},
		{"POST", "/v1.0/$batch", `{"requests":[{"id":"1","method":"GET","url":"/me/messages"},{"id":"2","method":"POST","url":"/me/sendMail","body":{},"headers":{"Content-Type":"application/json"}}]}`},
		{"POST", "/v1.0/$batch", `{"requests":[{"id":"1","method":"GET","url":"/me/messages/../../users"}]}`},
	}
	for _, d := range denied {
		resp, body := g.do(t, d.method, d.path, d.body, map[string]string{"Content-Type": "application/json"})
		var p problem.Problem
		json.Unmarshal(body, &p)
		if resp.StatusCode != 403 || p.Code != "graph_request_denied" {
			t.Errorf("%s %s: %d %s, want 403 graph_request_denied", d.method, d.path, resp.StatusCode, body)
		}
	}
	if g.graphCalls() != calls {
		t.Errorf("refused requests reached Graph %d times", g.graphCalls()-calls)
	}
	// A batch of allowed reads passes.
	resp, body := g.do(t, "POST", "/v1.0/$batch", `{"requests":[{"id":"1","method":"GET","url":"/me/messages?$top=1"}]}`,
		map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 200 {
		t.Fatalf("allowed batch: %d %s", resp.StatusCode, body)
	}

	if err := g.audit.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := g.st.ListGraphUsage(ctx, g.tenant.ID, g.conn.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	byStatus := map[int]int64{}
	for _, r := range rows {
		byStatus[r.Status] += r.Requests
	}
	if byStatus[200] != 3 || byStatus[404] != 1 || byStatus[403] != int64(len(denied)) {
		t.Fatalf("audit by status: %v", byStatus)
	}
}

// Graph's 429 comes back with its Retry-After; Broker-Retry: on waits it
// out inside the request.
func TestGraphProxyThrottling(t *testing.T) {
	g := newGraphEnv(t, graphproxy.Options{})
	g.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointGraph, Grant: "messages", Status: 429, RetryAfter: 7e9, Times: 1})
	resp, body := g.do(t, "GET", "/v1.0/me/messages", "", nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" || !strings.Contains(string(body), "TooManyRequests") {
		t.Fatalf("429: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	g.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointGraph, Grant: "messages", Status: 429, RetryAfter: 1e9, Times: 1})
	calls := g.graphCalls()
	resp, body = g.do(t, "GET", "/v1.0/me/messages", "", map[string]string{"Broker-Retry": "on"})
	if resp.StatusCode != 200 || g.graphCalls() != calls+2 {
		t.Fatalf("Broker-Retry: %d after %d Graph calls: %s", resp.StatusCode, g.graphCalls()-calls, body)
	}
}
