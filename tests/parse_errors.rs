//! Malformed and hostile OpenQASM: every error names the right line, column and token, and
//! nothing panics, hangs or exhausts memory.

use std::time::{Duration, Instant};

use qroute::circuit::qasm::{ParseError, ParseErrorKind, ParseLimits, QasmParser, parse_str};

const H: &str = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n";

fn err(src: &str) -> ParseError {
    match parse_str(src) {
        Ok(_) => panic!("parsed without error:\n{src}"),
        Err(e) => e,
    }
}

/// (source, line, column, text the message must contain)
fn cases() -> Vec<(String, u32, u32, &'static str)> {
    let h = |body: &str| format!("{H}{body}");
    vec![
        ("OPENQASM 4.0;\nqreg q[1];".into(), 1, 10, "version 4.0"),
        ("// nothing\n".into(), 2, 1, "expected the header"),
        // OpenQASM 3 outside the gate-model subset: refused where it stands (#32).
        (
            "OPENQASM 3.0;\nqubit[2] q;\nfor int i in [0:1] { }".into(),
            3,
            1,
            "`for` loops: not supported",
        ),
        (
            "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[1] q;\nctrl @ x q[0];".into(),
            4,
            1,
            "gate modifiers",
        ),
        (
            "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nbit[2] c;\nqubit[2] q;\nif (c[1] == 2) { x q[1]; }"
                .into(),
            5,
            13,
            "expected `0`, `1`, `true` or `false`",
        ),
        (
            "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nbit[9] c;\nqubit q;\nif (c == 1) { x q; } else { y q; }"
                .into(),
            5,
            22,
            "`else` after a condition on the value of a register of more than 8 bits (this one has 9)",
        ),
        (
            "OPENQASM 3.0;\nqubit q;\nint x = 3;".into(),
            3,
            1,
            "classical variables (`int`)",
        ),
        (
            "OPENQASM 2.0\nqreg q[1];".into(),
            2,
            1,
            "expected `;`, found `qreg`",
        ),
        (
            h("qreg q[2];\nh q[2];"),
            4,
            5,
            "index 2 is out of range for register `q` of size 2",
        ),
        (h("qreg q[2];\nfoo q[0];"), 4, 1, "unknown gate `foo`"),
        (
            "OPENQASM 2.0;\nqreg q[1];\nh q[0];".into(),
            3,
            1,
            "add `include \"qelib1.inc\";`",
        ),
        (
            h("qreg q[2];\nh r[0];"),
            4,
            3,
            "unknown quantum register `r`",
        ),
        (
            h("qreg q[2];\ncx q[0];"),
            4,
            1,
            "takes 2 qubit argument(s), got 1",
        ),
        (
            h("qreg q[2];\nrz q[0];"),
            4,
            1,
            "takes 1 parameter(s), got 0",
        ),
        (
            h("qreg q[2];\nh(0.5) q[0];"),
            4,
            1,
            "takes 0 parameter(s), got 1",
        ),
        (
            h("qreg q[2];\ncx q[1],q[1];"),
            4,
            9,
            "qubit q[1] is used more than once",
        ),
        (
            h("qreg q[2];\nqreg r[3];\ncx q,r;"),
            5,
            6,
            "must have the same size",
        ),
        (
            h("qreg q[2];\nqreg q[3];"),
            4,
            6,
            "register `q` is already declared",
        ),
        (h("qreg q[0];"), 3, 8, "has size 0"),
        (h("qreg q[99999999999999999999];"), 3, 8, "too large"),
        (h("qreg q[2000000];"), 3, 8, "over the limit"),
        (h("qreg q[1];\nrz(1e) q[0];"), 4, 4, "invalid number `1e`"),
        (
            h("qreg q[1];\nrz(12abc) q[0];"),
            4,
            4,
            "invalid number `12abc`",
        ),
        (
            h("qreg q[1];\nrz(theta) q[0];"),
            4,
            4,
            "unknown identifier `theta`",
        ),
        (h("qreg q[1];\nrz(1/0) q[0];"), 4, 4, "not a finite number"),
        (
            h("qreg q[1];\nrz(ln(-1)) q[0];"),
            4,
            4,
            "not a finite number",
        ),
        (
            h("qreg q[1];\nrz(pi q[0];"),
            4,
            7,
            "expected `)` or `,`, found `q`",
        ),
        (
            h("qreg q[1];\nrz(sin pi) q[0];"),
            4,
            8,
            "expected `(` after a function name",
        ),
        (h("qreg q[1];\nh q[0]"), 4, 7, "found end of file"),
        (
            h("qreg q[1];\nh q[0];\n@"),
            5,
            1,
            "unexpected character '@'",
        ),
        (
            h("qreg q[1];\n// comment é\nh q[0]; é"),
            5,
            9,
            "unexpected character 'é'",
        ),
        (h("include \"qelib1.inc"), 3, 9, "unterminated string"),
        (
            h("qreg q[1];\n/* never closed\nh q[0];"),
            4,
            1,
            "unterminated block comment",
        ),
        (
            h("qreg q[1];\ncreg c[1];\nmeasure q[0] -> d[0];"),
            5,
            17,
            "unknown classical register `d`",
        ),
        (
            h("qreg q[2];\ncreg c[1];\nmeasure q -> c[0];"),
            5,
            9,
            "two registers of the same size",
        ),
        (
            h("qreg q[2];\ncreg c[1];\nmeasure q -> c;"),
            5,
            9,
            "must have the same size",
        ),
        (h("qreg q[1];\nmeasure q[0];"), 4, 13, "expected `->`"),
        (
            h("qreg q[1];\nif (c == 1) x q[0];"),
            4,
            5,
            "unknown classical register `c`",
        ),
        (
            h("qreg q[1];\ncreg c[1];\nif (c == 1) barrier q;"),
            5,
            13,
            "after `if (...)`",
        ),
        (
            h("gate g a { h b; }"),
            3,
            14,
            "`b` is not a qubit argument of gate `g`",
        ),
        (
            h("gate g a { measure a; }"),
            3,
            12,
            "`measure` is not allowed inside a gate",
        ),
        (
            h("gate g(t, t) a { rz(t) a; }"),
            3,
            11,
            "`t` is declared twice",
        ),
        (h("gate g a, b { cx a, a; }"), 3, 21, "used more than once"),
        (
            h("gate g a { h a; }\ngate g a { x a; }"),
            4,
            6,
            "gate `g` is already defined",
        ),
        (h("gate h a { x a; }"), 3, 6, "gate `h` is already defined"),
        (h("gate g { }"), 3, 8, "must take at least one qubit"),
        (h("gate g a { rz(x) a; }"), 3, 15, "unknown identifier `x`"),
        (
            h("gate g(t) a { rz(t) a; }\nqreg q[1];\ng q[0];"),
            5,
            1,
            "takes 1 parameter(s), got 0",
        ),
        (
            h("gate g(t) a { rz(1/t) a; }\nqreg q[1];\ng(0) q[0];"),
            5,
            1,
            "not a finite number",
        ),
        (
            h("qreg q[1];\nopaque o a;\no(1) q[0];"),
            5,
            1,
            "takes 0 parameter(s), got 1",
        ),
        (
            h("qreg q[1];\nOPENQASM 2.0;"),
            4,
            1,
            "the header comes only once",
        ),
        (
            h("qreg q[1];\nh q[0];;"),
            4,
            8,
            "expected a statement, found `;`",
        ),
        (h("include \"does-not-exist.inc\";"), 3, 9, "cannot read"),
    ]
}

#[test]
fn malformed_inputs_report_line_column_and_token() {
    let cases = cases();
    assert!(cases.len() >= 30);
    let mut wrong = Vec::new();
    for (src, line, col, text) in &cases {
        let e = err(src);
        let shown = e.to_string();
        if e.line != *line || e.col != *col || !shown.contains(text) {
            wrong.push(format!(
                "want {line}:{col} containing {text:?}\n got {shown}\n in {src:?}"
            ));
        }
        assert!(shown.starts_with(&format!("<input>:{}:{}: ", e.line, e.col)));
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n\n")
    );
}

#[test]
fn file_errors_name_the_file_and_includes_resolve_relative_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("lib");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("mine.inc"), "gate bell a, b { h a; cx a, b; }\n").unwrap();
    std::fs::write(sub.join("bad.inc"), "gate g a {\n  h a;\n  nope a;\n}\n").unwrap();
    let main = dir.path().join("main.qasm");
    std::fs::write(
        &main,
        format!("{H}include \"lib/mine.inc\";\nqreg q[2];\nbell q[0], q[1];\n"),
    )
    .unwrap();
    let c = qroute::circuit::qasm::parse_file(&main).unwrap();
    assert_eq!(c.len(), 2);

    std::fs::write(&main, format!("{H}include \"lib/bad.inc\";\n")).unwrap();
    let e = qroute::circuit::qasm::parse_file(&main).unwrap_err();
    assert_eq!((e.line, e.col), (3, 3));
    assert!(
        e.to_string().ends_with("bad.inc:3:3: unknown gate `nope`"),
        "{e}"
    );

    let missing = dir.path().join("missing.qasm");
    let e = qroute::circuit::qasm::parse_file(&missing).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot read", missing.display())),
        "{e}"
    );

    std::fs::write(&main, b"OPENQASM 2.0;\nqreg q[1];\n// caf\xff\n").unwrap();
    let e = qroute::circuit::qasm::parse_file(&main).unwrap_err();
    assert!(matches!(e.kind, ParseErrorKind::InvalidUtf8));
    assert_eq!((e.line, e.col), (3, 7));
}

#[test]
fn include_cycles_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.inc"), "include \"b.inc\";\n").unwrap();
    std::fs::write(dir.path().join("b.inc"), "include \"a.inc\";\n").unwrap();
    let main = dir.path().join("main.qasm");
    std::fs::write(&main, "OPENQASM 2.0;\ninclude \"a.inc\";\n").unwrap();
    let e = qroute::circuit::qasm::parse_file(&main).unwrap_err();
    assert!(matches!(e.kind, ParseErrorKind::IncludeCycle { .. }), "{e}");
    assert!(e.to_string().contains("include cycle"), "{e}");
}

/// Runs `f` and fails if it takes longer than a generous bound: hostile input must be turned
/// away quickly, not after exhausting the machine.
fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "{what} took {:?}",
        t.elapsed()
    );
    r
}

#[test]
fn hostile_inputs_fail_clearly_within_bounds() {
    // Exponential inlining: g30 expands to 2^30 calls.
    let mut src = format!("{H}qreg q[1];\ngate g0 a {{ x a; }}\n");
    for i in 1..=30 {
        src.push_str(&format!("gate g{i} a {{ g{} a; g{} a; }}\n", i - 1, i - 1));
    }
    src.push_str("g30 q[0];\n");
    let limits = ParseLimits {
        max_ops: 1_000_000,
        ..ParseLimits::default()
    };
    let e = bounded("exponential gates", || {
        QasmParser::new()
            .limits(limits.clone())
            .parse_str(&src)
            .unwrap_err()
    });
    assert!(matches!(e.kind, ParseErrorKind::Limit { .. }), "{e}");
    assert!(e.to_string().contains("number of operations"), "{e}");

    // The same with empty bodies: nothing is emitted, but the work is still counted.
    let mut src = format!("{H}qreg q[1];\ngate g0 a {{ }}\n");
    for i in 1..=60 {
        src.push_str(&format!("gate g{i} a {{ g{} a; g{} a; }}\n", i - 1, i - 1));
    }
    src.push_str("g60 q[0];\n");
    let e = bounded("empty exponential gates", || {
        QasmParser::new()
            .limits(limits.clone())
            .parse_str(&src)
            .unwrap_err()
    });
    assert!(matches!(e.kind, ParseErrorKind::Limit { .. }), "{e}");

    // Deep nesting of parentheses and unary minus.
    for (open, close) in [("(", ")"), ("-", "")] {
        let src = format!(
            "{H}qreg q[1];\nrz({}1{}) q[0];\n",
            open.repeat(100_000),
            close.repeat(100_000)
        );
        let e = bounded("deep expression", || err(&src));
        assert!(
            e.to_string()
                .contains("expression nesting exceeds the limit"),
            "{e}"
        );
    }

    // A very long flat expression evaluates without recursion.
    let src = format!("{H}qreg q[1];\nrz(0{}) q[0];\n", "+0".repeat(200_000));
    let c = bounded("long expression", || parse_str(&src).unwrap());
    assert_eq!(c.op(0).unwrap().params, &[0.0]);

    // Deeply nested gate definitions.
    let mut src = format!("{H}qreg q[1];\ngate g0 a {{ x a; }}\n");
    for i in 1..=300 {
        src.push_str(&format!("gate g{i} a {{ g{} a; }}\n", i - 1));
    }
    let e = bounded("nested definitions", || err(&src));
    assert!(e.to_string().contains("nesting of gate definitions"), "{e}");

    // Absurd registers and broadcasts.
    let e = err(&format!("{H}qreg q[4294967296];"));
    assert!(e.to_string().contains("over the limit"), "{e}");
    let limits = ParseLimits {
        max_qubits: 10,
        ..ParseLimits::default()
    };
    let e = QasmParser::new()
        .limits(limits)
        .parse_str(&format!("{H}qreg a[6];\nqreg b[6];"))
        .unwrap_err();
    assert_eq!((e.line, e.col), (4, 8));

    // Huge input over the size limit is refused before parsing.
    let limits = ParseLimits {
        max_source_bytes: 1000,
        ..ParseLimits::default()
    };
    let big = format!("{H}{}", "// padding\n".repeat(200));
    let e = QasmParser::new()
        .limits(limits)
        .parse_str(&big)
        .unwrap_err();
    assert!(e.to_string().contains("file size"), "{e}");
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A deterministic sweep of mutations of a valid file; the fuzz target does this at scale.
    let base = format!(
        "{H}qreg q[3];\ncreg c[3];\ngate g(t) a,b {{ rz(t/2) a; cx a,b; }}\ng(pi) q[0],q[1];\nif(c==1) x q[2];\nmeasure q -> c;\n"
    );
    let bytes = base.as_bytes();
    let mut rng = qroute::rng::Rng::new(3);
    for _ in 0..20_000 {
        let mut m = bytes.to_vec();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(m.len() as u64) as usize;
            match rng.below(3) {
                0 => m[i] = rng.below(256) as u8,
                1 => {
                    m.remove(i);
                }
                _ => m.insert(i, *rng.pick(b"()[]{};,->=+-*/^\"q0123456789.e \n")),
            }
        }
        let _ = QasmParser::new().parse_bytes(&m);
    }
}
