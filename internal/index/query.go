package index

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Query selects, orders and pages the rows of the session grid. Filters
// combine with AND; a list filter matches any of its values.
type Query struct {
	// Hosts: a value with "*" is a wildcard over the whole host
	// (*.microsoftonline.com), otherwise a substring. Case-insensitive.
	Hosts []string
	// Status: 200, 4xx, 400-499, or "-" for flows without a response.
	Status  []string
	Methods []string
	// Text is free text over the full-text index (URL, headers, text
	// bodies): every word must occur; the last word may be a prefix.
	Text string
	// SignIn keeps only flows that belong to a sign-in (see MarkSignIns).
	SignIn bool
	// Errors keeps only failed flows: status >= 400, no response, or an error.
	Errors bool
	// Sort is a column name (see SortColumns); "" is "id".
	Sort string
	Desc bool
	// Offset and Limit page the result; Limit 0 means 100, at most 5000.
	Offset, Limit int
}

// Page is one page of rows and how many rows match in all.
type Page struct {
	Total  int   `json:"total"`
	Offset int   `json:"offset"`
	Rows   []Row `json:"rows"`
}

// SortColumns are the columns Query.Sort accepts, with their SQL.
var SortColumns = map[string]string{
	"id": "id", "status": "status", "method": "method", "scheme": "scheme", "host": "host", "url": "url",
	"bytes": "resp_bytes", "mime": "mime", "process": "process", "comment": "comment",
	"started": "started", "duration": "dur", "signin": "signin",
}

// QueryError is a filter value the index cannot use; Field names the Query field.
type QueryError struct {
	Field, Value, Want string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("%s %q: want %s", e.Field, e.Value, e.Want)
}

// where builds the WHERE clause and its arguments.
func (q *Query) where() (string, []any, error) {
	var conds []string
	var args []any
	if len(q.Hosts) > 0 {
		var or []string
		for _, h := range q.Hosts {
			h = strings.ToLower(strings.TrimSpace(h))
			if h == "" {
				continue
			}
			if strings.Contains(h, "*") {
				// GLOB is case-sensitive; hosts are stored lower-case. Ports are ignored.
				or = append(or, "(host GLOB ? OR host GLOB ?)")
				args = append(args, globEscape(h), globEscape(h)+":*")
			} else {
				or = append(or, "instr(host, ?) > 0")
				args = append(args, h)
			}
		}
		if len(or) > 0 {
			conds = append(conds, "("+strings.Join(or, " OR ")+")")
		}
	}
	if len(q.Methods) > 0 {
		var or []string
		for _, m := range q.Methods {
			or = append(or, "method = ?")
			args = append(args, strings.ToUpper(strings.TrimSpace(m)))
		}
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	if len(q.Status) > 0 {
		var or []string
		for _, s := range q.Status {
			c, a, err := statusCond(s)
			if err != nil {
				return "", nil, err
			}
			or = append(or, c)
			args = append(args, a...)
		}
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	if q.SignIn {
		conds = append(conds, "signin > 0")
	}
	if q.Errors {
		conds = append(conds, "(status >= 400 OR has_resp = 0 OR error != '')")
	}
	if strings.TrimSpace(q.Text) != "" {
		m := ftsQuery(q.Text)
		if m == "" {
			return "", nil, &QueryError{Field: "text", Value: q.Text, Want: "a word to search for"}
		}
		conds = append(conds, "id IN (SELECT rowid FROM fts WHERE fts MATCH ?)")
		args = append(args, m)
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '[', ']', '?':
			b.WriteString("[" + string(r) + "]")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// statusCond parses one status filter: 200, 4xx, 400-499 or -.
func statusCond(s string) (string, []any, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	bad := &QueryError{Field: "status", Value: s, Want: "200, 4xx, 400-499 or -"}
	switch {
	case s == "-":
		return "has_resp = 0", nil, nil
	case len(s) == 3 && s[1:] == "xx" && s[0] >= '1' && s[0] <= '5':
		c := int(s[0]-'0') * 100
		return "(has_resp = 1 AND status BETWEEN ? AND ?)", []any{c, c + 99}, nil
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || lo > hi || lo < 0 {
			return "", nil, bad
		}
		return "(has_resp = 1 AND status BETWEEN ? AND ?)", []any{lo, hi}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 999 {
		return "", nil, bad
	}
	return "(has_resp = 1 AND status = ?)", []any{n}, nil
}

// ftsQuery turns free text into an FTS5 query: each word (separated by
// white space or control characters, which FTS5 cannot take inside a
// phrase: a NUL ends its string) becomes a quoted phrase (so punctuation
// such as the dots of a host name is matched, not parsed), all must match,
// and the last one may be a prefix. Words without a letter or digit are
// dropped.
func ftsQuery(text string) string {
	var parts []string
	sep := func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }
	for _, w := range strings.FieldsFunc(text, sep) {
		if !strings.ContainsFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			continue
		}
		parts = append(parts, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
	}
	if len(parts) == 0 {
		return ""
	}
	parts[len(parts)-1] += "*"
	return strings.Join(parts, " AND ")
}

const rowCols = `id,session,method,scheme,host,url,status,has_resp,error,started,dur,req_bytes,resp_bytes,mime,proto,process,comment,signin`

// Query returns one page of rows.
func (x *Index) Query(q Query) (*Page, error) {
	where, args, err := q.where()
	if err != nil {
		return nil, err
	}
	col := "id"
	if q.Sort != "" {
		c, ok := SortColumns[q.Sort]
		if !ok {
			return nil, &QueryError{Field: "sort", Value: q.Sort, Want: "a column name such as id, status, host, url, bytes, duration"}
		}
		col = c
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > 5000 {
		q.Limit = 5000
	}
	if q.Offset < 0 {
		return nil, &QueryError{Field: "offset", Value: strconv.Itoa(q.Offset), Want: "a number >= 0"}
	}
	p := &Page{Offset: q.Offset, Rows: []Row{}}
	if where == "" {
		// Counted, not x.Len(): a live index may hold uncommitted flows.
		if err := x.db.QueryRow(`SELECT count(*) FROM flows`).Scan(&p.Total); err != nil {
			return nil, err
		}
	} else if err := x.db.QueryRow(`SELECT count(*) FROM flows`+where, args...).Scan(&p.Total); err != nil {
		return nil, queryErr(err)
	}
	order := " ORDER BY " + col + " " + dir
	if col != "id" {
		order += ", id " + dir
	}
	rows, err := x.db.Query(`SELECT `+rowCols+` FROM flows`+where+order+` LIMIT ? OFFSET ?`, append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, queryErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.ID, &r.Session, &r.Method, &r.Scheme, &r.Host, &r.URL, &r.Status, &r.HasResp, &r.Error,
			&r.Started, &r.Duration, &r.ReqBytes, &r.Bytes, &r.Mime, &r.Proto, &r.Process, &r.Comment, &r.SignIn); err != nil {
			return nil, err
		}
		p.Rows = append(p.Rows, r)
	}
	return p, rows.Err()
}

// queryErr turns an FTS5 syntax complaint into a QueryError.
func queryErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "fts5") {
		return errors.Join(&QueryError{Field: "text", Value: "", Want: "plain words"}, err)
	}
	return err
}

// IDs returns the IDs of every flow matching q (ignoring its paging), in
// its order: what "export the filtered flows" exports.
func (x *Index) IDs(q Query) ([]int, error) {
	where, args, err := q.where()
	if err != nil {
		return nil, err
	}
	rows, err := x.db.Query(`SELECT id FROM flows`+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, queryErr(err)
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Hosts lists the distinct hosts with their flow counts, busiest first.
func (x *Index) Hosts(limit int) ([]HostCount, error) {
	rows, err := x.db.Query(`SELECT host, count(*) c FROM flows GROUP BY host ORDER BY c DESC, host LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []HostCount{}
	for rows.Next() {
		var h HostCount
		if err := rows.Scan(&h.Host, &h.Flows); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// HostCount is one host and how many flows went to it.
type HostCount struct {
	Host  string `json:"host"`
	Flows int    `json:"flows"`
}
