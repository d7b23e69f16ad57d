//! Go `text/template` conformance, as facts from Go's own table tests
//! (`exec_test.go`, `parse/lex_test.go`): a template, the data, and Go's
//! output or error. Where Helm's function map changes Go's behaviour
//! (Sprig's `slice` replaces the builtin; `missingkey=zero`), the Helm
//! result is expected, as the differential tests confirm against helm.

use std::collections::BTreeMap;

use hlb_helm::convert::from_yaml;
use hlb_helm::engine::execute;
use hlb_helm::value::Value;

const DATA: &str = "
SI: [3, 4, 5]
SB: [true, false]
MSI: {one: 1, two: 2, three: 3}
Empty: []
EmptyMap: {}
Str: hello
Zero: 0
T: true
Nested: {A: {B: deep}}
I: 17
F: 1.5
";

fn data() -> Value {
    match from_yaml(DATA) {
        Ok(v) => v,
        Err(e) => panic!("bad test data: {e}"),
    }
}

/// (name, template, expected output)
const OK: &[(&str, &str, &str)] = &[
    ("empty", "", ""),
    ("text", "some text", "some text"),
    ("dot string", "{{.Str}}", "hello"),
    ("nested field", "{{.Nested.A.B}}", "deep"),
    (
        "missing key (missingkey=zero)",
        "{{.Missing}}",
        "<no value>",
    ),
    (
        "missing key of missing (no value)",
        "{{$x := .Missing}}{{$x.Y}}",
        "<no value>",
    ),
    // Numbers: every Go syntax.
    ("decimal", "{{1}}", "1"),
    ("negative", "{{-1}}", "-1"),
    ("plus", "{{+1}}", "1"),
    ("float", "{{1.5}}", "1.5"),
    ("float integral", "{{3.0}}", "3"),
    ("exponent", "{{1e3}}", "1000"),
    ("big exponent", "{{1e6}}", "1e+06"),
    ("hex", "{{0x1F}}", "31"),
    ("octal 0o", "{{0o17}}", "15"),
    ("octal 0", "{{017}}", "15"),
    ("binary", "{{0b101}}", "5"),
    ("underscores", "{{1_000_000}}", "1000000"),
    ("hex float", "{{0x1p-2}}", "0.25"),
    ("char", "{{'a'}}", "97"),
    ("char escape", "{{'\\n'}}", "10"),
    // Strings.
    ("quoted escapes", "{{\"a\\tb\\u00e9\"}}", "a\tbé"),
    ("raw string", "{{`a\\tb`}}", "a\\tb"),
    // Trim markers and comments.
    ("trim both", "{{23 -}} < {{- 45}}", "23<45"),
    ("trim newline", "a\n  {{- 1 -}}\n  b", "a1b"),
    ("comment", "x{{/* comment */}}y", "xy"),
    ("trimmed comment", "x  {{- /* c */ -}}  y", "xy"),
    ("minus number not trim", "{{-3}}", "-3"),
    // if / else if / else.
    ("if true", "{{if true}}T{{end}}", "T"),
    ("if false else", "{{if false}}T{{else}}F{{end}}", "F"),
    ("if zero", "{{if 0}}T{{else}}F{{end}}", "F"),
    ("if empty string", "{{if \"\"}}T{{else}}F{{end}}", "F"),
    ("if empty slice", "{{if .Empty}}T{{else}}F{{end}}", "F"),
    ("if empty map", "{{if .EmptyMap}}T{{else}}F{{end}}", "F"),
    ("if missing", "{{if .Missing}}T{{else}}F{{end}}", "F"),
    (
        "else if",
        "{{if false}}1{{else if true}}2{{else}}3{{end}}",
        "2",
    ),
    ("if with decl", "{{if $x := .I}}{{$x}}{{end}}", "17"),
    // range.
    ("range slice", "{{range .SI}}-{{.}}-{{end}}", "-3--4--5-"),
    (
        "range index",
        "{{range $i, $x := .SI}}<{{$i}}={{$x}}>{{end}}",
        "<0=3><1=4><2=5>",
    ),
    (
        "range one var",
        "{{range $x := .SI}}<{{$x}}>{{end}}",
        "<3><4><5>",
    ),
    (
        "range map sorted",
        "{{range $k, $v := .MSI}}{{$k}}={{$v}} {{end}}",
        "one=1 three=3 two=2 ",
    ),
    ("range map values", "{{range .MSI}}{{.}} {{end}}", "1 3 2 "),
    (
        "range else",
        "{{range .Empty}}X{{else}}EMPTY{{end}}",
        "EMPTY",
    ),
    (
        "range missing",
        "{{range .Missing}}X{{else}}NONE{{end}}",
        "NONE",
    ),
    ("range int", "{{range 4}}{{.}}{{end}}", "0123"),
    (
        "range break",
        "{{range .SI}}{{if eq . 4.0}}{{break}}{{end}}{{.}}{{end}}",
        "3",
    ),
    (
        "range continue",
        "{{range .SI}}{{if eq . 4.0}}{{continue}}{{end}}{{.}}{{end}}",
        "35",
    ),
    (
        "range $ is root",
        "{{range .SI}}{{$.Str}}{{end}}",
        "hellohellohello",
    ),
    // with.
    ("with", "{{with .Str}}{{.}}{{end}}", "hello"),
    ("with empty else", "{{with \"\"}}X{{else}}Y{{end}}", "Y"),
    (
        "else with",
        "{{with .Missing}}X{{else with .Str}}{{.}}{{else}}Z{{end}}",
        "hello",
    ),
    ("with decl", "{{with $x := 3}}{{$x}}{{end}}", "3"),
    // Variables and scoping.
    ("declare", "{{$x := 1}}{{$x}}", "1"),
    ("assign", "{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
    (
        "assign in if",
        "{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}",
        "2",
    ),
    (
        "shadow in if",
        "{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}",
        "21",
    ),
    (
        "dollar",
        "{{$}}",
        "map[Empty:[] EmptyMap:map[] F:1.5 I:17 MSI:map[one:1 three:3 two:2] Nested:map[A:map[B:deep]] SB:[true false] SI:[3 4 5] Str:hello T:true Zero:0]",
    ),
    // define / template / block.
    (
        "define template",
        "{{define \"x\"}}X{{.}}{{end}}{{template \"x\" 1}}",
        "X1",
    ),
    (
        "template no arg",
        "{{define \"x\"}}[{{.}}]{{end}}{{template \"x\"}}",
        "[<no value>]",
    ),
    ("block", "{{block \"b\" .Str}}B{{.}}{{end}}", "Bhello"),
    (
        "template vars reset",
        "{{$x := 1}}{{define \"v\"}}{{$}}{{end}}{{template \"v\" 5}}",
        "5",
    ),
    // Pipelines.
    (
        "pipeline final arg",
        "{{\"x\" | printf \"%s%s\" \"a\"}}",
        "ax",
    ),
    ("parenthesized", "{{(1)}}", "1"),
    ("parens pipeline", "{{(printf \"%d\" 1)}}", "1"),
    ("chain on parens", "{{(index .Nested \"A\").B}}", "deep"),
    (
        "chain on nil pipe",
        "{{(index .Nested \"Z\").B}}",
        "<no value>",
    ),
    ("variable chain", "{{$n := .Nested}}{{$n.A.B}}", "deep"),
    // Builtins.
    ("and value", "{{and 1 2}}", "2"),
    ("and short", "{{and 0 2}}", "0"),
    ("or value", "{{or 0 \"\" 3}}", "3"),
    ("or all false", "{{or 0 \"\"}}", ""),
    ("not", "{{not true}} {{not 0}}", "false true"),
    ("len", "{{len .SI}} {{len \"abc\"}} {{len .MSI}}", "3 3 3"),
    ("index slice", "{{index .SI 1}}", "4"),
    ("index map", "{{index .MSI \"two\"}}", "2"),
    ("index missing", "{{index .MSI \"nope\"}}", "<no value>"),
    ("index nested", "{{index .Nested \"A\" \"B\"}}", "deep"),
    (
        "eq",
        "{{eq 1 1}} {{eq \"a\" \"b\"}} {{eq 1 2 3 1}}",
        "true false true",
    ),
    ("ne", "{{ne 1 2}}", "true"),
    (
        "lt le gt ge",
        "{{lt 1 2}} {{le 2 2}} {{gt 1.5 2.5}} {{ge \"b\" \"a\"}}",
        "true true false true",
    ),
    (
        "print",
        "{{print 1 2 3}}|{{print \"a\" \"b\"}}|{{print 1 \"b\" 2}}",
        "1 2 3|ab|1b2",
    ),
    ("println", "{{println 1 2}}", "1 2\n"),
    (
        "printf",
        "{{printf \"%s-%d-%.2f-%q-%x-%v-%t\" \"s\" 7 3.14159 \"q\" 255 .SI true}}",
        "s-7-3.14-\"q\"-ff-[3 4 5]-true",
    ),
    (
        "printf %T",
        "{{printf \"%T %T %T %T\" 1 1.5 \"s\" .SI}}",
        "int float64 string []interface {}",
    ),
    (
        "html",
        "{{html \"<script>alert(\\\"XSS\\\");</script>\"}}",
        "&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;",
    ),
    ("js", "{{js \"It'd be nice.\"}}", "It\\'d be nice."),
    (
        "urlquery",
        "{{\"http://www.example.org/\" | urlquery}}",
        "http%3A%2F%2Fwww.example.org%2F",
    ),
    (
        "values are float64 (Helm reads them through JSON)",
        "{{typeOf .I}} {{eq .I 17.0}}",
        "float64 true",
    ),
    (
        "values print as Go",
        "{{.F}} {{.I}} {{.T}} {{.SB}} {{.Nested}}",
        "1.5 17 true [true false] map[A:map[B:deep]]",
    ),
];

/// (name, template, Go's error text)
const ERR: &[(&str, &str, &str)] = &[
    (
        "nil pointer",
        "{{.Missing.X}}",
        "template: t:1:10: executing \"t\" at <.Missing.X>: nil pointer evaluating interface {}.X",
    ),
    (
        "not a function",
        "{{1 2}}",
        "template: t:1:2: executing \"t\" at <1>: can't give argument to non-function 1",
    ),
    (
        "and no args",
        "{{and}}",
        "template: t:1:2: executing \"t\" at <and>: wrong number of args for and: want at least 1 got 0",
    ),
    (
        "eq incompatible",
        "{{eq 1 \"a\"}}",
        "template: t:1:2: executing \"t\" at <eq 1 \"a\">: error calling eq: incompatible types for comparison: int and string",
    ),
    (
        "lt invalid",
        "{{lt true false}}",
        "template: t:1:2: executing \"t\" at <lt true false>: error calling lt: invalid type for comparison",
    ),
    (
        "index out of range",
        "{{index .SI 10}}",
        "template: t:1:2: executing \"t\" at <index .SI 10>: error calling index: index out of range: 10",
    ),
    (
        "range bool",
        "{{range true}}{{end}}",
        "template: t:1:8: executing \"t\" at <true>: range can't iterate over true",
    ),
    (
        "range int two vars",
        "{{range $i, $v := 3}}{{end}}",
        "template: t:1:18: executing \"t\" at <3>: can't use 3 to iterate over more than one variable",
    ),
    (
        "field of string",
        "{{.Str.X}}",
        "template: t:1:6: executing \"t\" at <.Str.X>: can't evaluate field X in type interface {}",
    ),
    (
        "undefined template",
        "{{template \"nope\"}}",
        "template: t:1:11: executing \"t\" at <{{template \"nope\"}}>: template \"nope\" not defined",
    ),
    (
        "wrong type",
        "{{upper .Missing}}",
        "template: t:1:8: executing \"t\" at <.Missing>: wrong type for value; expected string; got interface {}",
    ),
    (
        "int literal for string",
        "{{upper 3}}",
        "template: t:1:8: executing \"t\" at <3>: expected string; found 3",
    ),
    (
        "string literal for int",
        "{{repeat \"x\" \"y\"}}",
        "template: t:1:9: executing \"t\" at <\"x\">: expected integer; found \"x\"",
    ),
    (
        "values are not ints",
        "{{eq .I 17}}",
        "template: t:1:2: executing \"t\" at <eq .I 17>: error calling eq: incompatible types for comparison: float64 and int",
    ),
    (
        "nil command",
        "{{nil}}",
        "template: t:1:2: executing \"t\" at <nil>: nil is not a command",
    ),
    // Helm's function map: Sprig's slice wins over Go's builtin.
    (
        "sprig slice",
        "{{slice \"abc\" 1}}",
        "template: t:1:2: executing \"t\" at <slice \"abc\" 1>: error calling slice: list should be type of slice or array but string",
    ),
];

/// Parse errors (Go's lexer and parser): (name, template, message).
const PARSE: &[(&str, &str, &str)] = &[
    (
        "unterminated quote",
        "{{ \"abc }}",
        "template: t:1: unterminated quoted string",
    ),
    (
        "unterminated raw",
        "{{ `abc }}",
        "template: t:1: unterminated raw quoted string",
    ),
    (
        "unterminated char",
        "{{ 'a }}",
        "template: t:1: unterminated character constant",
    ),
    (
        "bad number",
        "{{ 3k }}",
        "template: t:1: bad number syntax: \"3k\"",
    ),
    (
        "unexpected char",
        "{{#}}",
        "template: t:1: unexpected \"#\" in command",
    ),
    (
        "unclosed comment",
        "{{/* x",
        "template: t:1: unclosed comment",
    ),
    (
        "right paren",
        "{{ ) }}",
        "template: t:1: unexpected right paren",
    ),
    (
        "left paren",
        "{{ ( }}",
        "template: t:1: unclosed left paren",
    ),
    (
        "undefined function first",
        "{{x",
        "template: t:1: function \"x\" not defined",
    ),
    ("unclosed action", "{{ 1", "template: t:1: unclosed action"),
    (
        "missing value",
        "{{if}}{{end}}",
        "template: t:1: missing value for if",
    ),
    (
        "undefined variable",
        "{{$x}}",
        "template: t:1: undefined variable \"$x\"",
    ),
    (
        "unexpected end",
        "{{end}}",
        "template: t:1: unexpected {{end}}",
    ),
    (
        "unexpected EOF",
        "{{if true}}",
        "template: t:1: unexpected EOF",
    ),
    (
        "break outside range",
        "{{break}}",
        "template: t:1: {{break}} outside {{range}}",
    ),
    (
        "non executable",
        "{{1 | 2}}",
        "template: t:1: non executable command in pipeline stage 2",
    ),
];

fn run(t: &str) -> Result<String, String> {
    execute("t", t, data(), 0)
}

#[test]
fn go_exec_outputs() {
    let mut bad = Vec::new();
    for (name, t, want) in OK {
        match run(t) {
            Ok(got) if got == *want => {}
            other => bad.push(format!("{name}: {t:?}\n  want {want:?}\n  got  {other:?}")),
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {}:\n{}",
        bad.len(),
        OK.len(),
        bad.join("\n")
    );
}

#[test]
fn go_exec_errors() {
    let mut bad = Vec::new();
    for (name, t, want) in ERR.iter().chain(PARSE.iter()) {
        match run(t) {
            Err(got) if got == *want => {}
            other => bad.push(format!("{name}: {t:?}\n  want {want:?}\n  got  {other:?}")),
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {}:\n{}",
        bad.len(),
        ERR.len() + PARSE.len(),
        bad.join("\n")
    );
}

#[test]
fn data_is_a_map() {
    let mut m = BTreeMap::new();
    m.insert("k".to_string(), Value::str("v"));
    assert_eq!(
        execute("t", "{{.k}}", Value::map(m), 0).ok().as_deref(),
        Some("v")
    );
}
