// Package logsafe bounds what one log line can carry. Request input reaches
// logs in error texts (Postgres quotes the value it refused) and paths; a
// client sending 100 KB must not get 100 KB into every log line, and a log
// pipeline must not choke on it. Every string value, error text and the
// message are cut to a maximum, with a note of how long they were.
package logsafe

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"unicode/utf8"
)

// DefaultMax is the longest value a log line keeps, in bytes.
const DefaultMax = 1024

// Handler wraps h so that no value it logs is longer than max bytes.
func Handler(h slog.Handler, max int) slog.Handler {
	if max <= 0 {
		max = DefaultMax
	}
	return &handler{next: h, max: max}
}

type handler struct {
	next slog.Handler
	max  int
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Cut(r.Message, h.max), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	bounded := make([]slog.Attr, len(as))
	for i, a := range as {
		bounded[i] = h.attr(a)
	}
	return &handler{next: h.next.WithAttrs(bounded), max: h.max}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(name), max: h.max}
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Cut(v.String(), h.max))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, ga := range g {
			out[i] = h.attr(ga)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, Cut(x.Error(), h.max))
		case fmt.Stringer:
			return slog.String(a.Key, Cut(x.String(), h.max))
		case []byte:
			return slog.String(a.Key, Cut(string(x), h.max))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// Cut returns s when it fits in max bytes, else its first max bytes (on a
// character boundary) and how long it was.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}
