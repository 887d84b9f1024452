package webhooks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

// Service manages webhook endpoints for the admin API and the pages: it
// validates, generates secrets and asks the store. Callers decide who may
// (tenant admins for their tenant, operators for broker-wide endpoints,
// tenantID "").
type Service struct {
	Store *store.Store
	Guard *Guard
	Now   func() time.Time
	// Overlap is how long a rotated-out secret keeps signing (default 24h).
	Overlap time.Duration
}

// FieldError is input the service refuses, naming the field.
type FieldError struct{ Field, Message string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// AsFieldError unwraps a FieldError.
func AsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}

// Input is an endpoint as a form or JSON body gives it.
type Input struct {
	URL         string
	Description string
	EventTypes  []string // empty: every type
	ProjectIDs  []string // nil: every project
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// check validates in; the URL against the SSRF guard, resolving its host.
func (s *Service) check(ctx context.Context, tenantID string, in *Input) error {
	in.URL = strings.TrimSpace(in.URL)
	in.Description = strings.TrimSpace(in.Description)
	if in.URL == "" {
		return &FieldError{"url", "Enter the URL the broker should POST events to."}
	}
	if len(in.URL) > 2048 {
		return &FieldError{"url", "Keep the URL under 2,048 characters."}
	}
	if err := s.Guard.CheckURL(ctx, in.URL); err != nil {
		if r, ok := AsRefused(err); ok {
			return &FieldError{"url", "The broker will not send webhooks there: " + r.Reason + "."}
		}
		return err
	}
	if len(in.Description) > 200 {
		return &FieldError{"description", "Keep the description under 200 characters."}
	}
	for _, t := range in.EventTypes {
		if !slices.Contains(store.EventTypes, t) {
			return &FieldError{"event_types", fmt.Sprintf("%q is not an event type; see docs/webhooks.md.", t)}
		}
		if tenantID != "" && t == store.EventBrokerHealthChanged {
			return &FieldError{"event_types", "broker.health_changed goes to the operators' broker-wide endpoints only."}
		}
	}
	if tenantID == "" && in.ProjectIDs != nil {
		return &FieldError{"project_ids", "A broker-wide endpoint has no projects."}
	}
	if tenantID != "" && in.ProjectIDs != nil {
		projects, err := s.Store.ListProjects(ctx, tenantID)
		if err != nil {
			return err
		}
		for _, id := range in.ProjectIDs {
			if !slices.ContainsFunc(projects, func(p store.Project) bool { return p.ID == id }) {
				return &FieldError{"project_ids", "There is no such project in the tenant."}
			}
		}
	}
	return nil
}

// Create makes an endpoint and returns it with its signing secret, which
// is shown to the caller once and stored only sealed.
func (s *Service) Create(ctx context.Context, tenantID, by string, in Input) (store.WebhookEndpoint, string, error) {
	if err := s.check(ctx, tenantID, &in); err != nil {
		return store.WebhookEndpoint{}, "", err
	}
	secret := NewSecret()
	ep, err := s.Store.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{TenantID: tenantID, URL: in.URL,
		Description: in.Description, EventTypes: in.EventTypes, ProjectIDs: in.ProjectIDs, Secret: secret, CreatedBy: by})
	if err != nil {
		return ep, "", fmt.Errorf("webhooks: create endpoint: %w", err)
	}
	return ep, secret, nil
}

// Update changes an endpoint; enabled nil leaves it as it is.
func (s *Service) Update(ctx context.Context, tenantID, id string, in Input, enabled *bool) (store.WebhookEndpoint, error) {
	if err := s.check(ctx, tenantID, &in); err != nil {
		return store.WebhookEndpoint{}, err
	}
	types := in.EventTypes
	if types == nil {
		types = []string{}
	}
	u := store.WebhookEndpointUpdate{URL: &in.URL, Description: &in.Description, EventTypes: types,
		ProjectIDs: &in.ProjectIDs, Enabled: enabled}
	return s.Store.UpdateWebhookEndpoint(ctx, tenantID, id, u)
}

// SetEnabled enables or disables an endpoint. Enabling clears an automatic
// disabling: its pending deliveries go again, in order.
func (s *Service) SetEnabled(ctx context.Context, tenantID, id string, on bool) (store.WebhookEndpoint, error) {
	return s.Store.UpdateWebhookEndpoint(ctx, tenantID, id, store.WebhookEndpointUpdate{Enabled: &on})
}

// Rotate gives the endpoint a new secret; the old one signs too until the
// returned time, so receivers can switch without losing a delivery.
func (s *Service) Rotate(ctx context.Context, tenantID, id string) (string, time.Time, error) {
	overlap := s.Overlap
	if overlap <= 0 {
		overlap = 24 * time.Hour
	}
	secret, until := NewSecret(), s.now().Add(overlap)
	if err := s.Store.RotateWebhookSecret(ctx, tenantID, id, secret, until); err != nil {
		return "", time.Time{}, fmt.Errorf("webhooks: rotate secret: %w", err)
	}
	return secret, until, nil
}

// TestData is the data of webhook.test.
type TestData struct {
	Message    string `json:"message"`
	EndpointID string `json:"endpoint_id"`
	SentBy     string `json:"sent_by"`
}

// SendTest queues a webhook.test event to this endpoint alone.
func (s *Service) SendTest(ctx context.Context, tenantID, id, by string) error {
	return s.Store.SendWebhookTest(ctx, tenantID, id, TestData{
		Message: "A test event from the broker: your endpoint receives and verifies webhooks.", EndpointID: id, SentBy: by})
}
