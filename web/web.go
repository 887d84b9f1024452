// Package web holds the files the broker serves and renders, compiled into
// the binary so a deployment is one file. internal/web uses them.
package web

import "embed"

// Templates holds templates/*.html: layout.html, shared partials named
// _*.html, and one file per page defining a "main" block.
//
// (The pattern names the files: a bare directory would leave out _*.html.)
//
//go:embed templates/*.html
var Templates embed.FS

// Static holds static/, served under /static/.
//
//go:embed static
var Static embed.FS
