package web

// Form collects what is wrong with a submitted form: a message per field,
// shown next to it, and one for the form as a whole. Embed it in a page's
// typed form struct; re-render with 422 while !Valid().
type Form struct {
	FieldErrors map[string]string
	FormError   string
}

// Check records msg against field unless ok; the first message per field wins.
func (f *Form) Check(ok bool, field, msg string) {
	if ok {
		return
	}
	if f.FieldErrors == nil {
		f.FieldErrors = map[string]string{}
	}
	if _, exists := f.FieldErrors[field]; !exists {
		f.FieldErrors[field] = msg
	}
}

// Valid tells whether no error was recorded.
func (f Form) Valid() bool { return len(f.FieldErrors) == 0 && f.FormError == "" }

// Err returns the message for field, for templates: {{with .Err "email"}}.
func (f Form) Err(field string) string { return f.FieldErrors[field] }
