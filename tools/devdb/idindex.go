package main

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"
	_ "modernc.org/sqlite" // the SQLite driver FerretDB itself uses (already linked in)
)

// idIndexes gives every collection table an index that FerretDB's own `_id`
// lookups can use.
//
// FerretDB v1.24.2 (SQLite backend) indexes `_id` on the expression
// `_ferretdb_sjson->"_id"`, but looks documents up with
// `_ferretdb_sjson->'$._id' = ?` (its pushed-down `{ _id: <value> }` reads, and
// every update and delete, which rewrite documents by `_id`). SQLite uses an
// expression index only for the very same expression, so each of those was a
// scan of the whole table: at 10,000 users about 50 ms for a point read and
// 50-100 ms for every write to an existing document, where MongoDB does one
// index lookup. (FerretDB#4646 is the same mismatch on its PostgreSQL backend.)
// This adds, once per table, a plain index on the expression the queries use.
// Nothing depends on it but speed: FerretDB does not know of it (listIndexes
// is unchanged) and keeps enforcing `_id` uniqueness with its own index.
type idIndexes struct {
	dir string
	log *slog.Logger

	mu     sync.Mutex
	done   map[string]bool // "db\x00collection" → the index is made
	warned map[string]bool // the same keys: a failure was logged once
}

// validDBName is FerretDB's own rule for database names (internal/backends/validation.go):
// anything else is refused by FerretDB, and never names a file here.
var validDBName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,63}$`)

func newIDIndexes(dir string, log *slog.Logger) *idIndexes {
	return &idIndexes{dir: dir, log: log, done: map[string]bool{}, warned: map[string]bool{}}
}

// observe is told of every command (its name and OP_MSG body) before it is
// forwarded. With the write lock on (the default), the proxy holds it here for
// write commands and drops, so the index is made with no write of FerretDB's in
// progress; should one be (a writer outside the lock), SQLite's busy timeout waits for it.
func (x *idIndexes) observe(name string, body bsoncore.Document) {
	if !observed[name] {
		return // reads and the rest: not even their database is read
	}
	target, db, ok := targetOf(body)
	if !ok {
		return
	}
	switch name {
	case "drop":
		x.forget(db, target)
	case "dropDatabase":
		x.forget(db, "")
	case "renameCollection":
		// Sent to admin, naming "db.collection": a new collection under the old name
		// gets a new table, which needs the index again.
		if from, _, found := strings.Cut(target, "."); found {
			x.forget(from, "")
		}
	default: // a write
		x.ensure(db, target)
	}
}

// observed are the commands observe acts on: the writes and what ends a table.
var observed = commandSet(writeCommands, "drop", "dropDatabase", "renameCollection")

// targetOf reads what a command names (its first value, when a string) and its database.
func targetOf(body bsoncore.Document) (target, db string, ok bool) {
	first, err := body.IndexErr(0)
	if err != nil {
		return "", "", false
	}
	target, _ = first.Value().StringValueOK()
	db, ok = body.Lookup("$db").StringValueOK()
	return target, db, ok && db != ""
}

func (x *idIndexes) ensure(db, collection string) {
	if collection == "" {
		return
	}
	key := db + "\x00" + collection
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.done[key] {
		return
	}
	made, err := x.create(db, collection)
	if err != nil {
		// Only speed is at stake: say so once, and try again at the next write.
		if !x.warned[key] {
			x.warned[key] = true
			x.log.Warn("could not add the _id lookup index", "db", db, "collection", collection, "err", err)
		}
		return
	}
	if made {
		x.done[key] = true
	}
}

// forget drops what is known of a collection (or, with collection "", of a
// whole database): once dropped, a table of the same name starts without the index.
func (x *idIndexes) forget(db, collection string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if collection != "" {
		delete(x.done, db+"\x00"+collection)
		return
	}
	for key := range x.done {
		if strings.HasPrefix(key, db+"\x00") {
			delete(x.done, key)
		}
	}
}

// create adds the index to the collection's table; false when the database or
// the collection has no table yet (its first insert creates it: the next write makes the index).
func (x *idIndexes) create(db, collection string) (bool, error) {
	if !validDBName.MatchString(db) {
		return false, nil // FerretDB refuses the command; no file of its is named so
	}
	// FerretDB names each database's file after it; never create one here (mode=rw).
	path := filepath.Join(x.dir, db+".sqlite")
	if _, err := os.Stat(path); err != nil {
		return false, nil // not created yet (its first insert creates it)
	}
	// FerretDB's own settings: wait for a busy database instead of failing, WAL journal.
	uri := url.URL{
		Scheme:   "file",
		Opaque:   path,
		RawQuery: url.Values{"mode": {"rw"}, "_pragma": {"busy_timeout(10000)", "journal_mode(wal)"}}.Encode(),
	}
	conn, err := sql.Open("sqlite", uri.String())
	if err != nil {
		return false, err
	}
	conn.SetMaxOpenConns(1)
	// Opened for this one call: a dropped database's file is deleted, and a handle kept
	// open would go on writing to the deleted one.
	defer conn.Close()

	var table string
	err = conn.QueryRow(`SELECT table_name FROM _ferretdb_collections WHERE name = ?`, collection).Scan(&table)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// %q quotes as FerretDB quotes its own table and index names (registry.go): names
	// of its making, letters, digits and underscores.
	_, err = conn.Exec(fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, table+"__devdb_id_lookup", table))
	return err == nil, err
}
