package netfault

import (
	"strings"
	"testing"
)

func links(c Cut) string {
	var parts []string
	for _, l := range c.Links() {
		parts = append(parts, l.From[len(l.From)-1:]+">"+l.To[len(l.To)-1:])
	}
	return strings.Join(parts, " ")
}

func TestCuts(t *testing.T) {
	all := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}
	split, err := Split(all[:2], all[2:])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := links(split), "1>3 1>4 1>5 2>3 2>4 2>5 3>1 3>2 4>1 4>2 5>1 5>2"; got != want {
		t.Errorf("Split = %s, want %s", got, want)
	}
	iso, err := Isolate("127.0.0.3", all)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := links(iso), "1>3 2>3 3>1 3>2 3>4 3>5 4>3 5>3"; got != want {
		t.Errorf("Isolate = %s, want %s", got, want)
	}
	br, err := Bridge(all)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := links(br), "1>4 1>5 2>4 2>5 4>1 4>2 5>1 5>2"; got != want {
		t.Errorf("Bridge = %s, want %s", got, want)
	}
	for _, n := range all {
		if br.Blocks("127.0.0.3", n) || br.Blocks(n, "127.0.0.3") {
			t.Errorf("the bridge node is cut from %s", n)
		}
	}
	if !(Cut{}).Empty() || (Cut{}).String() != "no cut" || split.Empty() {
		t.Error("Empty or String wrong")
	}
}

func TestCutErrors(t *testing.T) {
	if _, err := Split([]string{"127.0.0.1"}, []string{"127.0.0.1"}); err == nil {
		t.Error("an address on two sides was accepted")
	}
	if _, err := Split([]string{"node1"}, []string{"127.0.0.1"}); err == nil {
		t.Error("a host name was accepted")
	}
	if _, err := Isolate("127.0.0.9", []string{"127.0.0.1", "127.0.0.2"}); err == nil {
		t.Error("isolating an address not in the list was accepted")
	}
	if _, err := Bridge([]string{"127.0.0.1", "127.0.0.2"}); err == nil {
		t.Error("a bridge of 2 was accepted")
	}
}

func TestRestoreScript(t *testing.T) {
	c, _ := Split([]string{"127.0.0.2"}, []string{"127.0.0.3"})
	got, err := restoreScript("CHORUS-NEM-1", c)
	if err != nil {
		t.Fatal(err)
	}
	want := "*filter\n:CHORUS-NEM-1 - [0:0]\n" +
		"-A CHORUS-NEM-1 -s 127.0.0.2/32 -d 127.0.0.3/32 -j DROP\n" +
		"-A CHORUS-NEM-1 -s 127.0.0.3/32 -d 127.0.0.2/32 -j DROP\nCOMMIT\n"
	if got != want {
		t.Errorf("script:\n%s\nwant:\n%s", got, want)
	}
	v6, _ := Split([]string{"::1"}, []string{"127.0.0.3"})
	if _, err := restoreScript("CHORUS-NEM-1", v6); err == nil {
		t.Error("an IPv6 address was accepted")
	}
}
