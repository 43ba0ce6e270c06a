// Command ferretdb-test runs an embedded FerretDB v1.24.2 (SQLite backend) for the MCP-ZERO tests.
//
// It uses the embeddable package github.com/FerretDB/FerretDB/ferretdb rather than cmd/ferretdb:
// the module zip lacks build/version/version.txt, which makes cmd/ferretdb panic at start-up
// (FerretDB issue #2982), while the embeddable package does not read it.
//
//	ferretdb-test --listen 127.0.0.1:0 --dir /existing/dir [--log-level warn] [--exit-on-stdin-close]
//
// Once the TCP listener is bound it prints "ready <host:port>" on stdout (with port 0, the port the
// kernel chose). SIGTERM or SIGINT stops it cleanly (exit status 0). With --exit-on-stdin-close it
// also stops when its stdin reaches end of file, so a parent that holds the write end of a pipe
// cannot leak the server even if it dies by SIGKILL.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on (port 0: any free port)")
	dir := flag.String("dir", "", "existing directory for the SQLite databases (required)")
	logLevel := flag.String("log-level", "warn", "FerretDB log level on stderr: debug, info, warn or error")
	exitOnStdinClose := flag.Bool("exit-on-stdin-close", false, "stop when stdin reaches end of file (parent died)")
	flag.Parse()

	if err := run(*listen, *dir, *logLevel, *exitOnStdinClose); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb-test:", err)
		os.Exit(1)
	}
}

func run(listen, dir, logLevel string, exitOnStdinClose bool) error {
	if dir == "" {
		return fmt.Errorf("--dir is required")
	}

	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}

	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return fmt.Errorf("--dir %q must be an existing directory", dir)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// The SQLite URL names a directory (one database file per MongoDB database) and must end in "/".
	u := &url.URL{Scheme: "file", Opaque: strings.TrimSuffix(abs, "/") + "/"}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: u.String(),
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if exitOnStdinClose {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	// New has already bound the listener, so MongoDBURI does not block here.
	mu, err := url.Parse(f.MongoDBURI())
	if err != nil {
		return err
	}

	fmt.Printf("ready %s\n", mu.Host)

	return f.Run(ctx)
}
