// Command broker is the Outlook connection broker: one binary whose
// subcommands serve, migrate and administer it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsageShown) {
			fmt.Fprintln(os.Stderr, "broker: "+err.Error())
		}
		os.Exit(1)
	}
}

// env is what run reads the environment through, so tests can pass a map.
type env func(string) string

// io bundles a command's streams.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

var errUsageShown = errors.New("usage shown")

// errHelpShown: the usage was asked for and shown; run answers nil.
var errHelpShown = errors.New("help shown")

const usage = `broker — the Outlook connection broker

Usage:
  broker serve [--no-migrate]
      run the HTTP server (migrates first)
  broker demo
      serve with the built-in demo (simulated Microsoft, demo tenant)
  broker migrate up|status
      apply or list schema migrations
  broker tenant create --slug S --name N
      add a tenant
  broker tenant connect-settings --tenant S [--display-name N] [--logo-url U] [--color #rrggbb]
                                 [--allow-return-origin O]... [--clear-return-origins]
      the connect page's look and allowed return_url origins (shown without flags)
  broker project create --tenant S --name N
      add a project (where connections are stored)
  broker project graph-policy --tenant S --project N [--allow "GET /v1.0/me/messages"]... [--clear]
      the project's Graph proxy allowlist (shown without flags)
  broker user create --tenant S --email E --role admin|member [--project NAME]...
      add a user; password from stdin, or generated and printed once
  broker operator create --email E
      add a platform operator (password as for user create)
  broker apikey create --tenant S --name N [--project NAME]... [--admin] [--rate R] [--burst B]
  broker apikey create --operator --name N
      create an API key (an operator key reads the admin JSON API across
      tenants); it is printed once
  broker keys generate
      print a fresh key ring entry
  broker keys rotate [--batch N]
      re-encrypt every stored secret under the primary key
  broker simulate-microsoft [--addr A]
      run the simulated Microsoft identity platform and Graph
  broker dev seed --connections N [--tenants T] [--projects P]
      fill a development database with N made-up connections (COPY)

Every command takes --help for its flags.
Configuration comes from BROKER_* environment variables; see README.md.
`

func run(ctx context.Context, args []string, getenv env, stdin io.Reader, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, getenv, streams{in: stdin, out: stdout, err: stderr})
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

func dispatch(ctx context.Context, args []string, getenv env, s streams) error {
	stdout, stderr := s.out, s.err
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsageShown
	}
	cmd, rest := args[0], args[1:]
	sub := ""
	if len(rest) > 0 {
		sub = rest[0]
	}
	switch {
	case cmd == "help" || cmd == "-h" || cmd == "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case cmd == "serve":
		return cmdServe(ctx, rest, getenv, s)
	case cmd == "demo":
		return cmdDemo(ctx, rest, getenv, s)
	case cmd == "migrate" && (sub == "up" || sub == "status"):
		return cmdMigrate(ctx, sub, getenv, s)
	case cmd == "tenant" && sub == "create":
		return cmdTenantCreate(ctx, rest[1:], getenv, s)
	case cmd == "tenant" && sub == "connect-settings":
		return cmdConnectSettings(ctx, rest[1:], getenv, s)
	case cmd == "project" && sub == "create":
		return cmdProjectCreate(ctx, rest[1:], getenv, s)
	case cmd == "project" && sub == "graph-policy":
		return cmdGraphPolicy(ctx, rest[1:], getenv, s)
	case cmd == "user" && sub == "create":
		return cmdUserCreate(ctx, rest[1:], getenv, s)
	case cmd == "operator" && sub == "create":
		return cmdOperatorCreate(ctx, rest[1:], getenv, s)
	case cmd == "apikey" && sub == "create":
		return cmdAPIKeyCreate(ctx, rest[1:], getenv, s)
	case cmd == "keys" && sub == "generate":
		return cmdKeysGenerate(s)
	case cmd == "keys" && sub == "rotate":
		return cmdKeysRotate(ctx, rest[1:], getenv, s)
	case cmd == "dev" && sub == "seed":
		return cmdDevSeed(ctx, rest[1:], getenv, s)
	case cmd == "simulate-microsoft":
		return cmdSimulate(ctx, rest, getenv, s)
	}
	if sub != "" && (cmd == "migrate" || cmd == "tenant" || cmd == "project" || cmd == "user" || cmd == "operator" || cmd == "keys" || cmd == "apikey" || cmd == "dev") {
		return fmt.Errorf("unknown subcommand %q %q; run `broker help`", cmd, sub)
	}
	return fmt.Errorf("unknown command %q; run `broker help`", cmd)
}
