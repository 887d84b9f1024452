package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/config"
)

// The demo banner names both demo sign-ins: the admin and the member.
func TestDemoBannerPrintsTheMember(t *testing.T) {
	var out bytes.Buffer
	printDemo(streams{out: &out}, &config.Config{PublicURL: "http://localhost:8080"}, "http://127.0.0.1:8081",
		app.DemoSeed{AdminEmail: app.DemoAdminEmail, AdminPassword: app.DemoAdminPassword, MemberEmail: app.DemoMemberEmail, MemberProject: "Sales"})
	for _, want := range []string{"admin@demo.test  /  demo-admin-password   (demo admin)",
		"member@demo.test  /  demo-admin-password   (demo member: sees only the Sales project)"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("banner lacks %q:\n%s", want, out.String())
		}
	}
}
