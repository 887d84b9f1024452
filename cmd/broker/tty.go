package main

import (
	"io"
	"os"
)

// isTerminal reports whether r is an interactive terminal (then nothing was
// piped, and a password is generated instead of waiting for input).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
