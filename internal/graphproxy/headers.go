package graphproxy

import "net/http"

// requestHeaders are the caller's headers Graph gets; everything else stays
// behind, above all the caller's Authorization (the broker's API key).
// https://learn.microsoft.com/en-us/graph/use-the-api#headers
var requestHeaders = []string{
	"Accept", "Accept-Encoding", "Accept-Language", "Content-Type", "Content-Encoding",
	"Prefer", "ConsistencyLevel", "If-Match", "If-None-Match", "Range",
	"client-request-id", "return-client-request-id",
}

// responseHeaders are Graph's headers the caller gets: what describes the
// body, Graph's IDs for a support ticket, throttling and paging hints.
// Cookies, WWW-Authenticate (about Microsoft's auth, not the broker's) and
// hop-by-hop headers stay behind.
// https://learn.microsoft.com/en-us/graph/best-practices-concept#reliability-and-support
var responseHeaders = []string{
	"Content-Type", "Content-Length", "Content-Encoding", "Content-Disposition", "Content-Range", "Accept-Ranges",
	"ETag", "Location", "Retry-After", "request-id", "client-request-id", "Preference-Applied", "OData-Version",
	"x-ms-ags-diagnostic", "Deprecation", "Sunset", "x-ms-resource-unit", "x-ms-throttle-limit-percentage",
	"x-ms-throttle-scope", "x-ms-throttle-information",
}

func init() {
	// Canonical once, so copying is plain map lookups on every request.
	for _, l := range [][]string{requestHeaders, responseHeaders} {
		for i, n := range l {
			l[i] = http.CanonicalHeaderKey(n)
		}
	}
}

// copyHeaders copies the listed (canonical) headers of src into dst.
func copyHeaders(dst, src http.Header, names []string) {
	for _, n := range names {
		if v := src[n]; len(v) > 0 {
			dst[n] = append([]string(nil), v...)
		}
	}
}
