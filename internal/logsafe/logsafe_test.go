package logsafe_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/logsafe"
)

// A 100 KB input reaches no log line whole, however it is passed: as a
// string, inside an error, in a group, in attributes bound beforehand or
// in the message.
func TestLongValuesAreCut(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(logsafe.Handler(slog.NewJSONHandler(&buf, nil), 256))
	big := strings.Repeat("é", 50_000) // 100 KB, two bytes a character
	log.With("bound", big).Error("failed: "+big, "q", big, "err", errors.New(`invalid input syntax: "`+big+`"`),
		slog.Group("req", "path", big), "n", 7)
	line := buf.String()
	if len(line) > 4096 {
		t.Fatalf("one log line is %d bytes", len(line))
	}
	if c := strings.Count(line, " bytes)"); c != 5 {
		t.Fatalf("%d values marked as cut, want 5: %s", c, line)
	}
	if !strings.Contains(line, `"n":7`) || !strings.Contains(line, "…(100024 bytes)") {
		t.Fatalf("short values or the error's length lost: %s", line)
	}
	if got := logsafe.Cut("héllo", 2); got != "h…(6 bytes)" {
		t.Fatalf("Cut on a character boundary: %q", got)
	}
}
