package benchkit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/mssim"
)

// SignIn signs upn in through the simulated pages over HTTP, as a browser
// would, and redeems the code: a real refresh token for a seeded connection.
func SignIn(ctx context.Context, p *oauth.Microsoft, upn string) (*oauth.Token, error) {
	var v [32]byte
	rand.Read(v[:])
	verifier := base64.RawURLEncoding.EncodeToString(v[:])
	sum := sha256.Sum256([]byte(verifier))
	u := p.AuthorizeURL(oauth.AuthorizeRequest{Authority: "common", State: "s", Nonce: "n",
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]),
		Scopes:        append([]string{"openid", "profile"}, mssim.OutlookScopes...)})
	back, err := mssim.SignIn(ctx, p.HTTPClient, u, upn, mssim.SignInOptions{})
	if err != nil {
		return nil, fmt.Errorf("sign in %s: %w", upn, err)
	}
	q, _ := url.ParseQuery(back.RawQuery)
	if q.Get("code") == "" {
		return nil, fmt.Errorf("sign in %s: %s", upn, q.Get("error_description"))
	}
	return p.Exchange(ctx, "common", q.Get("code"), verifier)
}

// LoadAverage is /proc/loadavg's first three fields ("2.10 1.85 1.40"):
// the machine is shared, so every figure is printed beside it.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
