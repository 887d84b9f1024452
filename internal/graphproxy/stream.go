package graphproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// bufs are the copy buffers: a 50 MB attachment passes through 32 KiB at a
// time, so a download costs the broker the same memory whatever its size.
var bufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyBody streams src to w. flush sends each piece on at once, for answers
// of unknown length ($batch, chunked), so the caller reads as Graph writes.
func copyBody(w http.ResponseWriter, src io.Reader, flush bool) (int64, error) {
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	buf := *bp
	rc := http.NewResponseController(w)
	var n int64
	for {
		m, rerr := src.Read(buf)
		if m > 0 {
			k, werr := w.Write(buf[:m])
			n += int64(k)
			if werr != nil {
				return n, nil // the caller went away; not Graph's fault
			}
			if flush {
				_ = rc.Flush()
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// invalidToken reports whether a 401 is Graph rejecting the access token
// (InvalidAuthenticationToken), the one a refresh can cure. It reads the
// small error body and puts it back for the caller.
// https://learn.microsoft.com/en-us/graph/errors#code-property
func invalidToken(resp *http.Response) bool {
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	return json.Unmarshal(head, &e) == nil && strings.EqualFold(e.Error.Code, "InvalidAuthenticationToken")
}

// retryWait says how long to wait before trying a throttled request again,
// when the caller asked for it (Broker-Retry: on) and the wait fits: Graph's
// Retry-After (1s when it sent none), at most MaxRetryWait, three attempts,
// and inside the request's deadline.
// https://learn.microsoft.com/en-us/graph/throttling#best-practices-to-handle-throttling
func (x *exchange) retryWait(ctx context.Context, resp *http.Response, allowed bool, attempt int) (time.Duration, bool) {
	if !allowed || attempt >= 3 {
		return 0, false
	}
	wait := time.Second
	if v := resp.Header.Get("Retry-After"); v != "" {
		secs, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || secs < 0 {
			return 0, false
		}
		wait = time.Duration(secs) * time.Second
	}
	if wait > x.p.opts.MaxRetryWait {
		return 0, false
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+time.Second {
		return 0, false
	}
	return wait, true
}

// sleep waits d unless ctx ends first; true when it waited.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
