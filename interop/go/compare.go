package main

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// firstDifference compares two messages of the same generated type field by
// field and describes the first field that differs, as a path of proto field
// names (e.g. "OCI.Linux.Resources.Devices[0].Major: want -1, got 0").
// It returns "" when the messages are equal.
//
// A nil and an empty repeated field or map count as equal (the wire cannot
// tell them apart); a missing and a present sub-message do not.
func firstDifference(want, got interface{}) string {
	return diffValue("", reflect.ValueOf(want), reflect.ValueOf(got))
}

func diffValue(path string, want, got reflect.Value) string {
	if want.Type() != got.Type() {
		return fmt.Sprintf("%s: want type %s, got %s", orRoot(path), want.Type(), got.Type())
	}

	switch want.Kind() {
	case reflect.Ptr, reflect.Interface: // sub-message, or a oneof wrapper
		if want.IsNil() || got.IsNil() {
			if want.IsNil() == got.IsNil() {
				return ""
			}
			return fmt.Sprintf("%s: want %s, got %s", orRoot(path), presence(want), presence(got))
		}
		return diffValue(path, want.Elem(), got.Elem())

	case reflect.Struct:
		t := want.Type()
		for i := 0; i < t.NumField(); i++ {
			field := t.Field(i)
			if strings.HasPrefix(field.Name, "XXX_") {
				continue // gogo bookkeeping (unknown fields, size cache)
			}
			if d := diffValue(joinPath(path, protoFieldName(field)), want.Field(i), got.Field(i)); d != "" {
				return d
			}
		}
		return ""

	case reflect.Slice:
		if want.Type().Elem().Kind() == reflect.Uint8 { // bytes field
			if bytes.Equal(want.Bytes(), got.Bytes()) {
				return ""
			}
			return fmt.Sprintf("%s: want %q, got %q", orRoot(path), want.Bytes(), got.Bytes())
		}
		if want.Len() != got.Len() {
			return fmt.Sprintf("%s: want %d elements, got %d", orRoot(path), want.Len(), got.Len())
		}
		for i := 0; i < want.Len(); i++ {
			if d := diffValue(fmt.Sprintf("%s[%d]", path, i), want.Index(i), got.Index(i)); d != "" {
				return d
			}
		}
		return ""

	case reflect.Map:
		if want.Len() != got.Len() {
			return fmt.Sprintf("%s: want %d entries, got %d", orRoot(path), want.Len(), got.Len())
		}
		keys := want.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, key := range keys {
			entryPath := fmt.Sprintf("%s[%q]", path, fmt.Sprint(key))
			gotEntry := got.MapIndex(key)
			if !gotEntry.IsValid() {
				return fmt.Sprintf("%s: missing", entryPath)
			}
			if d := diffValue(entryPath, want.MapIndex(key), gotEntry); d != "" {
				return d
			}
		}
		return ""

	default: // scalars and enums
		if want.Interface() == got.Interface() {
			return ""
		}
		return fmt.Sprintf("%s: want %s, got %s", orRoot(path), showScalar(want), showScalar(got))
	}
}

// showScalar prints strings quoted and numbers, bools and enums plainly
// (enums by number, as the TypeScript side does).
func showScalar(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return fmt.Sprintf("%q", v.String())
	case reflect.Int32, reflect.Int64:
		return fmt.Sprint(v.Int())
	case reflect.Uint32, reflect.Uint64:
		return fmt.Sprint(v.Uint())
	default:
		return fmt.Sprint(v.Interface())
	}
}

// protoFieldName returns the field's name in the .proto file, read from the
// struct tag the generator writes ("bytes,6,opt,name=OCI,proto3"); a oneof
// group is tagged protobuf_oneof with the group's name.
func protoFieldName(field reflect.StructField) string {
	for _, part := range strings.Split(field.Tag.Get("protobuf"), ",") {
		if strings.HasPrefix(part, "name=") {
			return strings.TrimPrefix(part, "name=")
		}
	}
	if name := field.Tag.Get("protobuf_oneof"); name != "" {
		return name
	}
	return field.Name
}

func presence(v reflect.Value) string {
	if v.IsNil() {
		return "unset"
	}
	return "set"
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func orRoot(path string) string {
	if path == "" {
		return "(message)"
	}
	return path
}
