package main

import (
	"strings"
	"testing"
)

func TestGraphPolicyCommand(t *testing.T) {
	env := dbEnv(t)
	for _, s := range [][]string{
		{"tenant", "create", "--slug", "acme", "--name", "Acme Corp"},
		{"project", "create", "--tenant", "acme", "--name", "Sales"},
	} {
		if r := runCLI(t, env, "", s...); r.runErr != nil {
			t.Fatalf("%v: %v", s, r.runErr)
		}
	}
	base := []string{"project", "graph-policy", "--tenant", "acme", "--project", "Sales"}
	r := runCLI(t, env, "", append(base, "--allow", "GET /v1.0/me/messages", "--allow", "post /v1.0/me/sendMail")...)
	if r.runErr != nil || !strings.Contains(r.out, "GET /v1.0/me/messages") || !strings.Contains(r.out, "POST /v1.0/me/sendMail") {
		t.Fatalf("set: %q %v", r.out, r.runErr)
	}
	if r := runCLI(t, env, "", base...); !strings.Contains(r.out, "GET /v1.0/me/messages") {
		t.Fatalf("show: %q %v", r.out, r.runErr)
	}
	// A bad rule changes nothing.
	oneLine(t, runCLI(t, env, "", append(base, "--allow", "GET /v1.0/../admin")...), "--allow")
	oneLine(t, runCLI(t, env, "", append(base, "--allow", "GET /v1.0/me", "--clear")...), "not both")
	if r := runCLI(t, env, "", base...); !strings.Contains(r.out, "POST /v1.0/me/sendMail") {
		t.Fatalf("after bad input: %q", r.out)
	}
	if r := runCLI(t, env, "", append(base, "--clear")...); r.runErr != nil || !strings.Contains(r.out, "no Graph policy") {
		t.Fatalf("clear: %q %v", r.out, r.runErr)
	}
}
