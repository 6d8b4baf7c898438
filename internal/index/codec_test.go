package index

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/idtrace/idtrace/internal/trace"
)

// fill sets every field reachable from v to a random non-zero value
// (slices of one to three elements, pointers allocated), so that a field
// the codec forgets shows up as a difference. Some slices are left nil or
// empty instead, to check that nil and empty stay apart.
func fill(rng *rand.Rand, v reflect.Value) {
	switch v.Interface().(type) {
	case time.Time:
		zones := []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", -5*3600-30*60)}
		v.Set(reflect.ValueOf(time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))])))
		return
	case trace.Extension:
		v.Set(reflect.ValueOf(trace.Extension{Name: "_x" + randStr(rng), JSON: []byte(`{"k":"` + randStr(rng) + `"}`)}))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(rng, v.Field(i))
			}
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(rng, p.Elem())
		v.Set(p)
	case reflect.Slice:
		switch rng.IntN(6) {
		case 0: // nil
			return
		case 1: // empty, not nil
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			return
		}
		n := 1 + rng.IntN(3)
		if v.Type().Elem().Kind() == reflect.Uint8 {
			n = rng.IntN(300)
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			fill(rng, s.Index(i))
		}
		v.Set(s)
	case reflect.String:
		v.SetString(randStr(rng))
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 1)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(rng.Int64N(1<<40) - 1<<39)
	case reflect.Uint8:
		v.SetUint(uint64(rng.IntN(256)))
	case reflect.Float64:
		v.SetFloat(rng.Float64()*1e6 - 1)
	default:
		panic("fill: add a case for " + v.Type().String())
	}
}

func randStr(rng *rand.Rand) string {
	const chars = "abcXYZ019 :/?=&é\x00\n\"\\"
	r := []rune(chars)
	n := rng.IntN(24)
	out := make([]rune, n)
	for i := range out {
		out[i] = r[rng.IntN(len(r))]
	}
	return string(out)
}

func flowJSON(t *testing.T, f *trace.Flow) string {
	t.Helper()
	b, err := json.Marshal(f, jsontext.AllowInvalidUTF8(true), json.FormatNilSliceAsNull(true), json.FormatNilMapAsNull(true))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCodecRoundTrip: flows with every field set (and slices nil, empty
// or full) come back from the stored form with the same JSON, which names
// every field; a missing or misordered field fails it.
func TestCodecRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		f := &trace.Flow{}
		fill(rng, reflect.ValueOf(f).Elem())
		if i%7 == 0 {
			f.Request, f.Response = nil, nil
		}
		data, err := encodeFlow(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeFlow(data)
		if err != nil {
			t.Fatalf("flow %d: %v", i, err)
		}
		if a, b := flowJSON(t, f), flowJSON(t, got); a != b {
			j := 0
			for j < len(a) && j < len(b) && a[j] == b[j] {
				j++
			}
			t.Fatalf("flow %d differs after the round trip at byte %d:\n%.120q\n%.120q", i, j, a[max(0, j-40):], b[max(0, j-40):])
		}
		if !got.Started.Equal(f.Started) {
			t.Fatalf("flow %d: started %v, want %v", i, got.Started, f.Started)
		}
		// Every shorter prefix is refused with an error, never a panic.
		raw := appendFlow(nil, f)
		for _, n := range []int{0, 1, len(raw) / 3, len(raw) / 2, len(raw) - 1} {
			if _, err := readFlow(raw[:n]); err == nil {
				t.Fatalf("flow %d: a prefix of %d of %d bytes was accepted", i, n, len(raw))
			}
		}
	}
}

// FuzzReadFlow: any bytes give a flow or an error, never a panic, and a
// flow read back encodes to the same bytes.
func FuzzReadFlow(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 8; i++ {
		fl := &trace.Flow{}
		fill(rng, reflect.ValueOf(fl).Elem())
		f.Add(appendFlow(nil, fl))
	}
	f.Add([]byte{codecVersion})
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fl, err := readFlow(b)
		if err != nil {
			return
		}
		again := appendFlow(nil, fl)
		if back, err := readFlow(again); err != nil || flowJSON(t, back) != flowJSON(t, fl) {
			t.Fatalf("a decoded flow does not survive a second round trip: %v", err)
		}
	})
}
