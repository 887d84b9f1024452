package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// crossTenantQueries is every method that runs SQL across tenants. Adding
// one here is the visible, reviewed step a new cross-tenant query takes;
// each says why on its "Across tenants:" line in across.go.
var crossTenantQueries = []string{
	"APIKeyByPrefix", "ActiveAPIKeyIDs", "AddGraphUsage", "AddTokenUsage", "AppendAudit", "AppendBrokerEvent",
	"ClaimDueConnections", "ClaimWebhookDeliveries", "ConnectSessionByTokenHash", "ConnectionStamps",
	"ChangeMark", "ConnectionChangesSince", "PruneConnectionDeletions",
	"ConnectionTenantID", "CountNotUnderPrimary", "CreateAPIKey", "CreateOperator", "CreateSession",
	"CreateTenant", "CreateUser", "DeleteAbandonedConnections", "DeleteExpiredFlows", "DeleteExpiredSessions",
	"DeleteOldConnectSessions", "DeleteSession", "FinishWebhookDelivery", "ListTenants", "Operator",
	"PrincipalByEmail", "Reauthenticate", "RevokedAPIKeysSince", "RotateBatch", "SSOTenantOf",
	"SeedConnections", "SessionByHash", "SetRequireApproval", "SetRequireSSO", "TenantBySlug", "TouchAPIKeys",
	"TouchConnections", "TouchSession", "WebhookQueueStats", "inOwner", "inScope",
}

// TestCrossTenantQueriesLiveInAcrossGo reads the package's source: every
// call of acrossTenants is in across.go, inside a method of the list above
// whose comment says why it spans tenants, and every listed method is there.
func TestCrossTenantQueriesLiveInAcrossGo(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var found []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil || fd.Name.Name == "acrossTenants" {
				continue
			}
			calls := 0
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if se, ok := n.(*ast.SelectorExpr); ok && se.Sel.Name == "acrossTenants" {
					calls++
				}
				return true
			})
			if calls == 0 {
				continue
			}
			name := fd.Name.Name
			found = append(found, name)
			if f != "across.go" {
				t.Errorf("%s (%s) runs a query across tenants outside across.go", name, fset.Position(fd.Pos()))
			}
			if !slices.Contains(crossTenantQueries, name) {
				t.Errorf("%s runs a query across tenants but is not in crossTenantQueries: add it there, and say why in its comment", name)
			}
			if fd.Doc == nil || !strings.Contains(fd.Doc.Text(), "Across tenants: ") {
				t.Errorf("%s does not say why it spans tenants (an \"Across tenants: …\" line in its comment)", name)
			}
		}
	}
	for _, name := range crossTenantQueries {
		if !slices.Contains(found, name) {
			t.Errorf("crossTenantQueries lists %s, which no longer runs across tenants: drop it", name)
		}
	}
	if len(found) != len(crossTenantQueries) {
		t.Errorf("%d cross-tenant methods found, %d listed", len(found), len(crossTenantQueries))
	}
}
