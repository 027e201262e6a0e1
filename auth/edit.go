package auth

import (
	"bytes"
	"cmp"
	"fmt"
	"regexp"
	"slices"
)

// AppendToken returns the auth file data with the token entry e added,
// and whether the file had to be rewritten in canonical form (its
// comments and layout lost) rather than edited in place. It refuses an
// entry whose name or hash the file already has, and data that does not
// decode. The result always decodes to the old entries plus e.
func AppendToken(data []byte, e TokenEntry) (out []byte, rewritten bool, err error) {
	if err := checkName(e.Name); err != nil {
		return nil, false, fmt.Errorf("auth: token name %w", err)
	}
	if e.Roles == 0 {
		return nil, false, fmt.Errorf("auth: token %q has no roles", e.Name)
	}
	f, err := Decode(data)
	if err != nil {
		return nil, false, err
	}
	for _, t := range f.Tokens {
		switch {
		case t.Name == e.Name:
			return nil, false, fmt.Errorf("auth: the file already has a token named %q", e.Name)
		case t.SHA256 == e.SHA256:
			return nil, false, fmt.Errorf("auth: the file already has this token, named %q", t.Name)
		}
	}
	want := &File{Users: f.Users, Tokens: append(slices.Clip(f.Tokens), e)}
	// Edit the text where a plain edit keeps the file as its author wrote
	// it; each candidate is kept only if it decodes to exactly the wanted
	// entries, so a guess about the layout can never corrupt the file.
	for _, cand := range tokenEdits(data, e) {
		if g, err := decode(cand); err == nil && sameEntries(g, want) {
			return cand, false, nil
		}
	}
	return want.Encode(), true, nil
}

// tokensLine matches the top-level tokens key on a line of its own,
// with an empty flow list or nothing after it.
var tokensLine = regexp.MustCompile(`(?m)^tokens:[ \t]*(\[[ \t]*\])?[ \t]*(#.*)?$`)

// tokenEdits returns edits of data that may add e, most likely first.
func tokenEdits(data []byte, e TokenEntry) [][]byte {
	entry := e.entryText()
	flush := bytes.ReplaceAll([]byte(entry), []byte("\n  "), []byte("\n"))[2:] // the same at indent 0
	base := data
	if len(base) > 0 && base[len(base)-1] != '\n' {
		base = append(slices.Clip(base), '\n')
	}
	cands := [][]byte{
		concat(base, []byte("tokens:\n"), []byte(entry)), // no tokens key yet
		concat(base, []byte(entry)),                      // tokens is the last key
		concat(base, flush),                              // ... with its items at indent 0
	}
	if m := tokensLine.FindSubmatchIndex(data); m != nil {
		// Right after the tokens key (keeping its comment): an empty
		// list, or items indented as ours are.
		key := []byte("tokens:")
		if m[4] >= 0 {
			key = concat(key, []byte(" "), data[m[4]:m[5]])
		}
		key = append(key, '\n')
		rest := bytes.TrimPrefix(data[m[1]:], []byte("\n"))
		cands = append(cands, concat(data[:m[0]], key, []byte(entry), rest))
		cands = append(cands, concat(data[:m[0]], key, flush, rest))
	}
	return cands
}

// concat returns a new slice holding the parts one after the other.
func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// sameEntries reports whether a and b hold the same users and tokens, in
// any order (an edit may put the new token first).
func sameEntries(a, b *File) bool {
	return slices.Equal(sortedUsers(a.Users), sortedUsers(b.Users)) &&
		slices.Equal(sortedTokens(a.Tokens), sortedTokens(b.Tokens))
}

func sortedUsers(u []User) []User {
	return slices.SortedFunc(slices.Values(u), func(x, y User) int { return cmp.Compare(x.Name, y.Name) })
}

func sortedTokens(t []TokenEntry) []TokenEntry {
	return slices.SortedFunc(slices.Values(t), func(x, y TokenEntry) int { return cmp.Compare(x.Name, y.Name) })
}
