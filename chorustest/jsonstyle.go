package chorustest

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// snakeCase is the shape of every JSON key Chorus writes.
var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// otherTimeUnit matches keys that carry a duration in a unit other than
// milliseconds.
var otherTimeUnit = regexp.MustCompile(`_(ns|us|s|sec|secs|seconds|minutes|hours)$`)

// otherTimeUnitKey reports whether key holds a duration in a unit other
// than milliseconds; a rate (keys_per_sec) is not a duration.
func otherTimeUnitKey(key string) bool {
	return otherTimeUnit.MatchString(key) && !strings.Contains(key, "_per_")
}

// durationType is time.Duration, which encoding/json writes as a bare
// number of nanoseconds: a reader cannot tell its unit.
var durationType = reflect.TypeOf(time.Duration(0))

var (
	marshalerType     = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	textMarshalerType = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

// JSONStyle fails the test for each way the JSON encoding of the types of
// values breaks the project's one JSON style (docs/api.md): every key of a
// struct is given by an explicit json tag in snake_case (no Go default
// names, no camelCase), and a duration is a number of milliseconds in a
// key ending in "_ms" (a time.Duration field, which encoding/json writes
// as nanoseconds, is refused). A type with its own MarshalJSON is checked
// by the keys its zero value encodes to; one with MarshalText (a string in
// JSON) is left alone.
func JSONStyle(t testing.TB, values ...any) {
	t.Helper()
	seen := map[reflect.Type]bool{}
	for _, v := range values {
		for _, p := range jsonStyleProblems(reflect.TypeOf(v), reflect.TypeOf(v).String(), seen) {
			t.Error(p)
		}
	}
}

// jsonStyleProblems walks t, named path in messages.
func jsonStyleProblems(t reflect.Type, path string, seen map[reflect.Type]bool) []string {
	if t == durationType {
		return []string{fmt.Sprintf("%s: time.Duration encodes as nanoseconds; use a number of milliseconds in a key ending in _ms", path)}
	}
	if t == nil || seen[t] {
		return nil
	}
	seen[t] = true
	if t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) {
		return encodedKeyProblems(t, path)
	}
	if t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // []byte: base64
		}
		return jsonStyleProblems(t.Elem(), path+"[]", seen)
	case reflect.Map:
		return jsonStyleProblems(t.Elem(), path+"{}", seen)
	case reflect.Struct:
		return structProblems(t, path, seen)
	}
	return nil
}

func structProblems(t reflect.Type, path string, seen map[reflect.Type]bool) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && tag == "-" {
			continue
		}
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		if f.Anonymous && !hasTag {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			out = append(out, jsonStyleProblems(ft, path, seen)...)
			continue
		}
		where := path + "." + f.Name
		switch {
		case !hasTag || name == "":
			out = append(out, fmt.Sprintf("%s: no json tag (encoding/json would use the Go name %q)", where, f.Name))
		case !snakeCase.MatchString(name):
			out = append(out, fmt.Sprintf("%s: json key %q is not snake_case", where, name))
		case strings.HasSuffix(name, "_ms") && !isNumber(f.Type):
			out = append(out, fmt.Sprintf("%s: json key %q ends in _ms but is not a number", where, name))
		case otherTimeUnitKey(name):
			out = append(out, fmt.Sprintf("%s: json key %q has a time unit other than _ms", where, name))
		}
		out = append(out, jsonStyleProblems(f.Type, where, seen)...)
	}
	return out
}

func isNumber(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return t != durationType
	}
	return false
}

// encodedKeyProblems checks the object keys that the zero value of t,
// which has its own MarshalJSON, encodes to.
func encodedKeyProblems(t reflect.Type, path string) []string {
	b, err := json.Marshal(reflect.New(t).Interface())
	if err != nil {
		return []string{fmt.Sprintf("%s: encode the zero value: %v", path, err)}
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return []string{fmt.Sprintf("%s: decode its own encoding: %v", path, err)}
	}
	var out []string
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if !snakeCase.MatchString(k) {
					out = append(out, fmt.Sprintf("%s: json key %q is not snake_case", path, k))
				}
				if otherTimeUnitKey(k) {
					out = append(out, fmt.Sprintf("%s: json key %q has a time unit other than _ms", path, k))
				}
				walk(e, path+"."+k)
			}
		case []any:
			for _, e := range v {
				walk(e, path+"[]")
			}
		}
	}
	walk(v, path)
	return out
}
