package ops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The JSON form is described in the package documentation. Each op kind
// lists its fields once, in its code method; an encoder and a decoder
// both walk that list, so the two directions cannot drift apart.

// ParseList decodes an op list from its JSON form. It checks the form
// only: call List.Validate or Sandbox.Validate before running the list.
func ParseList(data []byte) (List, error) {
	var l List
	if err := l.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return l, nil
}

// MarshalJSON encodes the list as a JSON array of ops. An op that has no
// JSON form (an unknown rlimit, an Optional around nothing, ...) is an
// *InvalidOpError.
func (l List) MarshalJSON() ([]byte, error) {
	buf := []byte{'['}
	for i, op := range l {
		b, err := marshalOp(op)
		if err != nil {
			return nil, &InvalidOpError{Index: i, Op: op, Err: err}
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, b...)
	}
	return append(buf, ']'), nil
}

// UnmarshalJSON decodes a JSON array of ops, replacing the list. An
// unknown "op", an unknown or repeated field or a value of the wrong
// form is an error naming the element's index and op. JSON null leaves
// the list as it is.
func (l *List) UnmarshalJSON(data []byte) error {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		if _, ok := errors.AsType[*json.SyntaxError](err); ok {
			return fmt.Errorf("op list: %w", err)
		}
		return errors.New("op list: want a JSON array of ops")
	}
	if raws == nil {
		return nil // null
	}
	out := make(List, len(raws))
	for i, raw := range raws {
		op, kind, err := unmarshalOp(raw)
		switch {
		case err != nil && kind != "":
			return fmt.Errorf("op %d (%s): %w", i, kind, err)
		case err != nil:
			return fmt.Errorf("op %d: %w", i, err)
		}
		out[i] = op
	}
	*l = out
	return nil
}

// MarshalJSON encodes the sandbox as a JSON object with every field:
// namespaces, uid, gid, uid_map, gid_map, ops, keep_init.
func (s Sandbox) MarshalJSON() ([]byte, error) {
	var e encoder
	s.code(&e)
	b, err := e.finish()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	return b, nil
}

// UnmarshalJSON decodes a sandbox, replacing s. Missing fields take
// their zero value; unknown fields are an error. JSON null leaves s as it
// is.
func (s *Sandbox) UnmarshalJSON(data []byte) error {
	if !json.Valid(data) {
		var v any
		return fmt.Errorf("sandbox: %w", json.Unmarshal(data, &v))
	}
	if string(bytes.TrimSpace(data)) == "null" {
		return nil
	}
	d, err := readObject(data)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	out := Sandbox{}.code(d)
	if err := d.finish(); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	*s = out
	return nil
}

func (s Sandbox) code(c fieldCodec) Sandbox {
	c.always("namespaces", namespacesValue{&s.Namespaces})
	c.always("uid", intValue[uint32]{&s.UID})
	c.always("gid", intValue[uint32]{&s.GID})
	c.always("uid_map", idMapsValue{&s.UIDMap})
	c.always("gid_map", idMapsValue{&s.GIDMap})
	c.always("ops", listValue{&s.Ops})
	c.always("keep_init", boolValue{&s.KeepInit})
	return s
}

func (m IDMap) code(c fieldCodec) IDMap {
	c.always("inside", intValue[uint32]{&m.Inside})
	c.always("outside", intValue[uint32]{&m.Outside})
	c.always("count", intValue[uint32]{&m.Count})
	return m
}

// coder is an op with a JSON form: code visits a copy's fields with c
// and returns the copy, so that decoding into the zero value of a kind
// yields the decoded op.
type coder interface {
	Op
	code(c fieldCodec) Op
}

// opKinds holds the zero value of every op kind but Optional (which is
// encoded as its op plus "may_fail").
var opKinds = [...]coder{
	Mount{}, Bind{}, Tmpfs{}, Proc{}, Dev{}, Umount{}, MakePrivate{}, Mkdir{},
	Symlink{}, WriteFile{}, PivotRoot{}, Chroot{}, Chdir{}, Sethostname{},
	Setdomainname{}, Setgroups{}, Setgid{}, Setuid{}, Umask{}, Setrlimit{},
	Setpriority{}, Setsid{}, Setpgid{}, Pdeathsig{}, CloseFds{},
	Capabilities{}, NoNewPrivs{}, Seccomp{},
}

func kindByName(kind string) coder {
	for _, k := range opKinds {
		if k.Kind() == kind {
			return k
		}
	}
	return nil
}

func marshalOp(op Op) ([]byte, error) {
	mayFail := false
	if o, ok := op.(Optional); ok {
		switch o.Op.(type) {
		case nil:
			return nil, errors.New("optional must wrap an op")
		case Optional:
			return nil, errors.New("optional must not wrap another optional")
		}
		op, mayFail = o.Op, true
	}
	c, ok := op.(coder)
	if !ok || reflect.ValueOf(op).Kind() == reflect.Pointer {
		return nil, fmt.Errorf("unsupported op type %T", op)
	}
	var e encoder
	kind := c.Kind()
	e.always("op", stringValue{&kind})
	c.code(&e)
	e.nonzero("may_fail", boolValue{&mayFail})
	return e.finish()
}

// unmarshalOp decodes one element of a list. kind is set once known, for
// the caller's error message.
func unmarshalOp(raw []byte) (op Op, kind string, err error) {
	d, err := readObject(raw)
	if err != nil {
		return nil, "", err
	}
	k, ok := d.fields["op"]
	if !ok {
		return nil, "", errors.New(`missing "op"`)
	}
	delete(d.fields, "op")
	if len(k) == 0 || k[0] != '"' || json.Unmarshal(k, &kind) != nil {
		return nil, "", fmt.Errorf(`"op" must be a string, not %s`, clip(k))
	}
	zero := kindByName(kind)
	if zero == nil {
		return nil, "", fmt.Errorf("unknown op %q", kind)
	}
	var mayFail bool
	d.nonzero("may_fail", boolValue{&mayFail})
	op = zero.code(d)
	if err := d.finish(); err != nil {
		return nil, kind, err
	}
	if mayFail {
		op = Optional{Op: op}
	}
	return op, kind, nil
}

func (o Mount) code(c fieldCodec) Op {
	c.always("src", stringValue{&o.Source})
	c.always("dst", stringValue{&o.Target})
	c.nonzero("type", stringValue{&o.FSType})
	c.nonzero("flags", mountFlagsValue{&o.Flags})
	c.nonzero("data", stringValue{&o.Data})
	return o
}

func (o Bind) code(c fieldCodec) Op {
	c.always("src", stringValue{&o.Source})
	c.always("dst", stringValue{&o.Target})
	c.nonzero("ro", boolValue{&o.ReadOnly})
	c.nonzero("non_recursive", boolValue{&o.NonRecursive})
	return o
}

func (o Tmpfs) code(c fieldCodec) Op {
	c.always("dst", stringValue{&o.Target})
	c.nonzero("size", intValue[int64]{&o.Size})
	c.nonzero("mode", octalValue{&o.Mode})
	return o
}

func (o Proc) code(c fieldCodec) Op {
	c.always("dst", stringValue{&o.Target})
	return o
}

func (o Dev) code(c fieldCodec) Op {
	c.always("dst", stringValue{&o.Target})
	return o
}

func (o Umount) code(c fieldCodec) Op {
	c.always("dst", stringValue{&o.Target})
	c.nonzero("detach", boolValue{&o.Detach})
	return o
}

func (o MakePrivate) code(c fieldCodec) Op {
	c.always("dst", stringValue{&o.Target})
	return o
}

func (o Mkdir) code(c fieldCodec) Op {
	c.always("path", stringValue{&o.Path})
	c.nonzero("mode", octalValue{&o.Mode})
	return o
}

func (o Symlink) code(c fieldCodec) Op {
	c.always("target", stringValue{&o.Target})
	c.always("path", stringValue{&o.Path})
	return o
}

func (o WriteFile) code(c fieldCodec) Op {
	c.always("path", stringValue{&o.Path})
	c.always("data", stringValue{&o.Data})
	c.nonzero("mode", octalValue{&o.Mode})
	return o
}

func (o PivotRoot) code(c fieldCodec) Op {
	c.always("new_root", stringValue{&o.NewRoot})
	return o
}

func (o Chroot) code(c fieldCodec) Op {
	c.always("path", stringValue{&o.Path})
	return o
}

func (o Chdir) code(c fieldCodec) Op {
	c.always("path", stringValue{&o.Path})
	return o
}

func (o Sethostname) code(c fieldCodec) Op {
	c.always("name", stringValue{&o.Name})
	return o
}

func (o Setdomainname) code(c fieldCodec) Op {
	c.always("name", stringValue{&o.Name})
	return o
}

func (o Setgroups) code(c fieldCodec) Op {
	c.always("groups", idsValue{&o.Groups})
	return o
}

func (o Setgid) code(c fieldCodec) Op {
	c.always("gid", intValue[uint32]{&o.GID})
	return o
}

func (o Setuid) code(c fieldCodec) Op {
	c.always("uid", intValue[uint32]{&o.UID})
	return o
}

func (o Umask) code(c fieldCodec) Op {
	c.always("mask", octalValue{&o.Mask})
	return o
}

func (o Setrlimit) code(c fieldCodec) Op {
	c.always("resource", rlimitValue{&o.Resource})
	c.always("soft", rlimValue{&o.Soft})
	c.always("hard", rlimValue{&o.Hard})
	return o
}

func (o Setpriority) code(c fieldCodec) Op {
	c.always("nice", intValue[int]{&o.Nice})
	return o
}

func (o Setsid) code(fieldCodec) Op { return o }

func (o Setpgid) code(c fieldCodec) Op {
	c.always("pgid", intValue[int]{&o.Pgid})
	return o
}

func (o Pdeathsig) code(c fieldCodec) Op {
	c.always("signal", signalValue{&o.Signal})
	return o
}

func (o CloseFds) code(c fieldCodec) Op {
	c.always("from", intValue[int]{&o.From})
	return o
}

func (o Capabilities) code(c fieldCodec) Op {
	c.always("keep", capsValue{&o.Keep})
	return o
}

func (o NoNewPrivs) code(fieldCodec) Op { return o }

func (o Seccomp) code(c fieldCodec) Op {
	c.always("allow", namesValue{&o.Allow})
	c.always("default", actionValue{&o.Default})
	c.nonzero("errno", intValue[int]{&o.Errno})
	return o
}

// fieldCodec visits the fields of one JSON object, in order.
type fieldCodec interface {
	// always visits a field that is written even at its zero value.
	always(key string, v value)
	// nonzero visits a field that is left out at its zero value.
	nonzero(key string, v value)
}

// value reads and writes one Go field in place as a JSON value.
type value interface {
	marshal() ([]byte, error)
	unmarshal(raw []byte) error // raw is valid JSON, never null
	zero() bool
}

// encoder writes an object's fields in the order visited.
type encoder struct {
	buf []byte
	err error
}

func (e *encoder) always(key string, v value) { e.write(key, v) }

func (e *encoder) nonzero(key string, v value) {
	if !v.zero() {
		e.write(key, v)
	}
}

func (e *encoder) write(key string, v value) {
	if e.err != nil {
		return
	}
	b, err := v.marshal()
	if err != nil {
		e.err = fmt.Errorf("%s: %w", key, err)
		return
	}
	if len(e.buf) == 0 {
		e.buf = append(e.buf, '{')
	} else {
		e.buf = append(e.buf, ',')
	}
	e.buf = strconv.AppendQuote(e.buf, key) // keys are plain ASCII
	e.buf = append(e.buf, ':')
	e.buf = append(e.buf, b...)
}

func (e *encoder) finish() ([]byte, error) {
	if e.err != nil {
		return nil, e.err
	}
	if len(e.buf) == 0 {
		return []byte("{}"), nil
	}
	return append(e.buf, '}'), nil
}

// decoder reads the fields visited from an object's members, and
// reports the members no one asked for.
type decoder struct {
	fields map[string]json.RawMessage
	err    error
}

// readObject splits a JSON object into its members. Keys match exactly
// (encoding/json would match them case-insensitively), and a repeated
// key is an error rather than the last one winning silently.
func readObject(data []byte) (*decoder, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("want a JSON object, not %s", clip(data))
	}
	d := &decoder{fields: make(map[string]json.RawMessage)}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		if _, dup := d.fields[key]; dup {
			return nil, fmt.Errorf("repeated field %q", key)
		}
		d.fields[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *decoder) always(key string, v value)  { d.read(key, v) }
func (d *decoder) nonzero(key string, v value) { d.read(key, v) }

func (d *decoder) read(key string, v value) {
	raw, ok := d.fields[key]
	if !ok {
		return
	}
	delete(d.fields, key)
	if d.err != nil || string(raw) == "null" {
		return
	}
	if err := v.unmarshal(raw); err != nil {
		d.err = fmt.Errorf("%s: %w", key, err)
	}
}

func (d *decoder) finish() error {
	if d.err != nil {
		return d.err
	}
	if len(d.fields) > 0 {
		keys := make([]string, 0, len(d.fields))
		for k := range d.fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return fmt.Errorf("unknown field %q", keys[0])
	}
	return nil
}

// clip shortens raw JSON for an error message.
func clip(raw []byte) string {
	const max = 40
	if len(raw) > max {
		return string(raw[:max]) + "..."
	}
	return string(raw)
}

func decodeString(raw []byte, p *string) error {
	if raw[0] != '"' {
		return fmt.Errorf("want a string, not %s", clip(raw))
	}
	return json.Unmarshal(raw, p)
}

func decodeStrings(raw []byte) ([]string, error) {
	var s []string
	if raw[0] != '[' || json.Unmarshal(raw, &s) != nil {
		return nil, fmt.Errorf("want a list of strings, not %s", clip(raw))
	}
	return s, nil
}

// marshalStrings writes a list, empty rather than null.
func marshalStrings(s []string) ([]byte, error) {
	if s == nil {
		s = []string{}
	}
	return json.Marshal(s)
}

type stringValue struct{ p *string }

func (v stringValue) marshal() ([]byte, error) {
	// encoding/json would turn invalid UTF-8 into U+FFFD: another path.
	if !utf8.ValidString(*v.p) {
		return nil, errors.New("not valid UTF-8")
	}
	return json.Marshal(*v.p)
}
func (v stringValue) unmarshal(raw []byte) error { return decodeString(raw, v.p) }
func (v stringValue) zero() bool                 { return *v.p == "" }

type boolValue struct{ p *bool }

func (v boolValue) marshal() ([]byte, error) { return strconv.AppendBool(nil, *v.p), nil }
func (v boolValue) zero() bool               { return !*v.p }
func (v boolValue) unmarshal(raw []byte) error {
	switch string(raw) {
	case "true":
		*v.p = true
	case "false":
		*v.p = false
	default:
		return fmt.Errorf("want true or false, not %s", clip(raw))
	}
	return nil
}

type intValue[T int | int64 | uint32] struct{ p *T }

func (v intValue[T]) marshal() ([]byte, error) { return json.Marshal(*v.p) }
func (v intValue[T]) zero() bool               { return *v.p == 0 }
func (v intValue[T]) unmarshal(raw []byte) error {
	if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return fmt.Errorf("want an integer, not %s", clip(raw))
	}
	if err := json.Unmarshal(raw, v.p); err != nil {
		if bytes.ContainsAny(raw, ".eE") {
			return fmt.Errorf("want an integer, not %s", clip(raw))
		}
		return fmt.Errorf("%s is out of range", clip(raw))
	}
	return nil
}

// octalValue is a mode or mask, written as an octal string ("0755").
type octalValue struct{ p *uint32 }

func (v octalValue) marshal() ([]byte, error) { return json.Marshal(fmt.Sprintf("%04o", *v.p)) }
func (v octalValue) zero() bool               { return *v.p == 0 }
func (v octalValue) unmarshal(raw []byte) error {
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		if m, err := strconv.ParseUint(s, 8, 32); err == nil {
			*v.p = uint32(m)
			return nil
		}
	}
	return fmt.Errorf(`want an octal string such as "0755", not %s`, clip(raw))
}

// rlimValue is a resource limit: a number, or "unlimited".
type rlimValue struct{ p *uint64 }

func (v rlimValue) marshal() ([]byte, error) {
	if *v.p == RlimInfinity {
		return []byte(`"unlimited"`), nil
	}
	return strconv.AppendUint(nil, *v.p, 10), nil
}
func (v rlimValue) zero() bool { return *v.p == 0 }
func (v rlimValue) unmarshal(raw []byte) error {
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil && s == "unlimited" {
		*v.p = RlimInfinity
		return nil
	}
	if raw[0] >= '0' && raw[0] <= '9' && json.Unmarshal(raw, v.p) == nil {
		return nil
	}
	return fmt.Errorf(`want a number or "unlimited", not %s`, clip(raw))
}

type rlimitValue struct{ p *Rlimit }

func (v rlimitValue) marshal() ([]byte, error) {
	if !v.p.Valid() {
		return nil, fmt.Errorf("unknown resource %d", int(*v.p))
	}
	return json.Marshal(v.p.String())
}
func (v rlimitValue) zero() bool { return *v.p == 0 }
func (v rlimitValue) unmarshal(raw []byte) error {
	var s string
	if err := decodeString(raw, &s); err != nil {
		return err
	}
	r, err := ParseRlimit(s)
	if err != nil {
		return err
	}
	*v.p = r
	return nil
}

// signalValue is a signal's name, or its number when it has no name (the
// real-time signals, and numbers that Validate will refuse: the zero
// value of a missing field must encode).
type signalValue struct{ p *Signal }

func (v signalValue) marshal() ([]byte, error) {
	if s := *v.p; s > 0 && int(s) < len(signalNames) {
		return json.Marshal(signalNames[s])
	}
	return strconv.AppendInt(nil, int64(*v.p), 10), nil
}
func (v signalValue) zero() bool { return *v.p == 0 }
func (v signalValue) unmarshal(raw []byte) error {
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
	} else {
		var n int
		if json.Unmarshal(raw, &n) != nil {
			return fmt.Errorf("want a signal name or number, not %s", clip(raw))
		}
		*v.p = Signal(n)
		return nil
	}
	sig, err := ParseSignal(s)
	if err != nil {
		return err
	}
	*v.p = sig
	return nil
}

type mountFlagsValue struct{ p *MountFlags }

func (v mountFlagsValue) marshal() ([]byte, error) {
	if err := knownMountFlags(*v.p); err != nil {
		return nil, err
	}
	return marshalStrings(v.p.Names())
}
func (v mountFlagsValue) zero() bool { return *v.p == 0 }
func (v mountFlagsValue) unmarshal(raw []byte) error {
	names, err := decodeStrings(raw)
	if err != nil {
		return err
	}
	var f MountFlags
	for _, n := range names {
		one, err := ParseMountFlag(n)
		if err != nil {
			return err
		}
		f |= one
	}
	*v.p = f
	return nil
}

type capsValue struct{ p *CapSet }

func (v capsValue) marshal() ([]byte, error) {
	if rest := *v.p &^ AllCaps; rest != 0 {
		return nil, fmt.Errorf("unknown capability bits %#x", uint64(rest))
	}
	return marshalStrings(v.p.Names())
}
func (v capsValue) zero() bool { return *v.p == 0 }
func (v capsValue) unmarshal(raw []byte) error {
	names, err := decodeStrings(raw)
	if err != nil {
		return err
	}
	c, err := Caps(names...)
	if err != nil {
		return err
	}
	*v.p = c
	return nil
}

type namesValue struct{ p *Names }

func (v namesValue) marshal() ([]byte, error) { return marshalStrings(v.p.Split()) }
func (v namesValue) zero() bool               { return *v.p == "" }
func (v namesValue) unmarshal(raw []byte) error {
	names, err := decodeStrings(raw)
	if err != nil {
		return err
	}
	for _, n := range names {
		// Names keeps the list comma-joined: each name must come back
		// unchanged from Split.
		if n == "" || strings.Contains(n, ",") || strings.TrimSpace(n) != n {
			return fmt.Errorf("bad name %q", n)
		}
	}
	*v.p = NewNames(names...)
	return nil
}

type idsValue struct{ p *IDs }

func (v idsValue) marshal() ([]byte, error) {
	ids, err := v.p.Values()
	if err != nil {
		return nil, err
	}
	if ids == nil {
		ids = []uint32{}
	}
	return json.Marshal(ids)
}
func (v idsValue) zero() bool { return *v.p == "" }
func (v idsValue) unmarshal(raw []byte) error {
	var ids []uint32
	if raw[0] != '[' || json.Unmarshal(raw, &ids) != nil {
		return fmt.Errorf("want a list of ids from 0 to 4294967295, not %s", clip(raw))
	}
	*v.p = NewIDs(ids...)
	return nil
}

type actionValue struct{ p *SeccompAction }

func (v actionValue) marshal() ([]byte, error) {
	if *v.p < 0 || int(*v.p) >= len(seccompActionNames) {
		return nil, fmt.Errorf("unknown seccomp action %d", int(*v.p))
	}
	return json.Marshal(v.p.String())
}
func (v actionValue) zero() bool { return *v.p == 0 }
func (v actionValue) unmarshal(raw []byte) error {
	var s string
	if err := decodeString(raw, &s); err != nil {
		return err
	}
	a, err := ParseSeccompAction(s)
	if err != nil {
		return err
	}
	*v.p = a
	return nil
}

type namespacesValue struct{ p *Namespaces }

func (v namespacesValue) marshal() ([]byte, error) {
	if rest := *v.p &^ AllNamespaces; rest != 0 {
		return nil, fmt.Errorf("unknown namespace bits %#x", uint32(rest))
	}
	return marshalStrings(v.p.Names())
}
func (v namespacesValue) zero() bool { return *v.p == 0 }
func (v namespacesValue) unmarshal(raw []byte) error {
	names, err := decodeStrings(raw)
	if err != nil {
		return err
	}
	var ns Namespaces
	for _, n := range names {
		one, ok := namespaceByName(n)
		if !ok {
			return fmt.Errorf("unknown namespace %q", n)
		}
		ns |= one
	}
	*v.p = ns
	return nil
}

type idMapsValue struct{ p *[]IDMap }

func (v idMapsValue) zero() bool { return len(*v.p) == 0 }
func (v idMapsValue) marshal() ([]byte, error) {
	buf := []byte{'['}
	for i, m := range *v.p {
		var e encoder
		m.code(&e)
		b, err := e.finish()
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, b...)
	}
	return append(buf, ']'), nil
}
func (v idMapsValue) unmarshal(raw []byte) error {
	var raws []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &raws) != nil {
		return fmt.Errorf("want a list of {inside, outside, count}, not %s", clip(raw))
	}
	var out []IDMap
	for i, r := range raws {
		d, err := readObject(r)
		if err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		m := IDMap{}.code(d)
		if err := d.finish(); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		out = append(out, m)
	}
	*v.p = out
	return nil
}

type listValue struct{ p *List }

func (v listValue) marshal() ([]byte, error)   { return v.p.MarshalJSON() }
func (v listValue) unmarshal(raw []byte) error { return v.p.UnmarshalJSON(raw) }
func (v listValue) zero() bool                 { return len(*v.p) == 0 }
