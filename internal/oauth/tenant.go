package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ResolveTenant finds the tenant ID behind a verified domain (or confirms a
// GUID) from the authority's discovery document, whose issuer names the
// tenant: https://{login host}/{tenant id}/v2.0. An unknown tenant is an
// *Error with the platform's code (AADSTS90002).
func (m *Microsoft) ResolveTenant(ctx context.Context, domain string) (string, error) {
	disco := m.LoginBase + "/" + url.PathEscape(domain) + "/v2.0/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, disco, nil)
	if err != nil {
		return "", err
	}
	resp, err := m.client().Do(req)
	if err != nil {
		return "", &Error{Network: true, Description: networkSummary(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e := &Error{HTTPStatus: resp.StatusCode, Code: http.StatusText(resp.StatusCode)}
		var body tokenErrorBody
		if json.NewDecoder(resp.Body).Decode(&body) == nil && body.Error != "" {
			e.Code, e.Description, e.ErrorCodes, e.TraceID, e.CorrelationID =
				body.Error, body.Description, body.ErrorCodes, body.TraceID, body.CorrelationID
		}
		return "", e
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return "", fmt.Errorf("oauth: discovery for %s: %w", domain, err)
	}
	tid, ok := strings.CutPrefix(doc.Issuer, m.LoginBase+"/")
	tid, ok2 := strings.CutSuffix(tid, "/v2.0")
	if !ok || !ok2 || !IsGUID(tid) {
		return "", fmt.Errorf("oauth: discovery for %s names no tenant", domain)
	}
	return strings.ToLower(tid), nil
}
