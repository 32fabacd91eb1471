// Command devdb runs an embedded FerretDB v1 (SQLite backend) behind a small
// write-serializing TCP proxy. It is the MongoDB-wire-protocol database for
// tests, CI and local development; production uses a real MongoDB.
//
// Usage:
//
//	devdb -data DIR [-listen 127.0.0.1:0] [-log-level warn] [-watch-stdin] [-no-write-lock] [-no-id-index]
//
// Flags:
//
//	-data DIR        directory for the SQLite files; created (0700) if missing. Required.
//	-listen ADDR     public address for clients; port 0 picks a free port (default 127.0.0.1:0).
//	-log-level LVL   debug, info, warn or error (default warn). Logs go to stderr only.
//	-watch-stdin     exit when stdin reaches EOF. Spawn with stdin as a pipe that the parent
//	                 keeps open; do NOT use with stdin = /dev/null (immediate EOF).
//	-no-write-lock   disable write serialization. Only for the test that proves the race exists.
//	-no-id-index     do not add the _id lookup index (idindex.go). Only for the test that proves the scan.
//
// Stdout contract: once both listeners are ready, exactly one line is written to
// stdout, the public URI (for example "mongodb://127.0.0.1:40123/"). Nothing else
// is ever written to stdout.
//
// Lifetime: exits 0 on SIGTERM/SIGINT, on parent death (PR_SET_PDEATHSIG on Linux)
// and, with -watch-stdin, on stdin EOF.
//
// One launcher per data folder: an flock on DIR/devdb.lock, held for the process's
// lifetime (the kernel drops it when the process ends, however). A second launcher
// on the same folder writes one line naming the folder and the PID holding it to
// stderr and exits 3.
//
// Why the proxy: FerretDB v1 applies updates as read-modify-write without any
// isolation, so concurrent findAndModify/update calls on one document lose
// updates (FerretDB issue #3040). The proxy holds one process-wide lock from a
// write command's request until its reply, restoring MongoDB's per-document
// atomicity for the service's tests. Reads are forwarded without locking.
//
// Why the extra index: FerretDB v1's SQLite backend never uses its own `_id`
// index (it indexes one expression and queries another), so every point read
// and every write to an existing document scanned the whole table; the proxy
// adds the index its queries can use (idindex.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// exitDataDirInUse is the exit status when another launcher holds the data folder.
const exitDataDirInUse = 3

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devdb:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "public `address` for clients (port 0 = pick a free port)")
	dataDir := flag.String("data", "", "`directory` for SQLite files, created if missing (required)")
	logLevel := flag.String("log-level", "warn", "log `level` on stderr: debug, info, warn, error")
	watchStdin := flag.Bool("watch-stdin", false, "exit on stdin EOF (stdin must be a pipe held open by the parent, not /dev/null)")
	noWriteLock := flag.Bool("no-write-lock", false, "do NOT serialize writes (only to demonstrate FerretDB's write race in a test)")
	noIDIndex := flag.Bool("no-id-index", false, "do NOT add the _id lookup index (only to demonstrate FerretDB's scans in a test)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: %s -data DIR [flags]\n\n"+
			"Runs embedded FerretDB (SQLite) behind a write-serializing proxy and prints\n"+
			"exactly one line to stdout: the public mongodb:// URI.\n\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()

	if *dataDir == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	// Our own handler matters: FerretDB's default logger stops the whole
	// listener after a DPanic in one connection; a plain handler drops only that connection.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	if err = os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// One launcher per data folder, before anything opens the SQLite files.
	lock, err := lockDataDir(dir)
	if errors.Is(err, errDataDirInUse) {
		fmt.Fprintf(os.Stderr, "devdb: the data folder %s is in use, %s: stop that one, or give this one another folder (DEVDB_DATA_DIR)\n",
			dir, strings.TrimPrefix(err.Error(), errDataDirInUse.Error()+": "))
		os.Exit(exitDataDirInUse)
	}
	if err != nil {
		return err
	}
	defer func() { _ = lock.Close() }()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if *watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin) // returns on EOF or error
			stop()
		}()
	}

	// No telemetry field exists in v1.24.2's Config: the embedded package
	// disables and locks telemetry itself and keeps its state in memory only
	// (no state file), so nothing is written outside dir and nothing is contacted.
	fdb, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		return err
	}

	// New already bound the internal listener, so MongoDBURI reports the real
	// port (no pick-a-port-then-close race).
	internal, err := internalAddr(fdb.MongoDBURI())
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}

	fdbDone := make(chan struct{})
	go func() {
		defer close(fdbDone)
		_ = fdb.Run(ctx)
	}()

	var ids *idIndexes
	if !*noIDIndex {
		ids = newIDIndexes(dir, logger)
	}
	p := newProxy(internal, !*noWriteLock, ids, logger)
	go p.serve(ln)

	// The only stdout output: the parent reads this first line to learn the port.
	if _, err = fmt.Fprintf(os.Stdout, "mongodb://%s/\n", ln.Addr()); err != nil {
		return err
	}

	select {
	case <-ctx.Done():
	case <-fdbDone: // not expected before cancellation, but never linger without a server
	}
	logger.Info("shutting down")

	// Closing our connections first ends FerretDB's side of them, so Run
	// returns at once instead of waiting its 3 s grace for connected clients.
	_ = ln.Close()
	p.closeAll()
	<-fdbDone

	return nil
}

// internalAddr extracts host:port from FerretDB's "mongodb://host:port/".
func internalAddr(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("unexpected FerretDB URI %q", uri)
	}
	return u.Host, nil
}
