package securitytest

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var reFuzzFunc = regexp.MustCompile(`(?m)^func (Fuzz\w+)\(f \*testing\.F\)`)

// Claim: every fuzz target runs under `make fuzz`: a new FuzzXxx that is
// not in the Makefile's FUZZ_TARGETS fails here (its seeds run in `make
// test` either way).
func TestEveryFuzzTargetIsInMakeFuzz(t *testing.T) {
	root := filepath.Join("..", "..")
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	listed := strings.Fields(strings.ReplaceAll(regexp.MustCompile(`(?s)FUZZ_TARGETS := (.*?)\n\n`).FindStringSubmatch(string(mk))[1], `\`, " "))
	var found []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range reFuzzFunc.FindAllStringSubmatch(string(src), -1) {
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			found = append(found, filepath.ToSlash(rel)+":"+m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < 9 {
		t.Fatalf("found only %d fuzz targets: %v", len(found), found)
	}
	for _, f := range found {
		if !slices.Contains(listed, f) {
			t.Errorf("%s is not in the Makefile's FUZZ_TARGETS", f)
		}
	}
	for _, l := range listed {
		if !slices.Contains(found, l) {
			t.Errorf("FUZZ_TARGETS lists %s, which does not exist", l)
		}
	}
}
