// Package browsertest drives Debian's headless Chromium from tests with
// chromedp. A test that asks for a browser fails, and never skips, when
// Chromium is missing: a browser test that silently does not run proves
// nothing. Screenshots taken along the way are written out when the test
// fails, with one of the page it ended on.
package browsertest

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// Browser is one headless Chromium for one test.
type Browser struct {
	Ctx context.Context // pass to chromedp.Run

	t     testing.TB
	mu    sync.Mutex
	shots []shot
}

type shot struct {
	name string
	png  []byte
}

// Options tune New.
type Options struct {
	Width, Height int           // viewport; default 1280×900 (a phone: 390×844)
	Timeout       time.Duration // for the whole test's browsing; default 60s
}

// New starts Chromium with the flags a root user in a container needs and
// a fresh profile, and stops it when the test ends.
func New(t testing.TB, o Options) *Browser {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Fatalf("browsertest: Chromium is not installed at %s (apt-get install chromium): %v", ChromiumPath, err)
	}
	if o.Width == 0 {
		o.Width, o.Height = 1280, 900
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(o.Width, o.Height),
	)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, o.Timeout)
	b := &Browser{Ctx: ctx, t: t}
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	// Registered after the stop, so it runs first: the page is still there.
	t.Cleanup(b.writeOnFailure)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browsertest: start Chromium: %v", err)
	}
	if o.Width < 500 { // a headless window is never narrower: emulate a phone's viewport
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(o.Width), int64(o.Height))); err != nil {
			t.Fatalf("browsertest: viewport: %v", err)
		}
	}
	return b
}

// Do runs chromedp actions, failing the test (with what it was doing) on error.
func (b *Browser) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.Ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// Text is the visible text of the first element sel matches.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return s
}

// WaitText waits until the first element sel matches holds want in its
// text: after a form's submit, an element of the page before (a flash left
// by an earlier action) must not pass for the answer.
func (b *Browser) WaitText(sel, want string) {
	b.t.Helper()
	expr := `(document.querySelector(` + strconv.Quote(sel) + `) || {textContent: ""}).textContent.includes(` + strconv.Quote(want) + `)`
	for {
		if ok, err := TryEval[bool](b, expr); err == nil && ok {
			return
		}
		select {
		case <-b.Ctx.Done():
			b.t.Fatalf("browser: waiting for %q in %s: %v", want, sel, b.Ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Eval evaluates a JavaScript expression in the page (DevTools is not bound
// by the page's CSP) and returns its value.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	return v
}

// TryEval is Eval for a poll across navigations: an evaluation that meets
// a page being replaced ("Inspected target navigated or closed") returns
// its error instead of failing the test, so the poll can ask again.
func TryEval[T any](b *Browser, expr string) (T, error) {
	return chromedp.Run(b.Ctx, chromedp.Evaluate[T](expr))
}

// Snap takes a full-page screenshot, kept for the failure report.
func (b *Browser) Snap(name string) {
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("browser: screenshot %s: %v", name, err)
		return
	}
	b.mu.Lock()
	b.shots = append(b.shots, shot{name, png})
	b.mu.Unlock()
}

// SaveScreenshot writes a full-page screenshot to path now, failed or not
// (for looking at pages while building them).
func (b *Browser) SaveScreenshot(path string) {
	b.t.Helper()
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("browser: screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *Browser) writeOnFailure() {
	if !b.t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		b.shots = append(b.shots, shot{"at-failure", png})
	}
	cancel()
	dir := OutputDir(b.t)
	for i, s := range b.shots {
		p := filepath.Join(dir, filepath.Base(b.t.Name())+"-"+pad(i)+"-"+s.name+".png")
		if err := os.WriteFile(p, s.png, 0o644); err != nil {
			b.t.Logf("browser: write %s: %v", p, err)
			continue
		}
		b.t.Logf("browser: screenshot %s", p)
	}
}

func pad(i int) string { return string([]byte{'0' + byte(i/10%10), '0' + byte(i%10)}) }

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// OutputDir is where a test's files go: the test's artifact directory when
// go test runs with -artifacts, else testoutput/<test name> in the package
// directory (ignored by git), which survives the test for a person to open.
func OutputDir(t testing.TB) string {
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		if a, ok := t.(interface{ ArtifactDir() string }); ok {
			return a.ArtifactDir()
		}
	}
	dir := filepath.Join("testoutput", unsafeName.ReplaceAllString(t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("browsertest: %v", err)
	}
	return dir
}

// SetSelect chooses value in a <select> and fires change, as a person's
// choice does (chromedp.SetValue alone fires no event).
func SetSelect(sel, value string) chromedp.Action[chromedp.Void] {
	js := `(() => { const el = document.querySelector(` + quote(sel) + `);
		el.value = ` + quote(value) + `; el.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[bool](js)(ctx, t)
		return chromedp.Void{}, err
	}
}

func quote(s string) string {
	b := []byte{'"'}
	for _, r := range s {
		switch r {
		case '"', '\\':
			b = append(b, '\\', byte(r))
		default:
			b = append(b, string(r)...)
		}
	}
	return string(append(b, '"'))
}

// SignIn signs in to the broker at baseURL through its login page.
func (b *Browser) SignIn(baseURL, email, password string) {
	b.t.Helper()
	b.Do("sign in to the broker",
		chromedp.Navigate(baseURL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".signout")),
	)
}
