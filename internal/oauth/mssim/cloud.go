package mssim

import (
	"fmt"
	"strings"
)

// Microsoft Graph has one resource identifier per national cloud, and every
// Graph scope, .default included, names its own cloud's: a request in the US
// Government cloud asks for https://graph.microsoft.us/.default, not the
// global https://graph.microsoft.com/.default, which that cloud does not
// know (AADSTS500011: the resource principal was not found). Granted scopes
// come back in the cloud's form too
// (https://learn.microsoft.com/graph/deployments "Microsoft Graph and Graph
// Explorer service root endpoints"; shared/reference/microsoft-identity-platform.md
// "Scopes name the cloud's Graph host").
var cloudGraph = map[string]string{
	"global":    GraphResource,
	"usgov":     "https://graph.microsoft.us",
	"usgov-dod": "https://dod-graph.microsoft.us",
	"china":     "https://microsoftgraph.chinacloudapi.cn",
}

// CloudGraphResource is the Graph resource identifier of a cloud named as
// Options.Cloud names it ("" is global).
func CloudGraphResource(cloud string) (string, error) {
	if cloud == "" {
		cloud = "global"
	}
	res, ok := cloudGraph[strings.ToLower(cloud)]
	if !ok {
		return "", fmt.Errorf("mssim: unknown cloud %q (global, usgov, usgov-dod or china)", cloud)
	}
	return res, nil
}

// parse reads a scope parameter as this sim's cloud reads it.
func (s *Sim) parse(raw string) parsedScopes { return parseScopesFor(raw, s.graphRes) }

// scopeString is a set as this cloud's token responses spell it.
func (s *Sim) scopeString(set scopeSet) string {
	str := set.String()
	if s.graphRes == GraphResource {
		return str
	}
	return strings.ReplaceAll(str, GraphResource+"/", s.graphRes+"/")
}

// qualify is one permission as this cloud's consent page names it.
func (s *Sim) qualify(p perm, bit scopeSet) string {
	q := qualified(p, bit)
	if s.graphRes == GraphResource {
		return q
	}
	return strings.Replace(q, GraphResource+"/", s.graphRes+"/", 1)
}

// anyCloudScope strips whichever cloud's Graph prefix v carries, for the
// SignIn helper, which reads pages of a sim in any cloud.
func anyCloudScope(v string) string {
	low := strings.ToLower(v)
	for _, res := range cloudGraph {
		if strings.HasPrefix(low, res+"/") {
			return v[len(res)+1:]
		}
	}
	return v
}
