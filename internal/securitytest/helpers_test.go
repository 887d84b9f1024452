package securitytest

import (
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/store"
)

func storeQuery(tenantID string) store.ConnectionQuery {
	return store.ConnectionQuery{TenantID: tenantID}
}

func total(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

func storeNewConn(tenantID, projectID string) store.NewConnection {
	return store.NewConnection{TenantID: tenantID, ProjectID: projectID, Name: "Support robot", AccountType: "tenant",
		AuthType: "client_credentials", MSTenant: "contoso.onmicrosoft.com", ClientID: "6731de76-14a6-49ae-97bc-6eba6914391e",
		UserPrincipal: "adele@contoso.onmicrosoft.com", RequestedScopes: []string{"https://graph.microsoft.com/.default"},
		Status: "active", ClientSecret: "support-robot-secret"}
}

// conntestAssertNoPlaintext reads the whole database for values, as a dump would.
var conntestAssertNoPlaintext = conntest.AssertNoPlaintext
