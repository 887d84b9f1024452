package adminweb

import (
	"fmt"
	"sort"
	"strings"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// sentence writes an audit entry's details as a person would say them:
// "It was Active before." rather than "previous status: active;". Keys
// without a phrasing of their own read "Key: value." in a stable order.
// Details never hold secrets.
func sentence(e store.FeedEntry) string {
	d := e.Details
	if e.Source == store.SourceUsage {
		c, _ := d["cached"].(float64)
		rf, _ := d["refreshed"].(float64)
		s := web.Plural(int64(c+rf), "token") + " handed out"
		if rf > 0 {
			s += fmt.Sprintf(", %d of them fresh from Microsoft", int64(rf))
		}
		return s + "."
	}
	str := func(k string) string { s, _ := d[k].(string); return s }
	var parts []string
	used := map[string]bool{"status": e.Source == store.SourceStatus}
	say := func(keys []string, text string) {
		for _, k := range keys {
			used[k] = true
		}
		if text != "" {
			parts = append(parts, text)
		}
	}
	if s := str("previous_status"); s != "" {
		say([]string{"previous_status"}, "It was "+admin.StatusLabel(s)+" before.")
	}
	if s := str("restored_status"); s != "" {
		say([]string{"restored_status"}, "Back to "+admin.StatusLabel(s)+".")
	}
	if ok, isBool := d["ok"].(bool); isBool {
		text := "The test passed."
		if !ok {
			text = "The test failed"
			if c := str("code"); c != "" {
				text += " with " + c
			}
			text += "."
		}
		say([]string{"ok", "code", "status", "refreshed", "recovered"}, text)
	}
	if s := str("check"); s != "" {
		say([]string{"check"}, "Checked: "+s+".")
	}
	if on, isBool := d["require_approval"].(bool); isBool {
		say([]string{"require_approval"}, map[bool]string{true: "New connections now need an administrator's approval.",
			false: "New connections no longer need approval."}[on])
	}
	if s := str("new_expiry"); s != "" {
		text := "The new secret expires " + s
		if p := str("previous_expiry"); p != "" {
			text += " (the old one " + p + ")"
		}
		say([]string{"new_expiry", "previous_expiry"}, text+".")
	}
	if s := str("name"); s != "" {
		text := "Named “" + s + "”"
		if p := str("prefix"); p != "" {
			text += ", key " + p + "…"
		}
		say([]string{"name", "prefix", "api_key_id"}, text+".")
	}
	if s := str("account_username"); s != "" {
		say([]string{"account_username", "account_tid", "account_oid"}, "As "+s+".")
	}
	if s, ok := d["missing_scopes"].([]any); ok {
		text := ""
		if len(s) > 0 {
			text = "Microsoft did not grant " + valueText(s) + "."
		}
		say([]string{"missing_scopes", "granted_scopes"}, text)
	}
	if s := str("auth_type"); s != "" {
		say([]string{"auth_type", "account_type"}, admin.AuthTypeLabel(s)+" for "+
			strings.ToLower(admin.AccountTypeLabel(firstNonEmpty(str("account_type"), "tenant")))+".")
	}
	// Connect links: who the link is for and where it returns; the IDs are
	// the row's own (its connection is linked beside it).
	if s := str("end_user_id"); s != "" || str("connect_session_id") != "" {
		text := ""
		if s != "" {
			text = "For end user " + s
			if o := str("return_origin"); o != "" {
				text += ", returning to " + o
			}
			text += "."
		}
		say([]string{"end_user_id", "connect_session_id", "project_id", "return_origin", "reconnect_connection_id"}, text)
	}
	if s := str("remote_addr"); s != "" {
		say([]string{"remote_addr"}, "From "+s+".")
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		if !used[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := d[k]
		switch x := v.(type) {
		case string:
			if x == "" {
				continue
			}
		case nil:
			continue
		case []any:
			if len(x) == 0 {
				continue
			}
		case bool:
			v = map[bool]string{true: "yes", false: "no"}[x]
		}
		label := strings.ReplaceAll(k, "_", " ")
		parts = append(parts, fmt.Sprintf("%s%s: %s.", strings.ToUpper(label[:1]), label[1:], valueText(v)))
	}
	return strings.Join(parts, " ")
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
