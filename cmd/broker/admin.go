package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/config"
	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
)

// openStore loads configuration and opens the store for an admin command.
func openStore(ctx context.Context, getenv env) (*store.Store, *config.Config, error) {
	cfg, err := config.Load(config.Getenv(getenv), config.Need{Keys: true})
	if err != nil {
		return nil, nil, err
	}
	openCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := store.Open(openCtx, cfg.DatabaseURL, cfg.EncryptionKeys, store.Options{MaxConns: 4, SystemURL: cfg.SystemDatabaseURL})
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || errors.Is(err, context.DeadlineExceeded) {
		return nil, nil, fmt.Errorf("database does not answer at BROKER_DATABASE_URL: %s", pgReason(err))
	}
	if err != nil {
		return nil, nil, err
	}
	return st, cfg, nil
}

// pgReason gives a one-line reason without the URL (it may hold a password).
func pgReason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

func newFlags(name string, s streams) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: broker %s [flags]\n\nFlags:\n", name)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses a subcommand's flags. Asked for with -h or --help, the
// usage goes to stdout and the command ends successfully (errHelpShown,
// which run turns into nil); a mistake prints it to stderr and fails.
func parseFlags(fs *flag.FlagSet, args []string, s streams) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(s.out)
		}
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return errHelpShown
	case err != nil:
		return errUsageShown
	}
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func required(pairs ...string) error {
	var missing []string
	for i := 0; i < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			missing = append(missing, "--"+pairs[i])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// tenantAndProjects resolves a tenant slug and project names, as given on
// the command line, to their rows.
func tenantAndProjects(ctx context.Context, st *store.Store, slug string, names []string) (store.Tenant, []store.Project, error) {
	t, err := st.TenantBySlug(ctx, slug)
	if err != nil {
		return t, nil, friendly(fmt.Sprintf("tenant %q", slug), err)
	}
	var projects []store.Project
	for _, name := range names {
		p, err := st.ProjectByName(ctx, t.ID, name)
		if err != nil {
			return t, nil, friendly(fmt.Sprintf("project %q in %s", name, slug), err)
		}
		projects = append(projects, p)
	}
	return t, projects, nil
}

func friendly(what string, err error) error {
	switch {
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("%s already exists", what)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s not found", what)
	}
	return err
}

func cmdTenantCreate(ctx context.Context, args []string, getenv env, s streams) error {
	fs := newFlags("tenant create", s)
	slug := fs.String("slug", "", "short lowercase name, e.g. acme")
	name := fs.String("name", "", "display name")
	if err := parseFlags(fs, args, s); err != nil {
		return err
	}
	if err := required("slug", *slug, "name", *name); err != nil {
		return err
	}
	if !validSlug(*slug) {
		return fmt.Errorf("--slug must be 1-63 lowercase letters, digits or dashes, starting with a letter or digit")
	}
	st, _, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := st.CreateTenant(ctx, *slug, strings.TrimSpace(*name))
	if err != nil {
		return friendly(fmt.Sprintf("tenant %q", *slug), err)
	}
	fmt.Fprintf(s.out, "tenant %s created (id %s)\n", t.Slug, t.ID)
	return nil
}

func validSlug(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func cmdProjectCreate(ctx context.Context, args []string, getenv env, s streams) error {
	fs := newFlags("project create", s)
	tenant := fs.String("tenant", "", "tenant slug")
	name := fs.String("name", "", "project name")
	if err := parseFlags(fs, args, s); err != nil {
		return err
	}
	if err := required("tenant", *tenant, "name", *name); err != nil {
		return err
	}
	st, _, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	t, _, err := tenantAndProjects(ctx, st, *tenant, nil)
	if err != nil {
		return err
	}
	p, err := st.CreateProject(ctx, t.ID, strings.TrimSpace(*name))
	if err != nil {
		return friendly(fmt.Sprintf("project %q in %s", *name, *tenant), err)
	}
	fmt.Fprintf(s.out, "project %s created in %s (id %s)\n", p.Name, t.Slug, p.ID)
	return nil
}

func cmdUserCreate(ctx context.Context, args []string, getenv env, s streams) error {
	fs := newFlags("user create", s)
	tenant := fs.String("tenant", "", "tenant slug")
	email := fs.String("email", "", "sign-in email")
	role := fs.String("role", "", "admin or member")
	var projects multiFlag
	fs.Var(&projects, "project", "project a member may use (repeatable)")
	if err := parseFlags(fs, args, s); err != nil {
		return err
	}
	if err := required("tenant", *tenant, "email", *email, "role", *role); err != nil {
		return err
	}
	if *role != store.RoleAdmin && *role != store.RoleMember {
		return fmt.Errorf("--role must be admin or member")
	}
	if !strings.Contains(*email, "@") {
		return fmt.Errorf("--email must be an email address")
	}
	password, generated, err := readPassword(s.in)
	if err != nil {
		return err
	}
	st, _, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	t, ps, err := tenantAndProjects(ctx, st, *tenant, projects)
	if err != nil {
		return err
	}
	var projectIDs []string
	for _, p := range ps {
		projectIDs = append(projectIDs, p.ID)
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	u, err := st.CreateUser(ctx, t.ID, strings.TrimSpace(*email), hash, *role, projectIDs)
	if err != nil {
		return friendly(fmt.Sprintf("user %q", *email), err)
	}
	fmt.Fprintf(s.out, "user %s created in %s as %s (id %s)\n", u.Email, t.Slug, u.Role, u.ID)
	if generated {
		fmt.Fprintf(s.out, "password (shown once): %s\n", password)
	}
	return nil
}

func cmdOperatorCreate(ctx context.Context, args []string, getenv env, s streams) error {
	fs := newFlags("operator create", s)
	email := fs.String("email", "", "sign-in email")
	if err := parseFlags(fs, args, s); err != nil {
		return err
	}
	if err := required("email", *email); err != nil {
		return err
	}
	password, generated, err := readPassword(s.in)
	if err != nil {
		return err
	}
	st, _, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	o, err := st.CreateOperator(ctx, strings.TrimSpace(*email), hash)
	if err != nil {
		return friendly(fmt.Sprintf("account %q", *email), err)
	}
	fmt.Fprintf(s.out, "operator %s created (id %s)\n", o.Email, o.ID)
	if generated {
		fmt.Fprintf(s.out, "password (shown once): %s\n", password)
	}
	return nil
}

// readPassword reads one line from stdin when stdin is not a terminal; with
// nothing piped in it generates a password. An empty piped line is an error.
func readPassword(in io.Reader) (password string, generated bool, err error) {
	if in == nil || isTerminal(in) {
		p := auth.GeneratePassword()
		return p, true, nil
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", false, fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if err == io.EOF && line == "" {
		return "", false, fmt.Errorf("the password on stdin is empty; pipe a password, or run without stdin to generate one")
	}
	if line == "" {
		return "", false, fmt.Errorf("the password on stdin is empty")
	}
	if len(line) < 12 {
		return "", false, fmt.Errorf("the password on stdin is shorter than 12 characters")
	}
	return line, false, nil
}

func cmdKeysGenerate(s streams) error {
	fmt.Fprintln(s.out, secrets.GenerateEntry(time.Now()))
	return nil
}

func cmdKeysRotate(ctx context.Context, args []string, getenv env, s streams) error {
	fs := newFlags("keys rotate", s)
	batch := fs.Int("batch", 500, "ciphertexts per transaction")
	if err := parseFlags(fs, args, s); err != nil {
		return err
	}
	if *batch < 1 || *batch > 10000 {
		return fmt.Errorf("--batch must be between 1 and 10000")
	}
	st, cfg, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	total := 0
	for {
		n, err := st.RotateBatch(ctx, *batch)
		total += n
		if err != nil {
			return fmt.Errorf("after re-encrypting %d secrets: %w (run again to resume)", total, err)
		}
		if n == 0 {
			break
		}
		fmt.Fprintf(s.out, "re-encrypted %d secrets so far\n", total)
	}
	left, err := st.CountNotUnderPrimary(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "done: %d secrets re-encrypted under %s; %d still under older keys (locked by a refresh: run again)\n",
		total, cfg.EncryptionKeys.PrimaryID(), left)
	return nil
}
