// Command token calls Microsoft Graph itself with a token from the broker:
// the broker's TokenSource goes where an oauth2.TokenSource goes.
//
//	BROKER_URL=http://localhost:8080 BROKER_API_KEY=brk_… BROKER_CONNECTION_ID=… go run ./examples/token
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"golang.org/x/oauth2"

	brokerclient "github.com/brokerhq/broker/client"
)

func main() {
	c := brokerclient.New(os.Getenv("BROKER_URL"), os.Getenv("BROKER_API_KEY"))
	ts := c.TokenSource(os.Getenv("BROKER_CONNECTION_ID"), brokerclient.MinTTL(5*time.Minute))
	graph := oauth2.NewClient(context.Background(), ts)
	graphURL := os.Getenv("GRAPH_URL") // the simulation's, in the demo; default Microsoft's
	if graphURL == "" {
		graphURL = "https://graph.microsoft.com"
	}
	resp, err := graph.Get(graphURL + "/v1.0/me/messages?$top=5&$select=subject")
	if err != nil {
		log.Fatal(err) // a broker refusal is a *brokerclient.Error inside: errors.As tells its Code
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status)
	fmt.Println(string(body))
}
