package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/testdb"
)

const testKeys = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

type runResult struct {
	out, err string
	runErr   error
}

func runCLI(t *testing.T, vars map[string]string, stdin string, args ...string) runResult {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return vars[k] }, strings.NewReader(stdin), &out, &errb)
	return runResult{out.String(), errb.String(), err}
}

func dbEnv(t *testing.T) map[string]string {
	return map[string]string{"BROKER_DATABASE_URL": testdb.New(t), "BROKER_ENCRYPTION_KEYS": testKeys}
}

// oneLine checks an error is a single clear line containing want.
func oneLine(t *testing.T, r runResult, want string) {
	t.Helper()
	if r.runErr == nil {
		t.Fatalf("no error; out=%q", r.out)
	}
	msg := r.runErr.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, want) {
		t.Fatalf("error %q: want one line containing %q", msg, want)
	}
}

func TestBadInputGivesOneClearError(t *testing.T) {
	env := dbEnv(t)
	if r := runCLI(t, env, "", "tenant", "create", "--slug", "acme", "--name", "Acme Corp"); r.runErr != nil {
		t.Fatal(r.runErr)
	}
	cases := []struct {
		name  string
		vars  map[string]string
		stdin string
		args  []string
		want  string
	}{
		{"unknown command", env, "", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown subcommand", env, "", []string{"tenant", "delete"}, `unknown subcommand "tenant" "delete"`},
		{"malformed key ring", map[string]string{"BROKER_DATABASE_URL": env["BROKER_DATABASE_URL"], "BROKER_ENCRYPTION_KEYS": "k1:short"},
			"", []string{"tenant", "create", "--slug", "x", "--name", "X"}, "BROKER_ENCRYPTION_KEYS is malformed"},
		{"missing key ring", map[string]string{"BROKER_DATABASE_URL": env["BROKER_DATABASE_URL"]},
			"", []string{"tenant", "create", "--slug", "x", "--name", "X"}, "broker keys generate"},
		{"unreachable database", map[string]string{"BROKER_DATABASE_URL": "postgres://postgres:secretpw@127.0.0.1:1/broker?sslmode=disable", "BROKER_ENCRYPTION_KEYS": testKeys},
			"", []string{"tenant", "create", "--slug", "x", "--name", "X"}, "database does not answer"},
		{"duplicate slug", env, "", []string{"tenant", "create", "--slug", "acme", "--name", "Other"}, `tenant "acme" already exists`},
		{"bad slug", env, "", []string{"tenant", "create", "--slug", "Not A Slug", "--name", "Other"}, "--slug must be"},
		{"empty password on stdin", env, "\n", []string{"user", "create", "--tenant", "acme", "--email", "ann@acme.test", "--role", "admin"}, "password on stdin is empty"},
		{"eof password on stdin", env, "", []string{"user", "create", "--tenant", "acme", "--email", "ann@acme.test", "--role", "admin"}, "password on stdin is empty"},
		{"bad role", env, "pw-long-enough-123\n", []string{"user", "create", "--tenant", "acme", "--email", "ann@acme.test", "--role", "owner"}, "--role must be admin or member"},
		{"unknown tenant", env, "pw-long-enough-123\n", []string{"project", "create", "--tenant", "nope", "--name", "Sales"}, `tenant "nope" not found`},
		{"missing flags", env, "", []string{"project", "create"}, "missing --tenant, --name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, c.vars, c.stdin, c.args...)
			oneLine(t, r, c.want)
			if strings.Contains(r.runErr.Error(), "secretpw") || strings.Contains(r.runErr.Error(), "MDEyMzQ1") {
				t.Fatalf("error leaks a secret: %v", r.runErr)
			}
		})
	}
	// Nothing changed: the failed user creates left no user behind, and acme is still "Acme Corp".
	r := runCLI(t, env, "a-good-password-1\n", "user", "create", "--tenant", "acme", "--email", "ann@acme.test", "--role", "admin")
	if r.runErr != nil || !strings.Contains(r.out, "user ann@acme.test created in acme as admin") {
		t.Fatalf("user create after failures: %v %q", r.runErr, r.out)
	}
}

func TestAdminCommandsHappyPath(t *testing.T) {
	env := dbEnv(t)
	steps := [][]string{
		{"tenant", "create", "--slug", "acme", "--name", "Acme Corp"},
		{"project", "create", "--tenant", "acme", "--name", "Sales"},
		{"user", "create", "--tenant", "acme", "--email", "bob@acme.test", "--role", "member", "--project", "Sales"},
		{"operator", "create", "--email", "ops@platform.test"},
	}
	for _, s := range steps {
		if r := runCLI(t, env, "a-good-password-1\n", s...); r.runErr != nil {
			t.Fatalf("%v: %v", s, r.runErr)
		}
	}
	// Same email as an operator and a user is refused.
	oneLine(t, runCLI(t, env, "a-good-password-1\n", "user", "create", "--tenant", "acme", "--email", "ops@platform.test", "--role", "admin"), "already exists")
	r := runCLI(t, env, "", "keys", "generate")
	if r.runErr != nil || !strings.HasPrefix(r.out, "k") || !strings.Contains(r.out, ":") {
		t.Fatalf("keys generate: %q %v", r.out, r.runErr)
	}
	r = runCLI(t, map[string]string{"BROKER_DATABASE_URL": env["BROKER_DATABASE_URL"]}, "", "migrate", "status")
	if r.runErr != nil || !strings.Contains(r.out, "00001  applied") {
		t.Fatalf("migrate status: %q %v", r.out, r.runErr)
	}
}

// Every command's --help shows its usage on stdout and succeeds; a wrong
// flag shows it on stderr and fails.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"demo", "--help"}, {"serve", "-h"}, {"tenant", "create", "--help"},
		{"apikey", "create", "--help"}, {"simulate-microsoft", "--help"}, {"project", "graph-policy", "--help"}} {
		var out, errOut strings.Builder
		err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
		if err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if !strings.Contains(out.String(), "Usage") || errOut.Len() != 0 {
			t.Errorf("%v: stdout %q, stderr %q", args, out.String(), errOut.String())
		}
	}
	var out, errOut strings.Builder
	err := run(context.Background(), []string{"demo", "--bogus"}, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	if !errors.Is(err, errUsageShown) || !strings.Contains(errOut.String(), "Usage: broker demo") {
		t.Errorf("a wrong flag: %v, stderr %q", err, errOut.String())
	}
}
