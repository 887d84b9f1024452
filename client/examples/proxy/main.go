// Command proxy calls Microsoft Graph through the broker: this process
// never holds a Microsoft token, only its broker API key.
//
//	BROKER_URL=http://localhost:8080 BROKER_API_KEY=brk_… BROKER_CONNECTION_ID=… go run ./examples/proxy
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	brokerclient "github.com/brokerhq/broker/client"
)

func main() {
	c := brokerclient.New(os.Getenv("BROKER_URL"), os.Getenv("BROKER_API_KEY"))
	graph := c.HTTPClient(os.Getenv("BROKER_CONNECTION_ID"), brokerclient.RetryThrottled())
	// The host is ignored: path and query go to the broker's proxy.
	resp, err := graph.Get("https://graph.microsoft.com/v1.0/me/messages?$top=5&$select=subject")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, resp.Header.Get("request-id"))
	fmt.Println(string(body))
}
