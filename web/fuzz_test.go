package web

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"herald/store"
	"herald/templates"
)

// FuzzParseProxies checks --trusted-proxies: whatever it accepts names only
// real networks, one for each item, that read back the same.
func FuzzParseProxies(f *testing.F) {
	for _, seed := range []string{"", "127.0.0.1", " 127.0.0.1, 10.0.0.0/8 ,::1,", "::ffff:10.0.0.1", "::ffff:10.0.0.0/104",
		"fe80::1%eth0", "10.0.0.0/33", "1.2.3", "0.0.0.0/0,::/0", "2001:db8::/32", "1.2.3.4/", "/8", ",,,"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, list string) {
		nets, err := ParseProxies(list)
		if err != nil {
			return
		}
		items := 0
		for _, it := range strings.Split(list, ",") {
			if strings.TrimSpace(it) != "" {
				items++
			}
		}
		if len(nets) != items {
			t.Fatalf("%q: got %d networks, want one for each of its %d items", list, len(nets), items)
		}
		var again []string
		for _, n := range nets {
			if n == nil || n.IP == nil || len(n.Mask) == 0 {
				t.Fatalf("%q: got an empty network %v", list, n)
			}
			if !n.Contains(n.IP) {
				t.Fatalf("%q: %v does not contain its own address", list, n)
			}
			again = append(again, n.String())
		}
		round, err := ParseProxies(strings.Join(again, ","))
		if err != nil {
			t.Fatalf("%q: its networks %v do not parse again: %v", list, again, err)
		}
		for i := range nets {
			if round[i].String() != nets[i].String() {
				t.Fatalf("%q: network %v reads back as %v", list, nets[i], round[i])
			}
		}
		// A single address is trusted alone.
		if !strings.Contains(list, "/") {
			for _, n := range nets {
				if ones, bits := n.Mask.Size(); ones != bits {
					t.Fatalf("%q: address became the range %v", list, n)
				}
			}
		}
	})
}

// FuzzSegmentRuleForm posts arbitrary forms to the segment rule editor's
// reader: it never panics, every posted row whose group came before it
// appears in the tree exactly once, and the settled tree compiles or is
// refused with an error that names the rule's path.
func FuzzSegmentRuleForm(f *testing.F) {
	for _, seed := range []string{
		"match.=all&node=0&field.0=email&op.0=eq&value.0=a%40b.c",
		"match.=any&node=0&kind.0=group&match.0=all&node=0.0&field.0.0=attribute&attr.0.0=city&op.0.0=eq&value.0.0=Paris&node=0.1&field.0.1=tag&op.0.1=in&value.0.1=a&value.0.1=b",
		"node=0&kind.0=group&node=1&kind.1=group&node=0.0&node=1.0&node=0.1&node=0.2&node=0.0.0&edit=add-group:0",
		"node=0&node=0&node=0.0&node=.&node=&edit=remove:0",
		"node=0&field.0=list&op.0=eq&value.0=99&status.0=confirmed&edit=add-condition:",
		"node=0&field.0=created_at&op.0=within_days&value.0=-3",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, form string) {
		v, _ := url.ParseQuery(form)
		root := readRuleForm(v)
		want := map[string]bool{"": true}
		for _, path := range v["node"] {
			parent := ""
			if i := strings.LastIndexByte(path, '.'); i >= 0 {
				parent = path[:i]
			}
			if want[parent] && !want[path] {
				want[path] = true
			}
		}
		got := map[string]int{}
		var walk func(n templates.RuleNode)
		walk = func(n templates.RuleNode) {
			got[n.Path]++
			for _, c := range n.Children {
				walk(c)
			}
		}
		walk(root)
		for path := range want {
			if got[path] != 1 {
				t.Fatalf("%q: row %q appears %d times in the tree, want once", form, path, got[path])
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%q: the tree has %d rows, want %d", form, len(got), len(want))
		}
		applyEdit(&root, v.Get("edit"))
		settle(&root, "")
		rule := toRule(root, "", map[string]string{})
		if _, err := store.CompileRule(rule, time.Now()); err != nil {
			var re *store.RuleError
			if !errors.As(err, &re) || re.Path == "" || re.Message == "" {
				t.Fatalf("%q: compiling gave %v, want an error naming the rule path", form, err)
			}
		}
	})
}

// FuzzSourceForm reads a source's setup form as a browser might send it,
// whatever it holds: reading it never panics, and whatever the checks let
// through is a source that can be asked for (an https URL, header names
// that are tokens, values on one line, a time of day in range).
func FuzzSourceForm(f *testing.F) {
	f.Add("https://shop.example/api", "X-Shop: 1\nX-Key: abc", "06:30", "100", "daily", "bearer", "tok")
	f.Add("http://x", "no colon", "25:99", "-1", "hourly", "basic", "a\nb")
	f.Add("https://shop.example/?a=b#c", "Host: evil\r\nX: \x00", "", "abc", "weekly", "header", "")
	f.Fuzz(func(t *testing.T, u, headers, at, size, schedule, kind, secret string) {
		v := url.Values{"name": {"Shop"}, "url": {u}, "headers": {headers}, "at": {at}, "page_size": {size}, "schedule": {schedule},
			"auth_kind": {kind}, "auth_name": {"X-Api-Key"}, "secret": {secret}, "paging": {"page"}, "mode": {"upsert"},
			"path_0": {"email"}, "target_0": {"email"}}
		in, _, errs := sourceFormInput(v, false)
		if len(errs) > 0 {
			return
		}
		src, sec, err := store.CheckSource(in)
		if err != nil {
			return
		}
		if !strings.HasPrefix(src.URL, "https://") {
			t.Errorf("URL %q accepted", src.URL)
		}
		if src.AtMinute < 0 || src.AtMinute >= 24*60 {
			t.Errorf("minute %d accepted", src.AtMinute)
		}
		for _, h := range sec.Headers {
			if h.Name == "" || strings.ContainsAny(h.Name, " :\r\n") || strings.ContainsAny(h.Value, "\r\n\x00") {
				t.Errorf("header %q: %q accepted", h.Name, h.Value)
			}
		}
		if strings.ContainsAny(sec.Secret, "\r\n\x00") {
			t.Errorf("secret %q accepted", sec.Secret)
		}
	})
}
