package mssim

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// message is one message in a simulated mailbox, as Graph lists it.
type message struct {
	ID               string `json:"id"`
	Subject          string `json:"subject"`
	ReceivedDateTime string `json:"receivedDateTime"`
	IsRead           bool   `json:"isRead"`
	HasAttachments   bool   `json:"hasAttachments"`
}

// messages is the user's mailbox: the welcome message, with one attachment,
// and what the user sent, newest first.
func (s *Sim) messages(u *user) []message {
	out := []message{{ID: mailboxID(u, "welcome"), Subject: "Welcome to your simulated mailbox",
		ReceivedDateTime: s.Now().UTC().Truncate(24 * time.Hour).Format(time.RFC3339), HasAttachments: true}}
	s.mail.mu.Lock()
	defer s.mail.mu.Unlock()
	for _, m := range s.mail.sent[u.ObjectID] {
		out = append(out, message{ID: m.id, Subject: m.subject, ReceivedDateTime: m.at.UTC().Format(time.RFC3339), IsRead: true})
	}
	slices.Reverse(out[1:])
	return out
}

var errItemNotFound = &graphErr{404, "ErrorItemNotFound", "The specified object was not found in the store."}

// serveMessages is GET …/messages (paged by $top and $skip, as Graph pages
// with @odata.nextLink) and GET …/messages/{id}.
// https://learn.microsoft.com/en-us/graph/api/user-list-messages
// https://learn.microsoft.com/en-us/graph/paging
func (s *Sim) serveMessages(w http.ResponseWriter, r *http.Request, u *user, m mailRoute) {
	all := s.messages(u)
	if m.message != "" {
		i := slices.IndexFunc(all, func(x message) bool { return x.ID == m.message })
		if i < 0 {
			s.writeGraphError(w, r, errItemNotFound)
			return
		}
		writeGraphJSON(w, http.StatusOK, all[i])
		return
	}
	q := r.URL.Query()
	top, skip := 10, 0 // Graph's default page size for messages is 10
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.writeGraphError(w, r, &graphErr{400, "BadRequest", "Invalid value '" + v + "' for $top query option."})
			return
		}
		top = n
	}
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.writeGraphError(w, r, &graphErr{400, "BadRequest", "Invalid value '" + v + "' for $skip query option."})
			return
		}
		skip = n
	}
	page := all[min(skip, len(all)):min(skip+top, len(all))]
	body := map[string]any{
		"@odata.context": s.graphBase(r) + "/v1.0/$metadata#users('" + u.ObjectID + "')/messages",
		"value":          page,
	}
	if skip+top < len(all) {
		next := url.Values{"$top": {strconv.Itoa(top)}, "$skip": {strconv.Itoa(skip + top)}}
		body["@odata.nextLink"] = s.graphBase(r) + r.URL.Path + "?" + next.Encode()
	}
	writeGraphJSON(w, http.StatusOK, body)
}

// serveAttachment lists a message's attachments, describes one, or streams
// one's bytes (…/$value) without holding them in memory.
// https://learn.microsoft.com/en-us/graph/api/attachment-get#example-6-get-the-raw-contents-of-a-file-attachment-on-a-message
func (s *Sim) serveAttachment(w http.ResponseWriter, r *http.Request, u *user, m mailRoute) {
	var list []map[string]any
	welcome := mailboxID(u, "welcome")
	attID := mailboxID(u, "welcome-attachment")
	size := s.attachmentSize()
	switch {
	case m.message == welcome:
		list = []map[string]any{{"@odata.type": "#microsoft.graph.fileAttachment", "id": attID, "name": "report.bin",
			"contentType": "application/octet-stream", "size": size, "isInline": false}}
	case !slices.ContainsFunc(s.messages(u), func(x message) bool { return x.ID == m.message }):
		s.writeGraphError(w, r, errItemNotFound)
		return
	}
	switch {
	case m.attachment == "":
		writeGraphJSON(w, http.StatusOK, map[string]any{"value": append([]map[string]any{}, list...)})
	case len(list) == 0 || m.attachment != attID:
		s.writeGraphError(w, r, errItemNotFound)
	case !m.value:
		writeGraphJSON(w, http.StatusOK, list[0])
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
		_, _ = io.Copy(w, AttachmentReader(size))
	}
}

// AttachmentReader returns the n bytes of the simulated attachment, for a
// test to compare what it downloaded with.
func AttachmentReader(n int64) io.Reader { return io.LimitReader(&patternReader{}, n) }

// patternReader is an endless, non-repeating-per-block byte stream.
type patternReader struct{ off int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	for i := range b {
		x := p.off + int64(i)
		b[i] = byte(x*31 + x>>9)
	}
	p.off += int64(len(b))
	return len(b), nil
}

// sendMailBody is what POST …/sendMail takes (JSON form).
type sendMailBody struct {
	Message *struct {
		Subject      string `json:"subject"`
		ToRecipients []struct {
			EmailAddress struct {
				Address string `json:"address"`
			} `json:"emailAddress"`
		} `json:"toRecipients"`
	} `json:"message"`
}

// sendMail accepts a message and answers 202 with no body. Only the JSON
// form is simulated; the MIME form (text/plain, base64) gets a 400 here.
// https://learn.microsoft.com/en-us/graph/api/user-sendmail
func (s *Sim) sendMail(w http.ResponseWriter, r *http.Request, u *user) {
	var body sendMailBody
	// A single request carries at most 4 MB; larger attachments go through
	// upload sessions. https://learn.microsoft.com/en-us/graph/outlook-large-attachments
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20+1))
	if err == nil && len(raw) > 4<<20 {
		s.writeGraphError(w, r, &graphErr{413, "RequestEntityTooLarge", "The request is larger than 4 MB."})
		return
	}
	if err != nil || !isJSON(r.Header.Get("Content-Type")) || json.Unmarshal(raw, &body) != nil || body.Message == nil {
		s.writeGraphError(w, r, &graphErr{400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."})
		return
	}
	var to []string
	for _, rcpt := range body.Message.ToRecipients {
		if rcpt.EmailAddress.Address == "" {
			to = nil
			break
		}
		to = append(to, rcpt.EmailAddress.Address)
	}
	if len(to) == 0 {
		s.writeGraphError(w, r, &graphErr{400, "ErrorInvalidRecipients", "At least one recipient isn't valid., A message can't be sent because it contains no recipients."})
		return
	}
	s.mail.mu.Lock()
	if s.mail.sent == nil {
		s.mail.sent = map[string][]sentMessage{}
	}
	s.mail.sent[u.ObjectID] = append(s.mail.sent[u.ObjectID], sentMessage{id: mailboxID(u, "sent-"+newGUID()),
		subject: body.Message.Subject, to: to, at: s.Now()})
	s.mail.mu.Unlock()
	w.Header().Set("request-id", newGUID())
	w.WriteHeader(http.StatusAccepted)
}

func isJSON(contentType string) bool {
	ct, _, err := mime.ParseMediaType(contentType)
	return err == nil && ct == "application/json"
}
