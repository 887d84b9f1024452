package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/brokerhq/broker/internal/graphproxy"
	"github.com/brokerhq/broker/internal/store"
)

// cmdGraphPolicy sets, clears or shows a project's Graph proxy allowlist:
//
//	broker project graph-policy --tenant acme --project Sales --allow "GET /v1.0/me/messages" --allow "POST /v1.0/me/sendMail"
//	broker project graph-policy --tenant acme --project Sales --clear
//	broker project graph-policy --tenant acme --project Sales          (shows it)
func cmdGraphPolicy(ctx context.Context, args []string, getenv env, s streams) error {
	fs := newFlags("project graph-policy", s)
	tenant := fs.String("tenant", "", "tenant slug")
	project := fs.String("project", "", "project name")
	var allow multiFlag
	fs.Var(&allow, "allow", `a rule "METHOD /v1.0/path/prefix" (METHOD may be *); repeatable; replaces the policy`)
	clear := fs.Bool("clear", false, "remove the policy: the project may call any Graph path")
	if err := parseFlags(fs, args, s); err != nil {
		return err
	}
	if err := required("tenant", *tenant, "project", *project); err != nil {
		return err
	}
	if *clear && len(allow) > 0 {
		return fmt.Errorf("give --allow rules or --clear, not both")
	}
	var rules []store.GraphRule
	for _, a := range allow {
		r, ok := graphproxy.ParseRule(a)
		if !ok {
			return fmt.Errorf(`--allow %q: want "METHOD /v1.0/path" or "METHOD /beta/path", METHOD one of * GET HEAD POST PUT PATCH DELETE`, a)
		}
		rules = append(rules, r)
	}
	st, _, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	t, ps, err := tenantAndProjects(ctx, st, *tenant, []string{*project})
	if err != nil {
		return err
	}
	p := ps[0]
	if *clear || len(rules) > 0 {
		if err := st.SetGraphPolicy(ctx, t.ID, p.ID, rules); err != nil {
			return err
		}
	}
	if rules, err = st.GraphPolicy(ctx, t.ID, p.ID); err != nil {
		return err
	}
	if len(rules) == 0 {
		fmt.Fprintf(s.out, "project %s in %s: no Graph policy; the proxy forwards any Graph path\n", p.Name, t.Slug)
		return nil
	}
	var lines []string
	for _, r := range rules {
		lines = append(lines, "  "+r.Method+" "+r.PathPrefix)
	}
	fmt.Fprintf(s.out, "project %s in %s: the Graph proxy forwards only\n%s\n(replicas apply a change within 5 seconds)\n",
		p.Name, t.Slug, strings.Join(lines, "\n"))
	return nil
}
