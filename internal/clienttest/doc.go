// Package clienttest runs the Go client (module github.com/brokerhq/broker/client)
// against a real broker and the simulated Microsoft; it lives in the
// broker's module because only the broker's module can start one, and it
// reaches the client through the replace directive in go.mod.
package clienttest
