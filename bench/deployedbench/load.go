package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// loadGen drives one server for a round.
type loadGen interface {
	name() string
	run(ctx context.Context, base string, w *world, d time.Duration) (result, error)
}

func newLoadGen(c config) loadGen {
	if path, err := exec.LookPath("wrk"); err == nil && !c.goLoad {
		return &wrk{path: path, conns: c.conns, threads: c.threads}
	}
	return &goLoad{conns: c.conns}
}

// wrk runs wrk with a Lua script that rotates the keys and connections.
type wrk struct {
	path           string
	conns, threads int
	script         string
}

func (g *wrk) name() string { return "wrk" }

func (g *wrk) run(ctx context.Context, base string, w *world, d time.Duration) (result, error) {
	if g.script == "" {
		g.script = filepath.Join(w.dir, "rotate.lua")
		if err := os.WriteFile(g.script, []byte(luaScript(w)), 0o600); err != nil {
			return result{}, err
		}
	}
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	cmd := exec.CommandContext(ctx, g.path, "-t", strconv.Itoa(g.threads), "-c", strconv.Itoa(g.conns),
		"-d", strconv.Itoa(secs)+"s", "--latency", "-s", g.script, base)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	return parseWrk(string(out))
}

// luaScript rotates the keys and connections per request; each wrk thread
// starts at its own offset.
func luaScript(w *world) string {
	var b strings.Builder
	b.WriteString("local keys = {")
	for _, k := range w.keys {
		fmt.Fprintf(&b, "%q,", "Bearer "+k)
	}
	b.WriteString("}\nlocal paths = {")
	for i := range w.conns {
		fmt.Fprintf(&b, "%q,", strings.TrimPrefix(w.tokenPath(i, ""), ""))
	}
	b.WriteString(`}
local n = 0
setup = function(thread) thread:set("offset", n * 7); n = n + 1 end
init = function() n = offset or 0 end
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1], {["Authorization"] = keys[(n % #keys) + 1]})
end
`)
	return b.String()
}

// parseWrk reads req/s, the 50th and 99th percentiles and non-2xx answers
// from wrk --latency's report.
func parseWrk(out string) (result, error) {
	var r result
	var got int
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "50%":
			r.p50, got = parseWrkDuration(f[1]), got+1
		case len(f) == 2 && f[0] == "99%":
			r.p99, got = parseWrkDuration(f[1]), got+1
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.rate, _ = strconv.ParseFloat(f[1], 64)
			got++
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			r.non2xx, _ = strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "Non-2xx or 3xx responses:")), 10, 64)
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			r.requests, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	if got != 3 {
		return r, fmt.Errorf("wrk's report was not understood:\n%s", out)
	}
	return r, nil
}

func parseWrkDuration(v string) time.Duration {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			f, _ := strconv.ParseFloat(n, 64)
			return time.Duration(f * float64(u.unit))
		}
	}
	return 0
}
