package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/brokerhq/broker/internal/connect"
)

// cmdConnectSettings sets or shows a tenant's connect page look and the
// origins a connect session's return_url may have (docs/connect.md):
//
//	broker tenant connect-settings --tenant acme --display-name "Acme CRM" --logo-url https://acme.example/logo.png \
//	    --color "#0f7b6c" --allow-return-origin https://app.acme.example
//	broker tenant connect-settings --tenant acme          (shows them)
func cmdConnectSettings(ctx context.Context, args []string, getenv env, s streams) error {
	fs := newFlags("tenant connect-settings", s)
	tenant := fs.String("tenant", "", "tenant slug")
	name := fs.String("display-name", "", "the name the connect page shows (default: the tenant's name)")
	logo := fs.String("logo-url", "", "an https URL of the logo the connect page shows")
	color := fs.String("color", "", "the page's accent colour, #rrggbb")
	var origins multiFlag
	fs.Var(&origins, "allow-return-origin", "an origin (https://app.example.com) return_url may have; repeatable; replaces the list")
	clearOrigins := fs.Bool("clear-return-origins", false, "allow no return_url at all")
	if err := fs.Parse(args); err != nil {
		return errUsageShown
	}
	if err := required("tenant", *tenant); err != nil {
		return err
	}
	st, _, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	t, _, err := tenantAndProjects(ctx, st, *tenant, nil)
	if err != nil {
		return err
	}
	cur, err := st.ConnectSettings(ctx, t.ID)
	if err != nil {
		return err
	}
	changed := false
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "display-name":
			cur.DisplayName, changed = *name, true
		case "logo-url":
			cur.LogoURL, changed = *logo, true
		case "color":
			cur.BrandColor, changed = *color, true
		}
	})
	if len(origins) > 0 || *clearOrigins {
		cur.AllowedReturnOrigins, changed = origins, true
	}
	if changed {
		svc := connect.New(st, nil, "", nil, nil)
		var problems []*connect.FieldError
		if cur, problems, err = svc.PutSettings(ctx, cur); err != nil {
			return err
		}
		if len(problems) > 0 {
			msgs := make([]string, len(problems))
			for i, p := range problems {
				msgs[i] = p.Message
			}
			return fmt.Errorf("nothing changed: %s", strings.Join(msgs, " "))
		}
	}
	show := func(v string) string {
		if v == "" {
			return "(none)"
		}
		return v
	}
	fmt.Fprintf(s.out, "tenant %s connect page: name %s, logo %s, colour %s\nreturn_url origins allowed: %s\n",
		t.Slug, show(cur.DisplayName), show(cur.LogoURL), show(cur.BrandColor), show(strings.Join(cur.AllowedReturnOrigins, " ")))
	return nil
}
