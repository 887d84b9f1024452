// Command connections lists the connections an API key may use.
//
//	BROKER_URL=http://localhost:8080 BROKER_API_KEY=brk_… go run ./examples/connections
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	brokerclient "github.com/brokerhq/broker/client"
)

func main() {
	c := brokerclient.New(os.Getenv("BROKER_URL"), os.Getenv("BROKER_API_KEY"))
	for conn, err := range c.Connections(context.Background(), brokerclient.Filter{}) {
		var be *brokerclient.Error
		if errors.As(err, &be) {
			log.Fatalf("broker refused: %s (%s)", be.Code, be.Detail)
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s  %-16s %-12s %s\n", conn.ID, conn.Status, conn.Project, conn.Account.User)
	}
}
