package graphproxy

import (
	"net/url"
	"strings"
)

// cleanPath checks the escaped Graph path a caller asked for and returns it
// unescaped for the policy. It must name a Graph version (/v1.0/ or /beta/)
// and may not climb out of it: a "." or ".." segment, even escaped, could
// walk past a policy's prefix once Graph normalises it.
func cleanPath(escaped string) (unescaped string, ok bool) {
	if !strings.HasPrefix(escaped, "/v1.0/") && !strings.HasPrefix(escaped, "/beta/") {
		return "", false
	}
	segs := strings.Split(escaped[1:], "/")
	for i, seg := range segs {
		v, err := url.PathUnescape(seg)
		// An escaped slash or backslash would let one segment hide a
		// climb ("me%2F..%2F..") that Graph may undo once it decodes.
		if err != nil || v == "." || v == ".." || strings.ContainsAny(v, "/\\") ||
			v == "" && i != len(segs)-1 || strings.ContainsRune(v, 0) {
			return "", false
		}
		segs[i] = v
	}
	return "/" + strings.Join(segs, "/"), true
}
