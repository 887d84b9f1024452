package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"time"
)

// serveCeiling is the ceiling process: plain net/http answering the broker's
// own token answer, JSON-encoded per request as the broker does, and
// nothing else (no routing, no key, no cache, no log).
func serveCeiling(ctx context.Context, addr, docPath string) error {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		return err
	}
	var body tokenBody
	if err := json.Unmarshal(raw, &body); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		json.NewEncoder(w).Encode(body)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// tokenBody mirrors the token endpoint's answer, so the ceiling encodes the
// same typed shape the broker does.
type tokenBody struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresAt   string `json:"expires_at"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	Connection  struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Project     string `json:"project"`
		AccountType string `json:"account_type"`
		AuthType    string `json:"auth_type"`
		Status      string `json:"status"`
		Account     struct {
			TenantID string `json:"tenant_id"`
			User     string `json:"user"`
		} `json:"account"`
	} `json:"connection"`
}
