package connweb

import (
	"io"
	"mime"
	"net/http"
)

// maxFormBody bounds the New connection form: a certificate upload (a
// .pfx or PEM of a few kilobytes) and the fields, with room to spare.
const maxFormBody = 256 << 10

// parseBody reads a urlencoded or a multipart form (the form is multipart
// so that a certificate file can be uploaded), everything kept in memory:
// a private key never touches the disk.
// The content type decides: ParseMultipartForm on a urlencoded body would
// swallow ParseForm's error (a body over the limit) and report only that
// the body is not multipart.
func parseBody(r *http.Request) error {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		return r.ParseMultipartForm(maxFormBody)
	}
	return r.ParseForm()
}

// uploaded is the content of the named file field, or nil.
func uploaded(r *http.Request, name string) []byte {
	if r.MultipartForm == nil || len(r.MultipartForm.File[name]) == 0 {
		return nil
	}
	f, err := r.MultipartForm.File[name][0].Open()
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFormBody))
	if err != nil {
		return nil
	}
	return b
}
