package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// storm sends callers concurrent requests for one expired connection,
// spread over the instances, and reports how long until the last answer,
// how many distinct tokens were served and how many requests failed.
func storm(ctx context.Context, client *http.Client, w *world, conn string, callers int) (time.Duration, int, int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	tokens := map[string]bool{}
	failed := 0
	ready := make(chan struct{})
	reqs := make([]*http.Request, callers)
	for i := range reqs {
		reqs[i] = get(w.tokenURL(w.instances[i%len(w.instances)], conn), w.key).WithContext(ctx)
	}
	for i := range callers {
		wg.Go(func() {
			<-ready
			var body tokenBody
			resp, err := client.Do(reqs[i])
			if err == nil {
				err = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil || resp.StatusCode != http.StatusOK {
				failed++
				return
			}
			tokens[body.AccessToken] = true
		})
	}
	start := time.Now()
	close(ready)
	wg.Wait()
	return time.Since(start), len(tokens), failed
}
