package oauth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// graphErrorBody is Graph's error shape.
type graphErrorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID string `json:"request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// Me calls GET /v1.0/me with a delegated token.
func (m *Microsoft) Me(ctx context.Context, accessToken string) (*GraphUser, error) {
	var u GraphUser
	if err := m.graphGet(ctx, accessToken, "/v1.0/me", &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// Inbox calls GET /v1.0/users/{upn}/mailFolders/inbox, which the minimum
// application permission Mail.Read allows.
func (m *Microsoft) Inbox(ctx context.Context, accessToken, upn string) error {
	return m.graphGet(ctx, accessToken, "/v1.0/users/"+graphUserSegment(upn)+"/mailFolders/inbox", nil)
}

// graphUserSegment writes a UPN as a path segment; one starting with $ uses
// the ('…') form, as Graph requires.
func graphUserSegment(upn string) string {
	if strings.HasPrefix(upn, "$") {
		return "('" + url.PathEscape(strings.ReplaceAll(upn, "'", "''")) + "')"
	}
	return url.PathEscape(upn)
}

func (m *Microsoft) graphGet(ctx context.Context, accessToken, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.GraphBase+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := m.client().Do(req)
	if err != nil {
		return &Error{Network: true, Description: networkSummary(err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		e := &Error{HTTPStatus: resp.StatusCode, RetryAfter: retryAfter(resp.Header), Code: http.StatusText(resp.StatusCode)}
		var ge graphErrorBody
		if json.Unmarshal(body, &ge) == nil && ge.Error.Code != "" {
			e.Code, e.Description, e.TraceID = ge.Error.Code, ge.Error.Message, ge.Error.InnerError.RequestID
		}
		return e
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

var (
	_ Provider = (*Microsoft)(nil)
	_ Graph    = (*Microsoft)(nil)
)
