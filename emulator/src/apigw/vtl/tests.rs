use std::collections::BTreeMap;

use serde_json::json;

use super::*;

fn cx() -> RenderContext {
    RenderContext {
        body: r#"{"name":"Ann","age":30,"tags":["a","b"],"nested":{"x":1,"y":[{"z":true}]},"price":9.5}"#
            .into(),
        path: BTreeMap::from([("id".into(), "42".into())]),
        querystring: BTreeMap::from([("q".into(), "rust lang".into()), ("id".into(), "query-id".into())]),
        header: BTreeMap::from([
            ("Accept".into(), "application/json".into()),
            ("X-Trace".into(), "abc".into()),
        ]),
        context: json!({
            "requestId": "req-1",
            "httpMethod": "POST",
            "resourcePath": "/items/{id}",
            "stage": "dev",
            "identity": {"sourceIp": "10.0.0.1"},
            "authorizer": {"principalId": "user-1", "claims": {"email": "a@b.c"}}
        }),
        stage_variables: BTreeMap::from([("table".into(), "Items".into())]),
    }
}

fn render_with(src: &str, cx: &RenderContext) -> String {
    match parse(src) {
        Ok(t) => match t.render(cx) {
            Ok(r) => r.body,
            Err(e) => panic!("render failed for {src:?}: {e}"),
        },
        Err(e) => panic!("parse failed for {src:?}: {e}"),
    }
}

fn r(src: &str) -> String {
    render_with(src, &cx())
}

fn render_err(src: &str) -> VtlError {
    match parse(src) {
        Ok(t) => t.render(&cx()).expect_err("expected a render error"),
        Err(e) => panic!("parse failed for {src:?}: {e}"),
    }
}

fn parse_err(src: &str) -> String {
    parse(src).expect_err("expected a parse error").to_string()
}

// ---------------------------------------------------------------------------------------------------------
// References

#[test]
fn plain_text_passes_through() {
    assert_eq!(
        r("hello {\"a\": 1} 100% # $ \\ done"),
        "hello {\"a\": 1} 100% # $ \\ done"
    );
    assert_eq!(r(""), "");
    assert_eq!(
        r("color: #fff; #notadirective"),
        "color: #fff; #notadirective"
    );
}

#[test]
fn reference_forms() {
    assert_eq!(r("#set($x = \"v\")$x ${x} $!x $!{x}"), "v v v v");
    assert_eq!(r("#set($x = \"v\")${x}suffix"), "vsuffix");
    assert_eq!(r("#set($x = \"v\")$x.$x"), "v.v");
    assert_eq!(r("#set($name = \"Ann\")Hi $name."), "Hi Ann.");
}

#[test]
fn undefined_references_render_as_written() {
    assert_eq!(r("$foo"), "$foo");
    assert_eq!(r("${foo}"), "${foo}");
    assert_eq!(r("$foo.bar.baz()"), "$foo.bar.baz()");
    assert_eq!(r("a $!foo b $!{foo.bar} c"), "a  b  c");
    // A set variable whose chain meets null renders as empty text (recorded from AWS, notes §8.1).
    assert_eq!(r("[$context.nothing]"), "[]");
    assert_eq!(r("[$context.nothing.deeper]"), "[]");
    assert_eq!(r("[$stageVariables.missing]"), "[]");
    assert_eq!(r("#set($m = {})[$m.a]"), "[]");
}

#[test]
fn dollar_without_identifier_is_text() {
    assert_eq!(
        r("cost: $5 and $ and $.a and ${ and $!"),
        "cost: $5 and $ and $.a and ${ and $!"
    );
    assert_eq!(r("$name[draft]"), "$name[draft]");
}

#[test]
fn property_index_and_method_chains() {
    let t = "#set($m = {\"a\": {\"b\": [10, 20, {\"c\": \"deep\"}]}})$m.a.b[2].c $m.a.b[0] $m[\"a\"].b.get(1) $m.a.b[-1].c";
    assert_eq!(r(t), "deep 10 20 deep");
    assert_eq!(
        r("#set($k = \"a\")#set($m = {\"a\": 1})$m[$k] $m.get($k)"),
        "1 1"
    );
}

#[test]
fn escaping() {
    assert_eq!(r("#set($x = 1)\\$x"), "$x");
    assert_eq!(r("#set($x = 1)\\\\$x"), "\\1");
    assert_eq!(r("#set($x = 1)\\\\\\$x"), "\\$x");
    // Velocity keeps the backslash before an undefined reference.
    assert_eq!(r("\\$undefined"), "\\$undefined");
    assert_eq!(r("\\#if($x)"), "#if($x)");
    assert_eq!(r("\\#set($x = 1)$x"), "#set($x = 1)$x");
    assert_eq!(r("a\\b\\n"), "a\\b\\n");
    assert_eq!(r("#[[#if($x) $y #end]]#"), "#if($x) $y #end");
}

#[test]
fn comments() {
    assert_eq!(r("a## line comment\nb"), "ab");
    assert_eq!(r("a#* block\n comment *#b"), "ab");
    assert_eq!(r("a#** doc comment *#b"), "ab");
    assert_eq!(r("## only a comment\nx\n  ## indented comment\ny"), "x\ny");
}

// ---------------------------------------------------------------------------------------------------------
// Literals and operators

#[test]
fn literals() {
    assert_eq!(r("#set($s = 'single $x')$s"), "single $x");
    assert_eq!(
        r("#set($x = 5)#set($s = \"double $x ${x}!\")$s"),
        "double 5 5!"
    );
    assert_eq!(
        r("#set($s = \"it''s \"\"quoted\"\"\")$s"),
        "it''s \"quoted\""
    );
    assert_eq!(r("#set($s = 'it''s')$s"), "it's");
    // Backslashes in literals stay as written (Velocity 1.7).
    assert_eq!(r("#set($s = \"a\\nb\")$s"), "a\\nb");
    assert_eq!(
        r("#set($n = 42)#set($f = 2.50)#set($t = true)#set($u = false)$n $f $t $u"),
        "42 2.5 true false"
    );
    assert_eq!(r("#set($l = [1, \"two\", [3]])$l"), "[1, two, [3]]");
    assert_eq!(
        r("#set($m = {\"a\": 1, \"b\": \"x\", \"c\": [1, 2], \"d\": {}})$m"),
        "{a=1, b=x, c=[1, 2], d={}}"
    );
    assert_eq!(r("#set($l = [])$l $l.size()"), "[] 0");
    assert_eq!(
        r("[1..3] #set($r = [1..3])$r #set($d = [3..1])$d"),
        "[1..3] [1, 2, 3] [3, 2, 1]"
    );
    assert_eq!(r("#set($a = 2)#set($r = [$a..4])$r"), "[2, 3, 4]");
    assert_eq!(r("#set($r = [-1..1])$r"), "[-1, 0, 1]");
}

#[test]
fn numbers_print_as_java_does() {
    assert_eq!(r("#set($x = 10.0)$x"), "10.0");
    assert_eq!(r("#set($x = 7 / 2)$x"), "3");
    assert_eq!(r("#set($x = 7.0 / 2)$x"), "3.5");
    assert_eq!(r("#set($x = 10000000.0 * 10)$x"), "1.0E8");
    assert_eq!(r("#set($x = 1.0 / 10000)$x"), "1.0E-4");
    assert_eq!(value::java_double(0.001), "0.001");
    assert_eq!(value::java_double(1.5e20), "1.5E20");
    assert_eq!(value::java_double(-0.0), "-0.0");
}

#[test]
fn arithmetic() {
    assert_eq!(r("#set($x = 1 + 2 * 3 - 4 / 2 % 3)$x"), "5");
    assert_eq!(r("#set($x = (1 + 2) * 3)$x"), "9");
    assert_eq!(r("#set($x = -7 % 3)$x"), "-1");
    assert_eq!(r("#set($x = -(2 + 3))$x"), "-5");
    assert_eq!(r("#set($x = 1 + 0.5)$x"), "1.5");
    assert_eq!(r("#set($x = \"a\" + 1 + 2)$x"), "a12");
    assert_eq!(r("#set($x = 1 + 2 + \"a\")$x"), "3a");
    // Velocity gives null for a division by zero and for a null operand.
    assert_eq!(
        r("#set($x = 1 / 0)[$x] #set($y = $nothing + 1)[$y]"),
        "[] []"
    );
    assert_eq!(
        r("#set($x = 9223372036854775807 + 1)$x"),
        "9.223372036854776E18"
    );
    assert!(matches!(
        render_err("#set($x = {} - 1)"),
        VtlError::Render { line: 1, .. }
    ));
}

#[test]
fn comparisons_and_logic() {
    let cases = [
        ("1 == 1", true),
        ("1 == 1.0", true),
        ("1 != 2", true),
        ("\"a\" == \"a\"", true),
        ("\"1\" == 1", true),
        ("true == \"true\"", true),
        ("[1, 2] == [1, 2]", true),
        ("{\"a\": 1} == {\"a\": 1}", true),
        ("1 < 2", true),
        ("2 > 1", true),
        ("2 <= 2", true),
        ("2 >= 3", false),
        ("\"a\" < \"b\"", true),
        (
            "1 lt 2 && 2 gt 1 && 2 le 2 && 2 ge 2 && 1 eq 1 && 1 ne 2",
            true,
        ),
        ("true && false", false),
        ("true || false", true),
        ("true and false", false),
        ("false or true", true),
        ("!false", true),
        ("not true", false),
        ("!(1 == 2) && (2 == 2)", true),
        ("$undefined == $null", true),
        ("$undefined == \"\"", true),
        ("$context.nothing == \"\"", true),
        ("[] == \"\"", false),
        ("$undefined < 1", false),
        ("$undefined", false),
        ("\"\"", true),
        ("0", true),
        ("!$undefined", true),
    ];
    for (expr, expected) in cases {
        let out = r(&format!("#if({expr})yes#{{else}}no#end"));
        assert_eq!(out, if expected { "yes" } else { "no" }, "{expr}");
    }
}

#[test]
fn short_circuit() {
    // The right side would fail (no such method), so it must not run.
    assert_eq!(
        r("#if(false && $context.requestId.nope())a#{else}b#end"),
        "b"
    );
    assert_eq!(r("#if(true || $context.requestId.nope())a#end"), "a");
}

// ---------------------------------------------------------------------------------------------------------
// Directives

#[test]
fn set_directive() {
    assert_eq!(r("#set($a = 1)#set($a = $a + 1)$a"), "2");
    assert_eq!(r("#set( $a = \"spaced\" )$a"), "spaced");
    assert_eq!(
        r("#set($m = {})#set($m.k = \"v\")#set($m[\"j\"] = 2)$m"),
        "{k=v, j=2}"
    );
    assert_eq!(r("#set($l = [1, 2])#set($l[0] = 9)$l"), "[9, 2]");
    // Maps and lists are shared, as Java objects are.
    assert_eq!(r("#set($a = {})#set($b = $a)$b.put(\"k\", 1)$a"), "{k=1}");
    // A #set whose base is undefined does nothing.
    assert_eq!(r("#set($nothing.k = 1)[$!nothing]"), "[]");
    assert_eq!(r("#set($x = $undefined)[$x]"), "[]");
}

#[test]
fn if_elseif_else() {
    let t = "#foreach($n in [1, 2, 3, 4])#if($n == 1)one#elseif($n == 2)two#elseif($n == 3)three#{else}many#end,#end";
    assert_eq!(r(t), "one,two,three,many,");
    assert_eq!(r("#if ($context.stage == \"dev\") dev #end"), " dev ");
    assert_eq!(r("#{if}(true)braced#{end}"), "braced");
}

#[test]
fn foreach_variables() {
    let t = "#foreach($x in [\"a\", \"b\", \"c\"])$foreach.index/$foreach.count/$velocityCount/$foreach.hasNext/$foreach.first/$foreach.last $x;#end";
    assert_eq!(
        r(t),
        "0/1/1/true/true/false a;1/2/2/true/false/false b;2/3/3/false/false/true c;"
    );
    assert_eq!(
        r("#foreach($x in [1, 2])$foreach.hasNext()#end"),
        "truefalse"
    );
    // A map iterates over its values; null and scalars iterate zero times.
    assert_eq!(r("#foreach($v in {\"a\": 1, \"b\": 2})$v#end"), "12");
    assert_eq!(
        r("#foreach($v in $undefined)x#end#foreach($v in 5)x#end."),
        "."
    );
    // The loop variable is restored afterwards.
    assert_eq!(
        r("#set($x = \"outer\")#foreach($x in [1])$x#end $x"),
        "1 outer"
    );
    assert_eq!(r("#foreach($x in [1])#end[$!x]"), "[]");
    assert_eq!(r("#foreach(${x} in [1, 2])$x#end"), "12");
}

#[test]
fn nested_foreach_builds_json() {
    let t = "\
#set($groups = [{\"name\": \"g1\", \"items\": [1, 2]}, {\"name\": \"g2\", \"items\": [3]}, {\"name\": \"g3\", \"items\": []}])
[
#foreach($g in $groups)
  {\"name\": \"$g.name\", \"items\": [#foreach($i in $g.items)$i#if($foreach.hasNext), #end#end], \"outerIndex\": $foreach.index}#if($foreach.hasNext),#end

#end
]";
    let out = r(t);
    assert_eq!(
        out,
        "[\n  {\"name\": \"g1\", \"items\": [1, 2], \"outerIndex\": 0},\n\n  {\"name\": \"g2\", \"items\": [3], \"outerIndex\": 1},\n\n  {\"name\": \"g3\", \"items\": [], \"outerIndex\": 2}\n\n]"
    );
    let parsed: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(parsed[1]["items"], json!([3]));
}

#[test]
fn break_and_stop() {
    assert_eq!(
        r("#foreach($i in [1..5])#if($i == 3)#break#end$i#end!"),
        "12!"
    );
    assert_eq!(
        r("#foreach($i in [1, 2])#foreach($j in [1, 2, 3])#if($j == 2)#break#end$i$j #end#end"),
        "11 21 "
    );
    assert_eq!(r("a#stop b"), "a");
    assert_eq!(r("#foreach($i in [1, 2])$i#stop#end after"), "1");
}

#[test]
fn whitespace_gobbling() {
    let t = "{\n  #set($a = 1)\n  #if($a == 1)\n  \"a\": $a\n  #end\n}\n";
    assert_eq!(r(t), "{\n  \"a\": 1\n}\n");
    // A directive sharing its line with text keeps the line.
    assert_eq!(r("x #set($a = 1) y\nz"), "x  y\nz");
    assert_eq!(r("#set($a = 1)\r\nline"), "line");
    assert_eq!(r("   #endless text\n"), "   #endless text\n");
    // `#end-less` is `#end` and then text, since names cannot hold `-`.
    assert!(parse("#end-less").is_err());
    // The last line without a newline is gobbled too.
    assert_eq!(r("a\n  #set($a = 1)"), "a\n");
}

#[test]
fn refused_directives_name_their_line() {
    assert_eq!(
        parse_err("line one\nline two\n#macro(foo)x#end"),
        "line 3: #macro is not supported by Offcloud's VTL"
    );
    for d in ["include", "parse", "evaluate", "define", "literal"] {
        let err = parse(&format!("\n#{d}(\"x\")")).expect_err(d);
        assert_eq!(
            err,
            VtlError::Unsupported {
                line: 2,
                directive: d.into()
            }
        );
    }
    assert_eq!(
        parse_err("#{macro}(x)"),
        "line 1: #macro is not supported by Offcloud's VTL"
    );
    // Escaped, it is only text.
    assert_eq!(r("\\#macro(x)"), "#macro(x)");
}

#[test]
fn syntax_errors_have_lines() {
    assert_eq!(parse_err("a\n#if($x)"), "line 2: #if has no matching #end");
    assert_eq!(
        parse_err("#end"),
        "line 1: #end without a matching #if or #foreach"
    );
    assert_eq!(
        parse_err("x\n\n#else"),
        "line 3: #else without a matching #if"
    );
    assert_eq!(
        parse_err("#if(true)#else#else#end"),
        "line 1: #else or #elseif after #else"
    );
    assert!(parse_err("#set($x 1)").starts_with("line 1: "));
    assert!(parse_err("\n#set($x = )").starts_with("line 2: "));
    assert!(parse_err("#if $x #end").contains("#if must be followed by `(`"));
    assert!(parse_err("#foreach($x of $y)#end").contains("`in`"));
    assert!(parse_err("#set($x = \"unterminated)").contains("never closed"));
    assert!(parse_err("#* open comment").contains("never closed"));
    assert!(parse_err("$a.b(1,").starts_with("line 1"));
    assert!(parse_err("#set($a.b() = 1)").contains("method call"));
    assert!(parse_err("#set($s = \"#if($x)a#end\")").contains("double-quoted string"));
    assert!(parse_err("#set($s = \"a ## b\")").contains("double-quoted string"));
    assert_eq!(
        r("#set($x = 1)#set($s = \"#fff \\#if $x\")$s"),
        "#fff #if 1"
    );
    assert!(
        parse_err(&format!(
            "#set($x = {}1{})",
            "(".repeat(200),
            ")".repeat(200)
        ))
        .contains("too deeply")
    );
    assert!(parse_err(&"#if(true)".repeat(200)).contains("too deeply"));
}

// ---------------------------------------------------------------------------------------------------------
// Java methods

#[test]
fn string_methods() {
    let s = "#set($s = \"  Hello, World  \")#set($t = \"Hello\")";
    let cases = [
        ("$t.length()", "5"),
        ("$t.contains(\"ell\")", "true"),
        ("$t.startsWith(\"He\")", "true"),
        ("$t.startsWith(\"l\", 2)", "true"),
        ("$t.endsWith(\"lo\")", "true"),
        ("$t.indexOf(\"l\")", "2"),
        ("$t.indexOf(\"l\", 3)", "3"),
        ("$t.indexOf(\"z\")", "-1"),
        ("$t.lastIndexOf(\"l\")", "3"),
        ("$t.substring(1)", "ello"),
        ("$t.substring(1, 3)", "el"),
        ("$t.charAt(1)", "e"),
        ("$t.replace(\"l\", \"L\")", "HeLLo"),
        ("$t.replaceAll(\"l+\", \"_\")", "He_o"),
        ("$t.replaceAll(\"(H)(e)\", \"$2$1\")", "eHllo"),
        ("$t.replaceAll(\"(?P<first>H)\", \"[${first}]\")", "[H]ello"),
        ("$t.replaceAll(\"l\", \"\\$\")", "He$$o"),
        ("$t.replaceFirst(\"l\", \"L\")", "HeLlo"),
        ("$t.split(\"l\")", "[He, , o]"),
        ("#set($v = \"a,b,,\")$v.split(\",\")", "[a, b]"),
        ("#set($v = \"a,b,,\")$v.split(\",\", -1)", "[a, b, , ]"),
        ("#set($v = \"a,b,c\")$v.split(\",\", 2)", "[a, b,c]"),
        ("#set($v = \"abc\")$v.split(\"\")", "[a, b, c]"),
        ("#set($v = \"\")$v.split(\",\")", "[]"),
        ("$s.trim()", "Hello, World"),
        ("$t.toLowerCase()", "hello"),
        ("$t.toUpperCase()", "HELLO"),
        ("$t.equals(\"Hello\")", "true"),
        ("$t.equals(5)", "false"),
        ("$t.equalsIgnoreCase(\"hELLO\")", "true"),
        ("$t.isEmpty()", "false"),
        ("#set($v = \"\")$v.isEmpty()", "true"),
        ("$t.empty", "false"),
        ("$t.matches(\"H.*o\")", "true"),
        ("$t.matches(\"ell\")", "false"),
        ("$t.concat(\"!\")", "Hello!"),
        ("$t.toString()", "Hello"),
        ("$t.compareTo(\"Help\")", "-4"),
        ("#set($v = \"é😀x\")$v.length()", "4"),
        ("#set($v = \"é😀x\")$v.substring(3)", "x"),
    ];
    for (expr, expected) in cases {
        assert_eq!(r(&format!("{s}{expr}")), expected, "{expr}");
    }
    // The AWS docs' way of undoing escapeJavaScript's \' (DG:api-gateway-mapping-template-reference).
    assert_eq!(
        r("#set($x = \"it\\'s\")$x.replaceAll(\"\\\\'\",\"'\")"),
        "it's"
    );
    // `"".split(",")` is `[""]` in Java, whose toString is `[]`.
    assert_eq!(r("#set($e = \"\")#set($p = $e.split(\",\"))$p.size()"), "1");
}

#[test]
fn string_method_errors() {
    let err = render_err("\n#set($t = \"abc\")$t.substring(2, 1)");
    assert_eq!(
        err,
        VtlError::Render {
            line: 2,
            message: "begin 2, end 1, length 3".into()
        }
    );
    assert!(
        render_err("#set($t = \"abc\")$t.replaceAll(\"(?<=a)b\", \"x\")")
            .to_string()
            .contains("not supported")
    );
    assert!(
        render_err("#set($t = \"abc\")$t.replaceAll(\"b\", \"$9\")")
            .to_string()
            .contains("No group 9")
    );
    assert!(
        render_err("#set($t = \"abc\")$t.charAt(5)")
            .to_string()
            .contains("out of bounds")
    );
}

#[test]
fn list_methods() {
    let l = "#set($l = [1, \"b\", 3])";
    let cases = [
        ("$l.size()", "3"),
        ("$l.get(1)", "b"),
        ("$l.contains(3)", "true"),
        ("$l.contains(\"3\")", "false"),
        ("$l.isEmpty()", "false"),
        ("$l.indexOf(\"b\")", "1"),
        ("$l.add(4)$l", "true[1, b, 3, 4]"),
        ("#set($ignored = $l.add(4))$l", "[1, b, 3, 4]"),
        ("$l.add(0, \"z\")$l", "[z, 1, b, 3]"),
        ("$l.addAll([7, 8])$l", "true[1, b, 3, 7, 8]"),
        ("$l.set(0, 9)$l", "1[9, b, 3]"),
        ("$l.remove(0)$l", "1[b, 3]"),
        ("$l.remove(\"b\")$l", "true[1, 3]"),
        ("$l.clear()$l", "[]"),
        ("$l.equals([1, \"b\", 3])", "true"),
        ("$l.toString()", "[1, b, 3]"),
        ("$l.empty", "false"),
        ("#set($e = [])$e.isEmpty()", "true"),
    ];
    for (expr, expected) in cases {
        assert_eq!(r(&format!("{l}{expr}")), expected, "{expr}");
    }
    let err = render_err("#set($l = [1])$l.get(3)");
    assert_eq!(
        err.to_string(),
        "line 1: Index 3 out of bounds for length 1"
    );
}

#[test]
fn map_methods() {
    let m = "#set($m = {\"a\": 1, \"b\": \"two\"})";
    let cases = [
        ("$m.get(\"a\")", "1"),
        ("[$m.get(\"zz\")]", "[]"),
        ("$m.containsKey(\"b\")", "true"),
        ("$m.containsKey(\"c\")", "false"),
        ("$m.containsValue(\"two\")", "true"),
        ("$m.keySet()", "[a, b]"),
        ("$m.values()", "[1, two]"),
        ("$m.entrySet()", "[a=1, b=two]"),
        (
            "#foreach($e in $m.entrySet())$e.key:$e.value $e.getKey()=$e.getValue();#end",
            "a:1 a=1;b:two b=two;",
        ),
        ("$m.size()", "2"),
        ("$m.isEmpty()", "false"),
        ("[$m.put(\"c\", 3)]$m", "[]{a=1, b=two, c=3}"),
        ("$m.put(\"a\", 9)$m", "1{a=9, b=two}"),
        ("$m.putAll({\"z\": 0})$m", "{a=1, b=two, z=0}"),
        ("$m.remove(\"a\")$m", "1{b=two}"),
        ("$m.a $m[\"b\"]", "1 two"),
        ("$m", "{a=1, b=two}"),
        ("{}.isEmpty()", "{}.isEmpty()"),
    ];
    for (expr, expected) in cases {
        assert_eq!(r(&format!("{m}{expr}")), expected, "{expr}");
    }
    assert_eq!(r("#set($e = {})$e.isEmpty()"), "true");
}

#[test]
fn number_and_boolean_methods() {
    assert_eq!(
        r("#set($n = 3)$n.toString() $n.doubleValue() $n.intValue() $n.compareTo(5) $n.equals(3)"),
        "3 3.0 3 -1 true"
    );
    assert_eq!(r("#set($f = 2.7)$f.intValue()"), "2");
    assert_eq!(
        r("#set($b = true)$b.booleanValue() $b.toString()"),
        "true true"
    );
    // A method on null gives null.
    assert_eq!(r("[$context.nothing.trim()]"), "[]");
}

#[test]
fn unknown_methods_are_errors_naming_the_method() {
    let err = render_err("#set($s = \"x\")\n\n$s.size()");
    assert_eq!(
        err,
        VtlError::Render {
            line: 3,
            message: "there is no method size() taking 0 arguments on a string".into()
        }
    );
    assert!(
        render_err("#set($l = [])$l.frobnicate(1)")
            .to_string()
            .contains("frobnicate()")
    );
    assert!(
        render_err("#set($m = {})#set($x = $m.nope())")
            .to_string()
            .contains("nope()")
    );
    assert!(
        render_err("$util.toJson($x)")
            .to_string()
            .contains("$util.toJson")
    );
    assert!(
        render_err("$input.nope()")
            .to_string()
            .contains("$input.nope")
    );
    assert!(render_err("$input").to_string().contains("on its own"));
}

// ---------------------------------------------------------------------------------------------------------
// $input

#[test]
fn input_body_and_json() {
    let c = cx();
    assert_eq!(r("$input.body"), c.body);
    assert_eq!(r("$input.json('$')"), c.body);
    assert_eq!(r("$input.json('$.name')"), "\"Ann\"");
    assert_eq!(r("$input.json('$.age')"), "30");
    assert_eq!(
        r("$input.json('$.nested')"),
        "{\"x\":1,\"y\":[{\"z\":true}]}"
    );
    assert_eq!(r("$input.json('$.tags[1]')"), "\"b\"");
    assert_eq!(r("$input.json(\"$['nested']['x']\")"), "1");
    assert_eq!(r("$input.json('$.tags[*]')"), "[\"a\",\"b\"]");
    assert_eq!(r("$input.json('$..z')"), "[true]");
    assert_eq!(r("$input.json('$.nested.*')"), "[1,[{\"z\":true}]]");
    assert_eq!(r("$input.json('nested.x')"), "1");
    assert_eq!(r("[$input.json('$.missing')]"), "[]");
    assert!(
        render_err("$input.json('$.a[?(@.b)]')")
            .to_string()
            .contains("not supported")
    );
}

#[test]
fn input_path() {
    assert_eq!(r("$input.path('$.name')"), "Ann");
    assert_eq!(r("$input.path('$.price')"), "9.5");
    assert_eq!(
        r("$input.path('$.tags').size() $input.path('$.tags').get(0)"),
        "2 a"
    );
    // A JSON object prints as a Java map, a JSON array as JSON (recorded from AWS, notes §8.1).
    assert_eq!(r("$input.path('$.nested')"), "{x=1, y=[{\"z\":true}]}");
    assert_eq!(r("$input.path('$.tags')"), "[\"a\",\"b\"]");
    assert_eq!(
        r("#set($n = $input.path('$.nested'))$n.x $n.y[0].z"),
        "1 true"
    );
    assert_eq!(
        r("[$input.path('$.missing')][$input.path('$.missing').nested]"),
        "[][]"
    );
    assert_eq!(
        r("#set($x = $input.path('$.missing'))#if($x == $null)null#end #if($x == \"\")empty#end"),
        "null empty"
    );
    assert_eq!(
        r("#foreach($k in $input.path('$').keySet())$k #end"),
        "name age tags nested price "
    );
    // Changing what $input.path returned does not change the body.
    assert_eq!(
        r("#set($n = $input.path('$.nested'))$n.put(\"x\", 5)$input.path('$.nested.x')"),
        "11"
    );
}

#[test]
fn input_empty_and_invalid_bodies() {
    let mut c = cx();
    c.body = String::new();
    assert_eq!(
        render_with(
            "$input.body|$input.json('$')|$input.path('$')|$input.path('$').size()",
            &c
        ),
        "{}|{}||"
    );
    c.body = "not json".into();
    assert_eq!(render_with("$input.body", &c), "not json");
    let err = parse("ok\n$input.json('$')")
        .and_then(|t| t.render(&c))
        .expect_err("bad JSON");
    match err {
        VtlError::InvalidJson { line, message } => {
            assert_eq!(line, 2);
            assert!(message.contains("Unexpected character ('n'"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    c.body = "{\"a\": 1} trailing".into();
    assert!(matches!(
        parse("$input.path('$.a')").and_then(|t| t.render(&c)),
        Err(VtlError::InvalidJson { .. })
    ));
}

#[test]
fn input_params() {
    assert_eq!(r("$input.params('id')"), "42");
    assert_eq!(r("$input.params('q')"), "rust lang");
    assert_eq!(
        r("$input.params('X-Trace') $input.params('x-trace')"),
        "abc abc"
    );
    assert_eq!(r("[$input.params('absent')]"), "[]");
    assert_eq!(r("$input.params().header.get('X-Trace')"), "abc");
    assert_eq!(
        r("$input.params().querystring.id $input.params().path.id"),
        "query-id 42"
    );
    assert_eq!(r("$input.params().keySet()"), "[path, querystring, header]");
    assert_eq!(r("$input.params().path"), "{id=42}");
    assert_eq!(r("#if($input.params('absent') == \"\")none#end"), "none");
}

// ---------------------------------------------------------------------------------------------------------
// $context, $stageVariables, $util

#[test]
fn context_and_stage_variables() {
    assert_eq!(
        r(
            "$context.requestId $context.httpMethod $context.resourcePath $context.stage $context.identity.sourceIp"
        ),
        "req-1 POST /items/{id} dev 10.0.0.1"
    );
    assert_eq!(
        r("$context.authorizer.principalId $context.authorizer.claims.email"),
        "user-1 a@b.c"
    );
    assert_eq!(r("$context['stage'] ${context.stage}"), "dev dev");
    assert_eq!(
        r(
            "$stageVariables.table $stageVariables['table'] ${stageVariables['table']} ${stageVariables.table}"
        ),
        "Items Items Items Items"
    );
    let mut c = cx();
    c.context = serde_json::Value::Null;
    c.stage_variables.clear();
    assert_eq!(
        render_with("[$context.requestId][$stageVariables.x]", &c),
        "[][]"
    );
}

#[test]
fn util_functions() {
    assert_eq!(
        r("$util.escapeJavaScript(\"it's \"\"q\"\" a\\b/c\")"),
        "it\\'s \\\"q\\\" a\\\\b\\/c"
    );
    assert_eq!(
        r("#set($s = \"tab\tnl\n\")$util.escapeJavaScript($s)"),
        "tab\\tnl\\n"
    );
    assert_eq!(
        r("$util.escapeJavaScript(\"é😀\")"),
        "\\u00E9\\uD83D\\uDE00"
    );
    assert_eq!(
        r("#set($o = $util.parseJson('{\"a\":[1,{\"b\":2}],\"c\":\"d\"}'))$o.a[1].b $o.c $o"),
        "2 d {a=[1,{\"b\":2}], c=d}"
    );
    assert_eq!(r("$util.parseJson('[1, 2]').size()"), "2");
    assert!(
        render_err("$util.parseJson('{oops')")
            .to_string()
            .contains("$util.parseJson")
    );
    assert_eq!(
        r("$util.urlEncode('{\"some\": \"value\"}')"),
        "%7B%22some%22%3A+%22value%22%7D"
    );
    assert_eq!(
        r("$util.urlEncode('a.b-c*d_e~f+g/é')"),
        "a.b-c*d_e%7Ef%2Bg%2F%C3%A9"
    );
    assert_eq!(r("$util.urlDecode('a+b%2Fc%C3%A9')"), "a b/cé");
    assert!(
        render_err("$util.urlDecode('%zz')")
            .to_string()
            .contains("urlDecode")
    );
    assert_eq!(r("$util.base64Encode('hello world')"), "aGVsbG8gd29ybGQ=");
    assert_eq!(
        r("$util.base64Decode('aGVsbG8gd29ybGQ=') $util.base64Decode('aGk')"),
        "hello world hi"
    );
    assert!(
        render_err("$util.base64Decode('***')")
            .to_string()
            .contains("base64Decode")
    );
    assert_eq!(r("[$util.escapeJavaScript($nothing)]"), "[]");
    assert_eq!(
        r("$util.escapeJavaScript($input.json('$.tags'))"),
        "[\\\"a\\\",\\\"b\\\"]"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Overrides

#[test]
fn response_overrides() {
    let t = parse(
        "#set($context.responseOverride.status = 400)\n\
         #set($context.responseOverride.header['X-Error'] = \"bad\")\n\
         #set($context.responseOverride.header['Retry-After'] = 30)\n\
         {\"error\": true}",
    )
    .expect("parse");
    let out = t.render(&cx()).expect("render");
    assert_eq!(out.body, "{\"error\": true}");
    assert_eq!(out.status_override, Some(400));
    assert_eq!(
        out.header_overrides.get("X-Error").map(String::as_str),
        Some("bad")
    );
    // Names cannot hold `-` (Velocity 2's rule), so a hyphenated header needs the bracket form.
    assert!(parse("#set($context.responseOverride.header.X-Error = 1)").is_err());
    assert_eq!(
        out.header_overrides.get("Retry-After").map(String::as_str),
        Some("30")
    );

    let out =
        parse("#set($context.responseOverride.status = \"503\")$context.responseOverride.status")
            .and_then(|t| t.render(&cx()))
            .expect("render");
    assert_eq!((out.body.as_str(), out.status_override), ("503", Some(503)));

    let plain = parse("x").and_then(|t| t.render(&cx())).expect("render");
    assert_eq!(plain.status_override, None);
    assert!(plain.header_overrides.is_empty());

    let err = parse("#set($context.responseOverride.status = \"teapot\")")
        .and_then(|t| t.render(&cx()))
        .expect_err("bad status");
    assert_eq!(err, VtlError::BadStatusOverride("teapot".into()));
    assert!(
        parse("#set($context.responseOverride.status = 99)")
            .and_then(|t| t.render(&cx()))
            .is_err()
    );
}

#[test]
fn request_overrides_and_put() {
    let t = parse(
        "#set($context.requestOverride.header.Auth = \"token\")\
         #set($context.requestOverride.querystring[\"page\"] = 2)\
         #set($ignored = $context.requestOverride.path.put(\"id\", \"7\"))\
         #set($context.responseOverride.header.put = 1)",
    )
    .expect("parse");
    let out = t.render(&cx()).expect("render");
    assert_eq!(
        out.request_overrides.header.get("Auth").map(String::as_str),
        Some("token")
    );
    assert_eq!(
        out.request_overrides
            .querystring
            .get("page")
            .map(String::as_str),
        Some("2")
    );
    assert_eq!(
        out.request_overrides.path.get("id").map(String::as_str),
        Some("7")
    );
    // Values the caller passes in (for example set by the request template) are readable.
    let mut c = cx();
    c.context["responseOverride"] = json!({"status": 444, "header": {"foo": "bar"}});
    let out = parse("$context.responseOverride.status $context.responseOverride.header.foo")
        .and_then(|t| t.render(&c))
        .expect("render");
    assert_eq!(out.body, "444 bar");
    assert_eq!(out.status_override, Some(444));
    assert_eq!(
        out.header_overrides.get("foo").map(String::as_str),
        Some("bar")
    );
}

// ---------------------------------------------------------------------------------------------------------
// Templates from the API Gateway Developer Guide

/// The PetStore output mapping (DG:models-mappings, "Example output mapping template"): a JSON array built with
/// `#foreach` and `$foreach.hasNext`.
#[test]
fn aws_pets_output_mapping() {
    let template = r#"#set($inputRoot = $input.path('$'))
[
#foreach($elem in $inputRoot)
  {
    "description" : "Item $elem.id is a $elem.type.",
    "askingPrice" : $elem.price
  }#if($foreach.hasNext),#end

#end
]"#;
    let c = RenderContext {
        body: r#"[{"id":1,"type":"dog","price":249.99},{"id":2,"type":"cat","price":124.99},{"id":3,"type":"fish","price":0.99}]"#.into(),
        ..RenderContext::default()
    };
    let expected = r#"[
  {
    "description" : "Item 1 is a dog.",
    "askingPrice" : 249.99
  },

  {
    "description" : "Item 2 is a cat.",
    "askingPrice" : 124.99
  },

  {
    "description" : "Item 3 is a fish.",
    "askingPrice" : 0.99
  }

]"#;
    assert_eq!(render_with(template, &c), expected);
}

/// The PetStore input mapping (DG:models-mappings): reshaping a request body with `$input.path` and
/// `$input.json`.
#[test]
fn aws_pets_input_mapping() {
    let template = r#"#set($inputRoot = $input.path('$'))
{
  "petType": "$inputRoot.type",
  "price": $inputRoot.price,
  "tags": $input.json('$.tags'),
  "owner": "$util.escapeJavaScript($inputRoot.owner.name)"
}"#;
    let c = RenderContext {
        body: r#"{"type":"dog","price":249.99,"tags":["cute","small"],"owner":{"name":"O'Brien"}}"#
            .into(),
        ..RenderContext::default()
    };
    let expected = r#"{
  "petType": "dog",
  "price": 249.99,
  "tags": ["cute","small"],
  "owner": "O\'Brien"
}"#;
    assert_eq!(render_with(template, &c), expected);
}

/// A DynamoDB Query request template and its response template, as in the DG tutorial
/// "api-gateway-create-api-as-simple-proxy-for-dynamodb"-style AWS service integrations.
#[test]
fn aws_dynamodb_mappings() {
    let request = r#"{
    "TableName": "$stageVariables.table",
    "KeyConditionExpression": "Artist = :v1",
    "ExpressionAttributeValues": {
        ":v1": {
            "S": "$input.params('artist')"
        }
    }
}"#;
    let mut c = cx();
    c.querystring.insert("artist".into(), "Miles Davis".into());
    let out = render_with(request, &c);
    let json: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(json["TableName"], "Items");
    assert_eq!(json["ExpressionAttributeValues"][":v1"]["S"], "Miles Davis");

    let response = r#"#set($inputRoot = $input.path('$'))
{
    "music": [
        #foreach($elem in $inputRoot.Items) {
            "artist": "$elem.Artist.S",
            "songTitle": "$elem.SongTitle.S"
        }#if($foreach.hasNext),#end
	#end
    ]
}"#;
    let c = RenderContext {
        body: r#"{"Count":2,"Items":[{"Artist":{"S":"Miles Davis"},"SongTitle":{"S":"So What"}},{"Artist":{"S":"Miles Davis"},"SongTitle":{"S":"Blue in Green"}}],"ScannedCount":2}"#.into(),
        ..RenderContext::default()
    };
    let expected = r#"{
    "music": [
         {
            "artist": "Miles Davis",
            "songTitle": "So What"
        },
 {
            "artist": "Miles Davis",
            "songTitle": "Blue in Green"
        }
    ]
}"#;
    assert_eq!(render_with(response, &c), expected);
}

/// The console's "Method Request passthrough" template (DG:api-gateway-mapping-template-reference examples).
#[test]
fn aws_method_request_passthrough() {
    let template = r#"##  See http://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
##  This template will pass through all parameters including path, querystring, header, stage variables, and context through to the integration endpoint via the body/payload
#set($allParams = $input.params())
{
"body-json" : $input.json('$'),
"params" : {
#foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
"$type" : {
    #foreach($paramName in $params.keySet())
    "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
        #if($foreach.hasNext),#end
    #end
}
    #if($foreach.hasNext),#end
#end
},
"stage-variables" : {
#foreach($key in $stageVariables.keySet())
"$key" : "$util.escapeJavaScript($stageVariables.get($key))"
    #if($foreach.hasNext),#end
#end
},
"context" : {
    "http-method" : "$context.httpMethod",
    "request-id" : "$context.requestId",
    "resource-path" : "$context.resourcePath",
    "source-ip" : "$context.identity.sourceIp",
    "stage" : "$context.stage",
    "user" : "$context.identity.user"
    }
}
"#;
    let mut c = cx();
    c.path.clear();
    c.querystring = BTreeMap::from([("q".into(), "x\"y".into())]);
    c.header = BTreeMap::from([("Host".into(), "example.com".into())]);
    let out = render_with(template, &c);
    let expected = r#"{
"body-json" : {"name":"Ann","age":30,"tags":["a","b"],"nested":{"x":1,"y":[{"z":true}]},"price":9.5},
"params" : {
"path" : {
}
    ,
"querystring" : {
    "q" : "x\"y"
        
}
    ,
"header" : {
    "Host" : "example.com"
        
}
    
},
"stage-variables" : {
"table" : "Items"
    
},
"context" : {
    "http-method" : "POST",
    "request-id" : "req-1",
    "resource-path" : "/items/{id}",
    "source-ip" : "10.0.0.1",
    "stage" : "dev",
    "user" : ""
    }
}
"#;
    assert_eq!(out, expected);
    let json: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(json["params"]["querystring"]["q"], "x\"y");
    assert_eq!(json["body-json"]["tags"][1], "b");
}

// ---------------------------------------------------------------------------------------------------------
// Robustness

#[test]
fn values_convert_to_and_from_json() {
    let j = json!({"a": [1, 2.5, "s", null, true], "b": {"c": {}}});
    let v = Value::from_json(&j);
    assert_eq!(v.to_json(), j);
    assert_eq!(
        v.java_string().expect("prints"),
        "{a=[1,2.5,\"s\",null,true], b={c={}}}"
    );
    assert_eq!(
        v.json_string().expect("prints"),
        "{\"a\":[1,2.5,\"s\",null,true],\"b\":{\"c\":{}}}"
    );
}

#[test]
fn self_containing_values_fail_cleanly() {
    let err = render_err("#set($m = {})$m.put(\"self\", $m)$m");
    assert!(err.to_string().contains("nests too deeply"), "{err}");
    assert_eq!(
        r("#set($m = {})$m.put(\"self\", $m)#if($m == $m)same#end"),
        "same"
    );
}

#[test]
fn limits_stop_runaway_templates() {
    assert!(
        render_err("#set($r = [1..1000000])")
            .to_string()
            .contains("more than")
    );
    let err = render_err("#foreach($a in [1..2000])#foreach($b in [1..2000])#end#end");
    assert!(err.to_string().contains("loops more than"), "{err}");
    let err =
        render_err("#set($s = \"xxxxxxxxxxxxxxxx\")#foreach($i in [1..40])#set($s = \"$s$s\")#end");
    assert!(err.to_string().contains("longer than"), "{err}");
}

#[test]
fn templates_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Template>();
    check::<VtlError>();
}

/// A small deterministic generator, so the fuzz-like tests need no extra crates.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
}

#[test]
fn random_garbage_never_panics() {
    const PIECES: [&str; 48] = [
        "#if(",
        "#elseif(",
        "#else",
        "#end",
        "#foreach(",
        "$x in ",
        "#set(",
        "#break",
        "#stop",
        "#macro",
        "##",
        "#*",
        "*#",
        "#[[",
        "]]#",
        "$",
        "$!",
        "${",
        "}",
        "{",
        "(",
        ")",
        "[",
        "]",
        "..",
        ",",
        ":",
        "\"",
        "'",
        "\\",
        "$input.json('$.a')",
        "$input.path('$')",
        ".size()",
        ".get(0)",
        "$util.parseJson(",
        "==",
        "&&",
        "!",
        "+",
        "-1",
        "/0",
        " ",
        "\n",
        "a",
        "1",
        "$context.responseOverride.status",
        "=",
        ".replaceAll(",
    ];
    let mut rng = Lcg(7);
    let c = cx();
    for _ in 0..20_000 {
        let len = rng.next() % 24;
        let mut src = String::new();
        for _ in 0..len {
            if rng.next().is_multiple_of(5) {
                src.push(char::from_u32((rng.next() % 0x250) as u32).unwrap_or('?'));
            } else {
                src.push_str(PIECES[rng.next() % PIECES.len()]);
            }
        }
        if let Ok(t) = parse(&src) {
            let _ = t.render(&c);
        }
    }
}

#[test]
fn truncated_templates_never_panic() {
    let sources = [
        "#set($inputRoot = $input.path('$'))\n[\n#foreach($elem in $inputRoot.tags)\n  {\"v\": \"$elem\"}#if($foreach.hasNext),#end\n#end\n]",
        "#if($input.params('id') == \"42\" && !$x)#set($m = {\"a\": [1..3], 'b': $util.base64Encode(\"x\")})$m#elseif(1 < 2)y#{else}z#end",
        "\\$x \\#if #* c *# ## l\n${stageVariables['table']}$!{context.stage}.$util.escapeJavaScript(\"'\")#[[raw]]#",
    ];
    let mut bodies = vec![
        String::new(),
        "{".into(),
        "[1,".into(),
        "\"\\u12".into(),
        cx().body,
    ];
    bodies.push("{\"a\":".repeat(300));
    for src in sources {
        let chars: Vec<char> = src.chars().collect();
        for end in 0..=chars.len() {
            let prefix: String = chars[..end].iter().collect();
            let suffix: String = chars[end..].iter().collect();
            for piece in [prefix, suffix] {
                if let Ok(t) = parse(&piece) {
                    for body in &bodies {
                        let c = RenderContext {
                            body: body.clone(),
                            ..cx()
                        };
                        let _ = t.render(&c);
                    }
                }
            }
        }
    }
}
