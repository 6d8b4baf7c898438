// Package index keeps a trace in a SQLite database (modernc.org/sqlite, pure
// Go) so that the viewer can page, filter, sort and search it without holding
// it in memory: one row per flow with the columns of the session grid, the
// whole flow stored compressed beside it, and an FTS5 full-text index over
// URLs, headers and text bodies.
//
// An index is built once per trace file, in the user cache directory under
// the SHA-256 of the file's content (see CachePath), so opening the same
// file again reads the finished database instead of the trace. A build
// writes to a temporary file and renames it when complete: an interrupted
// build leaves no half index behind.
//
// The package imports only trace. An Index is safe for concurrent use.
package index

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/klauspost/compress/s2"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/idtrace/idtrace/internal/trace"
)

// SchemaVersion changes whenever the database layout changes; it is part of
// the cache file name, so an old index is never read by a newer idtrace.
const SchemaVersion = 3

// maxFTSBody is how much of each text body goes into the full-text index.
const maxFTSBody = 64 << 10

const schema = `
CREATE TABLE meta(k TEXT PRIMARY KEY, v BLOB);
CREATE TABLE flows(
	id INTEGER PRIMARY KEY,
	session INTEGER NOT NULL,
	method TEXT NOT NULL,
	scheme TEXT NOT NULL,
	host TEXT NOT NULL,
	url TEXT NOT NULL,
	status INTEGER NOT NULL,
	has_resp INTEGER NOT NULL,
	error TEXT NOT NULL,
	started INTEGER NOT NULL,
	dur REAL NOT NULL,
	req_bytes INTEGER NOT NULL,
	resp_bytes INTEGER NOT NULL,
	mime TEXT NOT NULL,
	proto TEXT NOT NULL,
	process TEXT NOT NULL,
	comment TEXT NOT NULL,
	signin INTEGER NOT NULL DEFAULT 0,
	data BLOB NOT NULL
);
CREATE VIRTUAL TABLE fts USING fts5(url, headers, body, content='', columnsize=0, tokenize='unicode61');
`

// Index is an open trace index.
type Index struct {
	db   *sql.DB
	path string

	mu    sync.Mutex // serialises writers (Add, SetBlob, MarkSignIns)
	ins   *sql.Stmt
	insFT *sql.Stmt
	tx    *sql.Tx
	count int
	meta  trace.Meta
}

// Row is one line of the session grid.
type Row struct {
	ID       int     `json:"id"`
	Session  int     `json:"session,omitempty"`
	Method   string  `json:"method"`
	Scheme   string  `json:"scheme"`
	Host     string  `json:"host"`
	URL      string  `json:"url"`
	Status   int     `json:"status"`
	HasResp  bool    `json:"has_response"`
	Error    string  `json:"error,omitempty"`
	Started  int64   `json:"started_ms"`
	Duration float64 `json:"duration_ms"`
	ReqBytes int64   `json:"request_bytes"`
	Bytes    int64   `json:"response_bytes"`
	Mime     string  `json:"mime"`
	Proto    string  `json:"protocol"`
	Process  string  `json:"process,omitempty"`
	Comment  string  `json:"comment,omitempty"`
	// SignIn is the sign-in the flow belongs to (0 if none), set with MarkSignIns.
	SignIn int `json:"signin,omitempty"`
}

// CacheDir is where indexes live: <user cache dir>/idtrace/index.
func CacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "idtrace", "index"), nil
}

// HashFile returns the hex SHA-256 of the file's content.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CachePath is the index file for a trace whose content hashes to sum.
func CachePath(dir, sum string) string {
	return filepath.Join(dir, fmt.Sprintf("%s.v%d.db", sum, SchemaVersion))
}

func openDB(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	return db, nil
}

// Create starts a new, empty index at path (replacing any file there) to be
// filled with Add. It is what live capture uses; Build uses it for files.
func Create(path string) (*Index, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	_ = os.Remove(path)
	db, err := openDB(path)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one connection: the bulk transaction and the readers share it
	for _, p := range []string{"PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF", "PRAGMA page_size=8192", "PRAGMA cache_size=-16000"} {
		if _, err := db.Exec(p); err != nil {
			db.Close()
			return nil, fmt.Errorf("index: %s: %w", p, err)
		}
	}
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("index: schema: %w", err)
	}
	x := &Index{db: db, path: path}
	if err := x.begin(); err != nil {
		db.Close()
		return nil, err
	}
	return x, nil
}

func (x *Index) begin() error {
	tx, err := x.db.Begin()
	if err != nil {
		return err
	}
	ins, err := tx.Prepare(`INSERT INTO flows(id,session,method,scheme,host,url,status,has_resp,error,started,dur,req_bytes,resp_bytes,mime,proto,process,comment,data)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		tx.Rollback()
		return err
	}
	insFT, err := tx.Prepare(`INSERT INTO fts(rowid,url,headers,body) VALUES(?,?,?,?)`)
	if err != nil {
		tx.Rollback()
		return err
	}
	x.tx, x.ins, x.insFT = tx, ins, insFT
	return nil
}

// prepared is a flow turned into what the database stores.
type prepared struct {
	row        Row
	data       []byte
	url        string
	hdrs, body string
}

func prepare(f *trace.Flow) (prepared, error) {
	p := prepared{row: RowOf(f), url: f.Request.URL}
	var err error
	if p.data, err = encodeFlow(f); err != nil {
		return p, fmt.Errorf("index: flow %d: %w", f.ID, err)
	}
	p.hdrs, p.body = ftsText(f)
	return p, nil
}

// Add appends one flow. Flows become visible to queries at the next Flush
// (Build flushes at the end). The caller may reuse f afterwards.
func (x *Index) Add(f *trace.Flow) error {
	p, err := prepare(f)
	if err != nil {
		return err
	}
	return x.add(p)
}

func (x *Index) add(p prepared) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.tx == nil {
		if err := x.begin(); err != nil {
			return err
		}
	}
	r := p.row
	if _, err := x.ins.Exec(r.ID, r.Session, r.Method, r.Scheme, r.Host, r.URL, r.Status, r.HasResp, r.Error, r.Started,
		r.Duration, r.ReqBytes, r.Bytes, r.Mime, r.Proto, r.Process, r.Comment, p.data); err != nil {
		return fmt.Errorf("index: flow %d: %w", r.ID, err)
	}
	if _, err := x.insFT.Exec(r.ID, p.url, p.hdrs, p.body); err != nil {
		return fmt.Errorf("index: flow %d: full text: %w", r.ID, err)
	}
	x.count++
	return nil
}

// Flush commits the flows added so far.
func (x *Index) Flush() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.flushLocked()
}

func (x *Index) flushLocked() error {
	if x.tx == nil {
		return nil
	}
	x.ins.Close()
	x.insFT.Close()
	err := x.tx.Commit()
	x.tx, x.ins, x.insFT = nil, nil, nil
	return err
}

// Build indexes every flow of src into a new database at path and returns
// it open. each, when not nil, sees every flow as it is indexed (the viewer
// analyses the trace in the same pass). The database is written beside path
// and renamed into place only once complete; ctx cancels the build.
func Build(ctx context.Context, path string, src trace.Source, each func(*trace.Flow)) (*Index, error) {
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	x, err := Create(tmp)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Index, error) {
		x.Close()
		os.Remove(tmp)
		return nil, err
	}
	// Three stages on three goroutines, so they overlap on several cores:
	// one reads the source and runs each (in order: the analysis needs
	// it); one encodes the flows and extracts their text; this one writes
	// SQLite. A flow is handed on only after each has seen it, and the
	// reader allocates a new flow for every entry, so no two stages touch
	// the same flow at once.
	type item struct {
		p   prepared
		err error
	}
	type read struct {
		f   *trace.Flow
		err error
	}
	rch := make(chan read, 64)
	ch := make(chan item, 64)
	stop := make(chan struct{})
	go func() {
		defer close(rch)
		n := 0
		for f, err := range src.Flows() {
			r := read{f: f, err: err}
			if err == nil {
				if n++; n%1024 == 0 && ctx.Err() != nil {
					r.err = ctx.Err()
				} else {
					if f.Request == nil {
						f.Request = &trace.Request{}
					}
					if each != nil {
						each(f)
					}
				}
			}
			select {
			case rch <- r:
			case <-stop:
				return
			}
			if r.err != nil {
				return
			}
		}
	}()
	go func() {
		defer close(ch)
		for r := range rch {
			it := item{err: r.err}
			if it.err == nil {
				it.p, it.err = prepare(r.f)
			}
			select {
			case ch <- it:
			case <-stop:
				for range rch {
				}
				return
			}
			if it.err != nil {
				for range rch {
				}
				return
			}
		}
	}()
	drain := func() {
		close(stop)
		for range ch {
		}
	}
	for it := range ch {
		if it.err != nil {
			drain()
			return fail(it.err)
		}
		if err := x.add(it.p); err != nil {
			drain()
			return fail(err)
		}
	}
	if err := x.SetMeta(src.Meta()); err != nil {
		return fail(err)
	}
	if err := x.Flush(); err != nil {
		return fail(err)
	}
	if _, err := x.db.Exec(`CREATE INDEX flows_host ON flows(host); CREATE INDEX flows_status ON flows(status)`); err != nil {
		return fail(fmt.Errorf("index: %w", err))
	}
	if err := x.db.Close(); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return Open(path)
}

// Open opens a finished index read-write (blobs and sign-in marks may still be added).
func Open(path string) (*Index, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	db, err := openDB(path)
	if err != nil {
		return nil, err
	}
	x := &Index{db: db, path: path}
	if err := db.QueryRow(`SELECT count(*) FROM flows`).Scan(&x.count); err != nil {
		db.Close()
		return nil, fmt.Errorf("index %s: %w", filepath.Base(path), err)
	}
	if b, err := x.Blob("meta"); err == nil && b != nil {
		if err := json.Unmarshal(b, &x.meta); err != nil {
			db.Close()
			return nil, fmt.Errorf("index %s: meta: %w", filepath.Base(path), err)
		}
	}
	return x, nil
}

// Path is the database file.
func (x *Index) Path() string { return x.path }

// Close closes the database, committing pending flows.
func (x *Index) Close() error {
	x.mu.Lock()
	err := x.flushLocked()
	x.mu.Unlock()
	if cerr := x.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// Len is the number of flows added.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.count
}

// Meta is the trace's metadata as stored by SetMeta.
func (x *Index) Meta() trace.Meta {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.meta
}

// SetMeta stores the trace's metadata.
func (x *Index) SetMeta(m *trace.Meta) error {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	x.mu.Lock()
	x.meta = *m
	x.mu.Unlock()
	return x.SetBlob("meta", b)
}

// SetBlob stores a named value beside the flows (the viewer keeps the
// analysis report there, so a second open need not analyse again).
func (x *Index) SetBlob(name string, v []byte) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var err error
	if x.tx != nil {
		_, err = x.tx.Exec(`INSERT OR REPLACE INTO meta(k,v) VALUES(?,?)`, name, v)
	} else {
		_, err = x.db.Exec(`INSERT OR REPLACE INTO meta(k,v) VALUES(?,?)`, name, v)
	}
	return err
}

// Blob returns a value stored with SetBlob, or nil if there is none.
func (x *Index) Blob(name string) ([]byte, error) {
	var v []byte
	err := x.db.QueryRow(`SELECT v FROM meta WHERE k=?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, err
}

// MarkSignIns records which sign-in each flow belongs to (flow ID -> sign-in
// ID), for the "sign-in traffic" filter and the grid.
func (x *Index) MarkSignIns(m map[int]int) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.flushLocked(); err != nil {
		return err
	}
	tx, err := x.db.Begin()
	if err != nil {
		return err
	}
	if _, err := tx.Exec(`UPDATE flows SET signin=0`); err != nil {
		tx.Rollback()
		return err
	}
	st, err := tx.Prepare(`UPDATE flows SET signin=? WHERE id=?`)
	if err != nil {
		tx.Rollback()
		return err
	}
	for id, s := range m {
		if _, err := st.Exec(s, id); err != nil {
			st.Close()
			tx.Rollback()
			return err
		}
	}
	st.Close()
	return tx.Commit()
}

// RowOf computes the grid columns of a flow.
func RowOf(f *trace.Flow) Row {
	q := f.Request
	if q == nil {
		q = &trace.Request{}
	}
	r := Row{ID: f.ID, Session: f.Session, Method: q.Method, Host: strings.ToLower(q.Host()), URL: q.URL,
		Error: f.Error, Duration: flowDuration(f), ReqBytes: int64(len(q.Body)), Proto: q.Proto,
		Process: f.Process, Comment: f.Comment}
	if f.Comment == "" {
		r.Comment = f.Flag("ui-comments")
	}
	if i := strings.Index(q.URL, "://"); i > 0 {
		r.Scheme = strings.ToUpper(q.URL[:i])
	} else if q.Method == "CONNECT" {
		r.Scheme = "HTTP"
	}
	if !f.Started.IsZero() {
		r.Started = f.Started.UnixMilli()
	}
	if s := f.Response; s != nil {
		r.HasResp, r.Status, r.Mime = true, s.Status, mimeOf(s)
		r.Bytes = int64(len(s.Body))
		if r.Bytes == 0 && s.BodyOmitted && s.Size > 0 {
			r.Bytes = s.Size
		}
		if r.Proto == "" {
			r.Proto = s.Proto
		}
	}
	return r
}

func flowDuration(f *trace.Flow) float64 {
	if f.Time >= 0 {
		return f.Time
	}
	return f.Timings.Total()
}

func mimeOf(r *trace.Response) string {
	ct := r.MimeType
	if ct == "" {
		ct = r.Headers.Get("Content-Type")
	}
	if ct == "" {
		return ""
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	ct, _, _ = strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(ct))
}

// ftsText is what the full-text index holds of a flow besides its URL:
// request and response headers, and the text bodies (capped). Of the
// headers that carry credentials (Cookie, Set-Cookie, Authorization) only
// the cookie names and the authorization scheme are indexed: the page shows
// those values masked, so a search should not find what it cannot show,
// and their random values would fill the index with terms nobody types.
func ftsText(f *trace.Flow) (string, string) {
	var h, b strings.Builder
	for _, x := range f.Request.Headers {
		writeHeader(&h, x)
	}
	addBody(&b, f.Request.Body)
	if r := f.Response; r != nil {
		h.WriteString(strconv.Itoa(r.Status))
		h.WriteByte(' ')
		h.WriteString(r.Reason)
		h.WriteByte('\n')
		for _, x := range r.Headers {
			writeHeader(&h, x)
		}
		addBody(&b, r.Body)
	}
	if f.Error != "" {
		h.WriteString(f.Error)
	}
	return h.String(), b.String()
}

func writeHeader(h *strings.Builder, x trace.Header) {
	h.WriteString(x.Name)
	h.WriteString(": ")
	switch {
	case strings.EqualFold(x.Name, "cookie"):
		for c := range strings.SplitSeq(x.Value, ";") {
			name, _, _ := strings.Cut(c, "=")
			h.WriteString(strings.TrimSpace(name))
			h.WriteByte(' ')
		}
	case strings.EqualFold(x.Name, "set-cookie"):
		name, _, _ := strings.Cut(x.Value, "=")
		h.WriteString(strings.TrimSpace(name))
	case strings.EqualFold(x.Name, "authorization"), strings.EqualFold(x.Name, "proxy-authorization"):
		scheme, _, _ := strings.Cut(strings.TrimSpace(x.Value), " ")
		h.WriteString(scheme)
	default:
		h.WriteString(x.Value)
	}
	h.WriteByte('\n')
}

func addBody(b *strings.Builder, body []byte) {
	if len(body) > maxFTSBody {
		body = body[:maxFTSBody]
		for len(body) > 0 && !utf8.Valid(body) {
			body = body[:len(body)-1]
		}
	}
	if len(body) == 0 || !utf8.Valid(body) {
		return
	}
	b.Write(body)
	b.WriteByte('\n')
}

// encodeFlow stores a flow in its binary form (codec.go), compressed.
func encodeFlow(f *trace.Flow) ([]byte, error) {
	return s2.Encode(nil, appendFlow(nil, f)), nil
}

func decodeFlow(data []byte) (*trace.Flow, error) {
	b, err := s2.Decode(nil, data)
	if err != nil {
		return nil, err
	}
	return readFlow(b)
}

// ErrNoFlow is returned by Flow for an ID the index does not hold.
var ErrNoFlow = errors.New("no such flow")

// Flow returns the whole flow with the given ID.
func (x *Index) Flow(id int) (*trace.Flow, error) {
	var data []byte
	err := x.db.QueryRow(`SELECT data FROM flows WHERE id=?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("flow %d: %w", id, ErrNoFlow)
	}
	if err != nil {
		return nil, err
	}
	f, err := decodeFlow(data)
	if err != nil {
		return nil, fmt.Errorf("index: flow %d: %w", id, err)
	}
	return f, nil
}

// Flows yields the flows with the given IDs in ID order (all flows if ids is
// nil), one at a time.
func (x *Index) Flows(ids []int) iter.Seq2[*trace.Flow, error] {
	return func(yield func(*trace.Flow, error) bool) {
		if ids != nil {
			for _, id := range ids {
				f, err := x.Flow(id)
				if !yield(f, err) || err != nil {
					return
				}
			}
			return
		}
		last := 0
		for {
			// Pages of 256 so no cursor stays open while the caller works.
			rows, err := x.db.Query(`SELECT id, data FROM flows WHERE id>? ORDER BY id LIMIT 256`, last)
			if err != nil {
				yield(nil, err)
				return
			}
			var page []*trace.Flow
			for rows.Next() {
				var data []byte
				if err := rows.Scan(&last, &data); err != nil {
					rows.Close()
					yield(nil, err)
					return
				}
				f, err := decodeFlow(data)
				if err != nil {
					rows.Close()
					yield(nil, fmt.Errorf("index: flow %d: %w", last, err))
					return
				}
				page = append(page, f)
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				yield(nil, err)
				return
			}
			if len(page) == 0 {
				return
			}
			for _, f := range page {
				if !yield(f, nil) {
					return
				}
			}
		}
	}
}

// Source is the index read back as a trace.Source (for export and analysis).
func (x *Index) Source() trace.Source { return source{x} }

type source struct{ x *Index }

func (s source) Meta() *trace.Meta                    { m := s.x.Meta(); return &m }
func (s source) Flows() iter.Seq2[*trace.Flow, error] { return s.x.Flows(nil) }
