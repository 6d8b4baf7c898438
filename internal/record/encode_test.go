package record

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/trace"
)

// fill sets every field reachable from v to a value that is not zero,
// varying with seed; strings carry what JSON must escape.
func fill(t *testing.T, v reflect.Value, seed *int) {
	*seed++
	n := *seed
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), seed)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 26, 1, 2, 3, n*1000+7, time.FixedZone("", 3600))))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), seed)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte{byte(n), 0, 0xff, '"', byte(n >> 8)})
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		fill(t, s.Index(0), seed)
		fill(t, s.Index(1), seed)
		v.Set(s)
	case reflect.String:
		v.SetString(string([]byte{'a', byte('A' + n%26), '"', '\\', '\n', '\r', '\t', 1, 0x1f, '<', '&', 0xff, 0xc3}) + "é€😀\u2028" + string(rune('a'+n%26)))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(n)*1_000_003 - 5)
	case reflect.Float64:
		v.SetFloat([]float64{0.1 * float64(n), -1, 1e-7 * float64(n), 3e21, 12.5}[n%5])
	case reflect.Bool:
		v.SetBool(n%2 == 0)
	default:
		t.Fatalf("fill: no value for a %s field: teach fill (and appendFlow) about it", v.Type())
	}
}

func decodeFlow(t *testing.T, b []byte) *trace.Flow {
	t.Helper()
	var f trace.Flow
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return &f
}

// TestAppendFlowMatchesJSON: appendFlow writes what encoding/json would,
// for every field of a Flow (a field added to trace.Flow and not to
// appendFlow fails here), for nil and empty slices, and for a zero Flow.
func TestAppendFlowMatchesJSON(t *testing.T) {
	seed := 0
	var full trace.Flow
	fill(t, reflect.ValueOf(&full).Elem(), &seed)
	empty := trace.Flow{Request: &trace.Request{Headers: trace.Headers{}, Body: []byte{}, Cookies: []trace.Cookie{{}}},
		Response: &trace.Response{Wire: []byte{}, Extra: trace.Extensions{}}, WebSocket: []trace.WSMessage{}, Timings: trace.NoTimings()}
	for name, f := range map[string]*trace.Flow{"full": &full, "empty slices": &empty, "zero": {}} {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendFlow(nil, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !json.Valid(got) {
			t.Fatalf("%s: invalid JSON %s", name, got)
		}
		a, b := decodeFlow(t, got), decodeFlow(t, want)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: appendFlow decodes to\n%+v\nencoding/json to\n%+v", name, a, b)
		}
	}
	// The filled flow survives a whole record round trip too.
	all, rec, err := encodeFlow(nil, &full)
	if err != nil || !bytes.HasSuffix(all, rec) || rec[0] != 'F' {
		t.Fatalf("encodeFlow: %v", err)
	}
}

func TestAppendFlowRefusesWhatJSONRefuses(t *testing.T) {
	for _, f := range []*trace.Flow{{Time: math.NaN()}, {Timings: trace.Timings{Wait: math.Inf(1)}}, {Started: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}} {
		if _, err := json.Marshal(f); err == nil {
			t.Fatal("encoding/json accepted it")
		}
		if _, err := appendFlow(nil, f); err == nil {
			t.Errorf("appendFlow accepted %+v", f)
		}
	}
}

func FuzzAppendFlow(f *testing.F) {
	f.Add("GET", "https://a.test/?q=\"x\"", "Set-Cookie", "a=1\x00\xff", 1.5, int64(3), []byte("body"))
	f.Add("", "\u2028\\", "", "", -1e-9, int64(-1), []byte(nil))
	f.Fuzz(func(t *testing.T, method, url, name, value string, tm float64, size int64, body []byte) {
		fl := &trace.Flow{ID: 1, Time: tm, Request: &trace.Request{Method: method, URL: url, Headers: trace.Headers{{Name: name, Value: value}}, Body: body, BodySize: size},
			Response: &trace.Response{Status: 200, Reason: value, Body: body}, Error: name, Timings: trace.Timings{Wait: tm}}
		want, werr := json.Marshal(fl)
		got, gerr := appendFlow(nil, fl)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("encoding/json error %v, appendFlow error %v", werr, gerr)
		}
		if werr != nil {
			return
		}
		if a, b := decodeFlow(t, got), decodeFlow(t, want); !reflect.DeepEqual(a, b) {
			t.Fatalf("appendFlow decodes to %+v, encoding/json to %+v", a, b)
		}
	})
}

func BenchmarkEncodeFlow(b *testing.B) {
	f := flow(2)
	if f.Response == nil {
		f.Response, f.Error = &trace.Response{Status: 200}, ""
	}
	f.Response.Body = bytes.Repeat([]byte("x"), 1024)
	b.Run("appendFlow", func(b *testing.B) {
		var buf []byte
		for range b.N {
			buf, _, _ = encodeFlow(buf, f)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		var buf []byte
		for range b.N {
			buf, _ = encode(buf, 'F', f)
		}
	})
}
