package mssim

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// BenchmarkRefreshToken measures refresh_token grants that ask for no
// id_token, over real HTTP on loopback with keep-alive clients in parallel.
// The acceptance floor is 10,000 req/s on two cores.
func BenchmarkRefreshToken(b *testing.B) {
	e := newTestEnv(b)
	sim, demo, srv := e.sim, e.demo, e.srv
	rt := e.redeem("common", demo.Adele.UPN, map[string]string{"scope": "offline_access User.Read Mail.Read"}).RefreshToken
	body := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {demo.WebApp.ClientID},
		"client_secret": {demo.WebApp.Secret}, "scope": {"https://graph.microsoft.com/Mail.Read offline_access"}}.Encode()
	tokenURL := srv.URL + "/common/oauth2/v2.0/token"
	transport := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}

	sim.ResetCounts()
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(tokenURL, "application/x-www-form-urlencoded", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if n := sim.Count(EndpointToken, "refresh_token"); n != int64(b.N) {
		b.Errorf("counted %d refreshes, ran %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
}
