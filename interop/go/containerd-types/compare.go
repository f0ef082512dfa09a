package main

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/containerd/typeurl"
	"github.com/gogo/protobuf/proto"
	ptypes "github.com/gogo/protobuf/types"
)

var (
	timeType   = reflect.TypeOf(time.Time{})
	anyPtrType = reflect.TypeOf(&ptypes.Any{})
)

// firstDifference compares got with want field by field and describes the
// first difference, naming the field path; "" when they are equal.
//
// An Any is compared by its type URL and then by what containerd's typeurl
// package unpacks from each side (a proto message, or a runtime-spec struct
// read from JSON), so the check also proves that containerd can unpack the
// Anys our side packed. Generated bookkeeping fields (XXX_*) are ignored.
func firstDifference(path string, got, want interface{}) string {
	return diffValues(path, reflect.ValueOf(got), reflect.ValueOf(want))
}

func diffValues(path string, got, want reflect.Value) string {
	if got.Type() != want.Type() {
		return fmt.Sprintf("%s: type %s, want %s", path, got.Type(), want.Type())
	}
	if got.Type() == anyPtrType {
		return diffAny(path, got.Interface().(*ptypes.Any), want.Interface().(*ptypes.Any))
	}
	if got.Type() == timeType {
		g, w := got.Interface().(time.Time), want.Interface().(time.Time)
		if !g.Equal(w) {
			return fmt.Sprintf("%s: %s, want %s", path, g.Format(time.RFC3339Nano), w.Format(time.RFC3339Nano))
		}
		return ""
	}
	switch got.Kind() {
	case reflect.Ptr, reflect.Interface:
		if got.IsNil() || want.IsNil() {
			if got.IsNil() != want.IsNil() {
				return fmt.Sprintf("%s: nil is %v, want %v", path, got.IsNil(), want.IsNil())
			}
			return ""
		}
		return diffValues(path, got.Elem(), want.Elem())
	case reflect.Struct:
		for i := 0; i < got.NumField(); i++ {
			f := got.Type().Field(i)
			if f.PkgPath != "" || strings.HasPrefix(f.Name, "XXX_") {
				continue
			}
			if d := diffValues(path+"."+f.Name, got.Field(i), want.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice:
		if got.Type().Elem().Kind() == reflect.Uint8 {
			if string(got.Bytes()) != string(want.Bytes()) {
				return fmt.Sprintf("%s: bytes %x, want %x", path, got.Bytes(), want.Bytes())
			}
			return ""
		}
		if got.Len() != want.Len() {
			return fmt.Sprintf("%s: %d elements, want %d", path, got.Len(), want.Len())
		}
		for i := 0; i < got.Len(); i++ {
			if d := diffValues(fmt.Sprintf("%s[%d]", path, i), got.Index(i), want.Index(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		if got.Len() != want.Len() {
			return fmt.Sprintf("%s: %d entries, want %d", path, got.Len(), want.Len())
		}
		for _, k := range want.MapKeys() {
			gv := got.MapIndex(k)
			if !gv.IsValid() {
				return fmt.Sprintf("%s: key %v missing", path, k.Interface())
			}
			if d := diffValues(fmt.Sprintf("%s[%v]", path, k.Interface()), gv, want.MapIndex(k)); d != "" {
				return d
			}
		}
		return ""
	default:
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			return fmt.Sprintf("%s: %v, want %v", path, got.Interface(), want.Interface())
		}
		return ""
	}
}

func diffAny(path string, got, want *ptypes.Any) string {
	if got == nil || want == nil {
		if (got == nil) != (want == nil) {
			return fmt.Sprintf("%s: nil is %v, want %v", path, got == nil, want == nil)
		}
		return ""
	}
	if got.TypeUrl != want.TypeUrl {
		return fmt.Sprintf("%s.TypeUrl: %q, want %q", path, got.TypeUrl, want.TypeUrl)
	}
	g, err := typeurl.UnmarshalAny(got)
	if err != nil {
		return fmt.Sprintf("%s: containerd's typeurl cannot unpack it: %v", path, err)
	}
	w, err := typeurl.UnmarshalAny(want)
	if err != nil {
		return fmt.Sprintf("%s: fixture Any does not unpack: %v", path, err)
	}
	return diffValues(fmt.Sprintf("%s<%s>", path, got.TypeUrl), reflect.ValueOf(g), reflect.ValueOf(w))
}

// unsetFields lists the fields of a fixture message left at their zero
// value, descending into nested messages and into Anys that hold proto
// messages (JSON-valued Anys hold runtime-spec structs with many optional
// fields and are not checked).
func unsetFields(msg proto.Message) []string {
	var out []string
	collectUnset(reflect.TypeOf(msg).Elem().Name(), reflect.ValueOf(msg), &out)
	sort.Strings(out)
	return out
}

func collectUnset(path string, v reflect.Value, out *[]string) {
	if v.Type() == anyPtrType {
		a := v.Interface().(*ptypes.Any)
		if a == nil || a.TypeUrl == "" {
			*out = append(*out, path)
			return
		}
		inner, err := typeurl.UnmarshalAny(a)
		if err != nil {
			*out = append(*out, path+" (does not unpack)")
			return
		}
		if m, ok := inner.(proto.Message); ok {
			collectUnset(path+"<"+a.TypeUrl+">", reflect.ValueOf(m), out)
		}
		return
	}
	if v.Type() == timeType {
		if v.Interface().(time.Time).IsZero() {
			*out = append(*out, path)
		}
		return
	}
	switch v.Kind() {
	case reflect.Ptr:
		if v.IsNil() {
			*out = append(*out, path)
			return
		}
		collectUnset(path, v.Elem(), out)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if f.PkgPath != "" || strings.HasPrefix(f.Name, "XXX_") {
				continue
			}
			collectUnset(path+"."+f.Name, v.Field(i), out)
		}
	case reflect.Slice:
		if v.Len() == 0 {
			*out = append(*out, path)
			return
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := 0; i < v.Len(); i++ {
			collectUnset(fmt.Sprintf("%s[%d]", path, i), v.Index(i), out)
		}
	case reflect.Map:
		if v.Len() == 0 {
			*out = append(*out, path)
		}
	default:
		if v.IsZero() {
			*out = append(*out, path)
		}
	}
}
