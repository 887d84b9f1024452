package main

import (
	"strings"
	"testing"
)

func TestConnectSettingsCommand(t *testing.T) {
	env := dbEnv(t)
	if r := runCLI(t, env, "", "tenant", "create", "--slug", "acme", "--name", "Acme Corp"); r.runErr != nil {
		t.Fatal(r.runErr)
	}
	base := []string{"tenant", "connect-settings", "--tenant", "acme"}
	r := runCLI(t, env, "", append(base, "--display-name", "Acme CRM", "--color", "#0F7B6C", "--logo-url", "https://acme.example/logo.png",
		"--allow-return-origin", "https://App.acme.example/", "--allow-return-origin", "http://localhost:3000")...)
	if r.runErr != nil || !strings.Contains(r.out, "name Acme CRM") || !strings.Contains(r.out, "colour #0f7b6c") ||
		!strings.Contains(r.out, "https://app.acme.example http://localhost:3000") {
		t.Fatalf("set: %q %v", r.out, r.runErr)
	}
	// Bad values change nothing, and every problem is named.
	r = runCLI(t, env, "", append(base, "--color", "teal", "--allow-return-origin", "https://app.acme.example/callback")...)
	if r.runErr == nil || !strings.Contains(strings.ToLower(r.runErr.Error()), "colour") ||
		!strings.Contains(strings.ToLower(r.runErr.Error()), "return origin") {
		t.Fatalf("bad input: %v", r.runErr)
	}
	if r := runCLI(t, env, "", base...); !strings.Contains(r.out, "colour #0f7b6c") || !strings.Contains(r.out, "https://app.acme.example") {
		t.Fatalf("after bad input: %q", r.out)
	}
	if r := runCLI(t, env, "", append(base, "--clear-return-origins")...); r.runErr != nil || !strings.Contains(r.out, "origins allowed: (none)") {
		t.Fatalf("clear: %q %v", r.out, r.runErr)
	}
}
