package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"
)

const (
	opMsg        = 2013
	headerLen    = 16
	maxMsgLen    = 48_000_000 + 64<<10 // MongoDB's maxMessageSizeBytes plus slack
	moreToCome   = 0x2                 // OP_MSG flagBits: no reply will follow
	pendingGrace = 30 * time.Second    // how long a vanished client's write may still run
)

// writeCommands write documents; the driver sends these names exactly.
var writeCommands = []string{"insert", "update", "delete", "findAndModify"}

// lockedCommands are serialized: the writes, and drops too (the driver always
// awaits their reply), so that no write adds the _id lookup index (idindex.go)
// to a table while it is being dropped.
var lockedCommands = commandSet(writeCommands, "drop", "dropDatabase")

func commandSet(names []string, more ...string) map[string]bool {
	set := map[string]bool{}
	for _, name := range append(append([]string{}, names...), more...) {
		set[name] = true
	}
	return set
}

type proxy struct {
	target string
	lock   bool
	log    *slog.Logger
	ids    *idIndexes // nil: no _id lookup indexes

	writeMu sync.Mutex // process-wide: held from a write request until its reply

	connsMu sync.Mutex
	conns   map[net.Conn]struct{}
	closed  bool // set by closeAll; later connections are closed at once
}

func newProxy(target string, lock bool, ids *idIndexes, log *slog.Logger) *proxy {
	return &proxy{target: target, lock: lock, ids: ids, log: log, conns: map[net.Conn]struct{}{}}
}

func (p *proxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			p.log.Warn("accept", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		go p.handle(c)
	}
}

// track registers (or, with add=false, forgets) a connection for closeAll.
func (p *proxy) track(c net.Conn, add bool) {
	p.connsMu.Lock()
	defer p.connsMu.Unlock()
	switch {
	case add && p.closed:
		_ = c.Close()
	case add:
		p.conns[c] = struct{}{}
	default:
		delete(p.conns, c)
	}
}

func (p *proxy) closeAll() {
	p.connsMu.Lock()
	defer p.connsMu.Unlock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
}

// connState records the write request, if any, whose reply this connection
// awaits while holding writeMu. At most one exists process-wide.
type connState struct {
	mu      sync.Mutex
	holding bool
	reqID   int32
	gone    bool // the client side has finished
}

func (p *proxy) handle(client net.Conn) {
	p.track(client, true)
	defer p.track(client, false)
	defer client.Close()

	server, err := net.Dial("tcp", p.target)
	if err != nil {
		p.log.Warn("dial FerretDB", "err", err)
		return
	}
	p.track(server, true)
	defer p.track(server, false)
	defer server.Close()

	st := &connState{}
	// Whatever happens, a lock this connection still holds is released once
	// both directions have stopped (deferred calls run after <-done below).
	defer p.release(st, 0, true)

	done := make(chan struct{})
	go func() {
		defer close(done)
		defer client.Close() // unblocks the client reader below
		p.serverToClient(server, client, st)
	}()

	p.clientToServer(client, server, st)

	st.mu.Lock()
	st.gone = true
	holding := st.holding
	st.mu.Unlock()
	if holding {
		// The client vanished mid-write. Let FerretDB finish that write (bounded)
		// so the lock still covers it, instead of releasing it early.
		_ = server.SetReadDeadline(time.Now().Add(pendingGrace))
	} else {
		_ = server.Close()
	}
	<-done
}

func (p *proxy) clientToServer(client, server net.Conn, st *connState) {
	r := bufio.NewReaderSize(client, 64<<10)
	var buf []byte
	for {
		var err error
		if buf, err = readMsg(r, buf); err != nil {
			return
		}
		reqID := int32(binary.LittleEndian.Uint32(buf[4:]))

		name, body, isCommand := command(buf)
		write := p.lock && isCommand && lockedCommands[name]
		if write {
			p.writeMu.Lock()
		}
		if isCommand && p.ids != nil {
			p.ids.observe(name, body)
		}
		if write {
			if buf[16]&moreToCome != 0 {
				// Unacknowledged write: no reply to wait for. Taking the lock
				// still orders it after any write in progress.
				p.writeMu.Unlock()
			} else {
				st.mu.Lock()
				st.holding, st.reqID = true, reqID
				st.mu.Unlock()
			}
		}
		// OP_COMPRESSED (2012) and legacy opcodes pass through unlocked: the
		// driver compresses only if the server advertises it, FerretDB doesn't.
		if _, err = server.Write(buf); err != nil {
			return
		}
	}
}

func (p *proxy) serverToClient(server, client net.Conn, st *connState) {
	r := bufio.NewReaderSize(server, 64<<10)
	var buf []byte
	clientOK := true
	for {
		var err error
		if buf, err = readMsg(r, buf); err != nil {
			return
		}
		if clientOK {
			if _, err = client.Write(buf); err != nil {
				clientOK = false
			}
		}
		// Only the reply to the write request itself releases the lock; other
		// replies (e.g. exhaust-cursor batches) answer other requests.
		responseTo := int32(binary.LittleEndian.Uint32(buf[8:]))
		gone, holding := p.release(st, responseTo, false)
		if (gone || !clientOK) && !holding {
			return // nobody to forward to and no write to wait for
		}
	}
}

// release unlocks writeMu if st holds it for request responseTo (or for any
// request with force). It reports whether the client side has finished and
// whether the lock is still held.
func (p *proxy) release(st *connState, responseTo int32, force bool) (gone, holding bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.holding && (force || st.reqID == responseTo) {
		st.holding = false
		p.writeMu.Unlock()
	}
	return st.gone, st.holding
}

// readMsg reads one whole wire message (header included) into buf, reusing it.
func readMsg(r *bufio.Reader, buf []byte) ([]byte, error) {
	var hdr [headerLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return buf, err
	}
	n := int(int32(binary.LittleEndian.Uint32(hdr[:])))
	if n < headerLen || n > maxMsgLen {
		return buf, errors.New("bad message length")
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	copy(buf, hdr[:])
	_, err := io.ReadFull(r, buf[headerLen:])
	return buf, err
}

// command returns the name (the first key) and the body (section kind 0) of an
// OP_MSG command. Any malformed message has none (and counts as a read): the
// server will reject it anyway. Only what is read is checked (bsoncore's reads
// are bounds-checked), not the whole body: this runs for every message.
func command(msg []byte) (string, bsoncore.Document, bool) {
	if binary.LittleEndian.Uint32(msg[12:]) != opMsg || len(msg) < headerLen+5 {
		return "", nil, false
	}
	s := msg[headerLen+4:] // skip flagBits; a trailing checksum is never reached
	for len(s) > 0 {
		kind := s[0]
		s = s[1:]
		if len(s) < 4 {
			return "", nil, false
		}
		size := int(int32(binary.LittleEndian.Uint32(s)))
		if size < 5 || size > len(s) {
			return "", nil, false
		}
		if kind == 0 {
			body := bsoncore.Document(s[:size])
			first, err := body.IndexErr(0)
			if err != nil {
				return "", nil, false
			}
			return first.Key(), body, true
		}
		s = s[size:] // kind 1: document sequence, skipped whole
	}
	return "", nil, false
}
