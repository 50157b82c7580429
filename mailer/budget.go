package mailer

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	texttemplate "text/template"
	"time"
)

// budget is what one render may still spend. Render resets loops and
// steps for each part.
type budget struct {
	loops, steps, work int
	deadline           time.Time
	// ticks counts charges, so the clock is read only every 64th.
	ticks uint
}

// limitError is a limit a render went past, saying what to change.
type limitError string

func (e limitError) Error() string { return string(e) }

// tooBig is the error of a function asked to make or take in more than MaxValue.
func tooBig(name string) error {
	msg := fmt.Sprintf("%s would work on more than %d KB of text; give it shorter values", name, MaxValue>>10)
	if name == "printf" {
		msg += ", or smaller widths and precisions"
	}
	return limitError(msg)
}

// fullBudget is the budget of a render about to start.
func fullBudget() budget {
	return budget{work: MaxWork, deadline: time.Now().Add(MaxRenderTime)}
}

// counts are what a budget has left of what it counts.
type counts struct{ loops, steps, work int }

func (b *budget) counts() counts { return counts{b.loops, b.steps, b.work} }

// part gives a new part its own loops and steps.
func (b *budget) part() {
	b.loops, b.steps = MaxLoops, MaxSteps
}

// spend takes n bytes of work, and now and then checks the deadline.
func (b *budget) spend(n int) error {
	if b == nil {
		return nil
	}
	if b.work -= n; b.work < 0 {
		return errWork
	}
	return b.tick()
}

func (b *budget) tick() error {
	if b.ticks++; b.ticks%64 == 0 && time.Now().After(b.deadline) {
		return errSlow
	}
	return nil
}

// length is how many times a range runs over v.
func length(v any) int {
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.String:
		return rv.Len()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(max(min(rv.Int(), MaxLoops+1), 0))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int(min(rv.Uint(), MaxLoops+1))
	}
	return 0
}

// loop passes a range's value through, after taking its length from the
// part's budget of iterations.
func loop(d Data, v any) (any, error) {
	if b := d.budget; b != nil {
		if b.loops -= length(v); b.loops < 0 {
			return nil, errLoops
		}
	}
	return v, nil
}

// steps passes a range's value through, after taking its length times the
// weight of the range's body from the part's budget of steps.
func steps(d Data, weight int, v any) (any, error) {
	if b := d.budget; b != nil {
		if b.steps -= length(v) * max(weight, 1); b.steps < 0 {
			return nil, errSteps
		}
		return v, b.tick()
	}
	return v, nil
}

// charge passes a value through, after taking its size from the budget:
// it weighs what builtins and html/template's escapers work through,
// which cannot be metered themselves.
func charge(d Data, v any) (any, error) {
	return v, d.budget.spend(sizeOf(v))
}

// sizeOf weighs values in bytes of text, or in elements for lists and maps.
func sizeOf(vs ...any) int {
	n := 0
	for _, v := range vs {
		switch x := v.(type) {
		case nil:
		case string:
			n += len(x)
		default:
			switch rv := reflect.ValueOf(v); rv.Kind() {
			case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
				n += rv.Len()
			}
		}
	}
	return n
}

// capped writes the parts of a render one after the other into its
// buffer, each up to MaxPart bytes. It holds the render's budget too,
// which saves an allocation a render, and the cues of the variant being
// rendered, if any.
type capped struct {
	b *bytes.Buffer
	// start is where the part being written starts in b.
	start int
	budget
	replay *replay
	spans  []span
}

// newPart starts a part at the end of the buffer, with its own loops and
// steps.
func (c *capped) newPart() {
	c.start = c.b.Len()
	c.part()
}

func (c *capped) Write(p []byte) (int, error) {
	if len(p) == 1 && c.replay != nil {
		if done, err := c.replayed(p); done {
			return 1, err
		}
	}
	return c.write(p)
}

func (c *capped) write(p []byte) (int, error) {
	if err := c.room(len(p)); err != nil {
		return 0, err
	}
	return c.b.Write(p)
}

// writeString is Write for text a plan reads, which holds no cue.
func (c *capped) writeString(s string) error {
	if err := c.room(len(s)); err != nil {
		return err
	}
	_, err := c.b.WriteString(s)
	return err
}

// room checks that n more bytes fit in the part, and now and then the time.
func (c *capped) room(n int) error {
	if c.b.Len()-c.start+n > MaxPart {
		return errTooLarge
	}
	return c.budget.tick()
}

// meteredFuncs are the functions that can make or take in big values,
// Herald's and the builtins of the same names, which they replace. Each
// takes the render's data first, which meterTrees hands it as $, refuses
// more than MaxValue in or out, and takes what it handled from the budget.
func meteredFuncs() map[string]any {
	return map[string]any{
		"printf": func(d Data, format string, args ...any) (string, error) {
			if printfSize(format, args) > MaxValue {
				return "", tooBig("printf")
			}
			return d.made("printf", len(format)+sizeOf(args...), fmt.Sprintf(format, args...))
		},
		"print":   variadic("print", fmt.Sprint),
		"println": variadic("println", fmt.Sprintln),
		"js":      variadic("js", texttemplate.JSEscaper),
		"upper":   unary("upper", strings.ToUpper),
		"lower":   unary("lower", strings.ToLower),
		"title":   unary("title", titleCase),
		"truncate": func(d Data, n int, v any) (string, error) {
			s := textOut(v)
			if len(s) > MaxValue {
				return "", tooBig("truncate")
			}
			return d.made("truncate", len(s), truncate(n, s))
		},
		"date": func(d Data, layout string, v any) (string, error) {
			if len(layout) > MaxValue {
				return "", tooBig("date")
			}
			return d.made("date", len(layout)+sizeOf(v), formatDate(layout, v))
		},
	}
}

// textEscapers meter html and urlquery in text parts. In HTML parts they
// stay the builtins html/template knows, and meterTrees weighs what they
// are given instead.
func textEscapers() map[string]any {
	return map[string]any{
		"html":     variadic("html", texttemplate.HTMLEscaper),
		"urlquery": variadic("urlquery", texttemplate.URLQueryEscaper),
	}
}

// metered reports whether a function takes the render's data as $.
func metered(name string, html bool) bool {
	switch name {
	case "printf", "print", "println", "js", "upper", "lower", "title", "truncate", "date":
		return true
	case "html", "urlquery":
		return !html
	}
	return false
}

// made checks a function's result and takes in+len(out) bytes from the budget.
func (d Data) made(name string, in int, out string) (string, error) {
	if len(out) > MaxValue {
		return "", tooBig(name)
	}
	return out, d.budget.spend(in + len(out))
}

// variadic meters a function of any values that makes text at least as long.
func variadic(name string, f func(...any) string) func(Data, ...any) (string, error) {
	return func(d Data, args ...any) (string, error) {
		in := sizeOf(args...)
		if in > MaxValue {
			return "", tooBig(name)
		}
		return d.made(name, in, f(args...))
	}
}

// unary meters a function of one value's text.
func unary(name string, f func(string) string) func(Data, any) (string, error) {
	return func(d Data, v any) (string, error) {
		s := textOut(v)
		if len(s) > MaxValue {
			return "", tooBig(name)
		}
		return d.made(name, len(s), f(s))
	}
}

// printfSize bounds what fmt.Sprintf makes of format and args before it is
// asked to: the format, every width and precision in it (a * counting as
// the largest number among the arguments), and the arguments, once each,
// or once per verb when verbs choose them by index. fmt caps a width at a
// million, but a format can hold many.
func printfSize(format string, args []any) int {
	n, verbs, indexed := len(format), 0, false
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		verbs++
	verb:
		for i++; i < len(format); i++ {
			switch c := format[i]; {
			case c >= '0' && c <= '9':
				w := 0
				for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
					w = min(w*10+int(format[i]-'0'), 1e7)
				}
				n += w
				i--
			case c == '*':
				n += widest(args)
			case c == '[':
				indexed = true
			case strings.IndexByte("+-# .]", c) < 0:
				break verb
			}
		}
	}
	in := sizeOf(args...)
	if indexed {
		in *= verbs
	}
	return n + in
}

// widest is the largest width a * in a format can take from args.
func widest(args []any) int {
	w := 0
	for _, a := range args {
		switch rv := reflect.ValueOf(a); {
		case rv.CanInt():
			x := int(min(max(rv.Int(), -1e6), 1e6))
			w = max(w, x, -x)
		case rv.CanUint():
			w = max(w, int(min(rv.Uint(), 1e6)))
		}
	}
	return w
}

// Limits on one render, so a template cannot tie up the sender. Loops,
// steps and output are counted per part; the rest hold for the whole render.
const (
	// MaxLoops caps the iterations of all the loops of a part.
	MaxLoops = 100_000
	// MaxSteps caps the actions those loops repeat: a loop takes its length
	// times the size of its body, so a short loop over a long body costs
	// what a long loop over a short one does.
	MaxSteps = 250_000
	// MaxPart caps the bytes of a part.
	MaxPart = 5 << 20
	// MaxValue caps what one function call makes or is given: more text
	// than any email shows (Gmail clips a message past 102 KB), far less
	// than a width in printf can ask for.
	MaxValue = 256 << 10
	// MaxWork caps the bytes a render's functions take in and give out,
	// with what builtins and html/template's escapers work through in
	// loops, so many calls on big values cost what one huge call does:
	// about a tenth of a second at most. An email of MaxPart whose every
	// value passes through a function in both its parts stays inside.
	MaxWork = 16 << 20
	// MaxRenderTime is a backstop behind the counted limits, for whatever
	// they miss. A 20 KB newsletter renders in 20-50 µs, and the slowest
	// render the counted limits let through (all the steps in both parts,
	// or all the work) in about 0.1 s on a 2-core machine. Five seconds is
	// fifty times that, room enough for a machine busy with a campaign and
	// everything else never to fail a render the counted limits accept.
	MaxRenderTime = 5 * time.Second
)

var (
	errLoops = limitError(fmt.Sprintf("the loops would run more than %d times in one email; shorten the data or the loop", MaxLoops))
	errSteps = limitError(fmt.Sprintf("the loops would repeat more than %d actions in one email; shorten the loops or what they repeat", MaxSteps))
	errWork  = limitError(fmt.Sprintf("the functions would work through more than %d MB for one email; call them less often in loops, or on shorter values", MaxWork>>20))
	errSlow  = limitError(fmt.Sprintf("the email took more than %s to render; simplify its loops and functions", MaxRenderTime))
	// errTooLarge stops a render whose part outgrows MaxPart.
	errTooLarge = limitError(fmt.Sprintf("the email is larger than %d MB once rendered; shorten it or its loops", MaxPart>>20))
)
