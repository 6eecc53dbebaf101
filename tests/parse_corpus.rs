//! The parser on every real circuit of ../shared/corpus, checked against manifest.csv.

mod common;

use qroute::circuit::{Circuit, qasm};
use qroute::features::{self, Feature};

#[test]
fn every_corpus_file_parses_with_the_manifest_counts() {
    let rows = common::manifest();
    assert!(rows.len() >= 694, "manifest has {} rows", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        let path = common::corpus_dir().join(&row.path);
        let circuit = match qasm::parse_file(&path) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{e}"));
                continue;
            }
        };
        let f = features::extract(&circuit);
        let checks = [
            ("num_qubits", f[Feature::NumQubits], row.num_qubits as f64),
            ("num_gates", f[Feature::GateCount], row.num_gates as f64),
            (
                "num_2q_gates (multi-qubit)",
                f[Feature::Gates2q] + f[Feature::Gates3qPlus],
                row.num_2q_gates as f64,
            ),
            ("depth", f[Feature::Depth], row.depth as f64),
        ];
        for (what, got, want) in checks {
            if got != want {
                failures.push(format!(
                    "{}: {what} is {got}, manifest says {want}",
                    row.path
                ));
            }
        }
        // The manifest decides Clifford by gate name, which implies Clifford by matrix.
        if row.is_clifford && f[Feature::IsClifford] != 1.0 {
            failures.push(format!("{}: Clifford by name but not by matrix", row.path));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn written_corpus_circuits_parse_back_to_the_same_ir() {
    for row in common::manifest().iter().step_by(7) {
        let c = qasm::parse_file(common::corpus_dir().join(&row.path)).unwrap();
        let text = qasm::to_qasm(&c);
        let back = qasm::parse_str(&text).unwrap_or_else(|e| panic!("{}: {e}", row.path));
        assert_eq!(back, c, "{}", row.path);
        assert_eq!(back.id(), c.id());
    }
}

/// Every operation's kind, qubits, bit, condition and parameters (as bits, so that `-0.0` and
/// `0.0` differ), in order.
fn exact_ops(c: &Circuit) -> Vec<String> {
    c.ops()
        .map(|op| {
            let bits: Vec<u64> = op.params.iter().map(|p| p.to_bits()).collect();
            format!(
                "{:?} {:?} {:?} {:?} {bits:?}",
                op.kind, op.qubits, op.clbit, op.condition
            )
        })
        .collect()
}

/// The parser reads compact gate calls (`cx q[0],q[1];`) on a fast path and everything else
/// token by token. A space before every `;` and `,` sends every statement down the general
/// path; both must give the same circuit, bit for bit.
#[test]
fn compact_calls_parse_as_the_general_parser_reads_them() {
    let spaced = |t: &str| t.replace(';', " ;").replace(',', " ,");
    let mut texts: Vec<(String, String)> = common::manifest()
        .iter()
        .map(|row| {
            let path = common::corpus_dir().join(&row.path);
            (row.path.clone(), std::fs::read_to_string(path).unwrap())
        })
        .collect();
    texts.push((
        "expressions".into(),
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[3]; qreg r[2];\n\
         u(-pi/4,3*pi/4,-3*pi/4) q[0];\nrz(pi) r[1];\nrz(-pi) q[2];\nrx(.5) q[1];\nry(5.) q[1];\n\
         u2(1e-3,-2.5E+10) q[0];\nrz(2*pi/3*2) q[0];\nrz(-0.0) q[0];\nrz(0) q[0];\n\
         cu1(pi/2) q[2],r[0];\nccx r[1], q[0],  q[2];\nrzz(1/3) q[0],q[1];\n\
         cx q[0],q[1]; cx q[1],q[0];\nrz(-1.5*-2) q[0];\nrz(2^2) q[0];\nrz(pi/2+1) q[0];\n\
         rz(1/0.5) q[0];\nrz((1)) q[0];\nrz(sin(1)) q[0];\nrz(1)q[0];\nrz( 1) q[0];\n\
         x\tq[0];\nx q[0] ;\nx q [0];\nx q[ 0];\nx q;\nU(1,2,3) q[1];\nCX q[0],q[1];\n\
         creg c[2];\nmeasure q[0] -> c[0];\nif (c==1) rz(pi/2) q[1];\nif(c==0) cx q[1],q[2];\n\
         reset q[0];\nbarrier q[0],r[1];\ngate g(a) x, y { rz(a/2) x; cx x,y; }\ng(pi) q[0],q[1];\n\
         h q[2]; // a comment\nx /* inline */ q[1];\nu2(0, pi) q[0];\nu(0.5,  pi, -pi/2) r[0];\n"
            .into(),
    ));
    // Qiskit's OpenQASM 3 export, with its `u2(0, pi)` and gates it defines itself (#32).
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/qasm3/qwalk_6.v3.qasm");
    texts.push((
        "qwalk_6.v3".into(),
        std::fs::read_to_string(fixture).unwrap(),
    ));
    for (name, text) in &texts {
        let fast = qasm::QasmParser::new()
            .include_dir(common::corpus_dir())
            .parse_str(text)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let general = qasm::QasmParser::new()
            .include_dir(common::corpus_dir())
            .parse_str(&spaced(text))
            .unwrap_or_else(|e| panic!("{name} (spaced): {e}"));
        assert_eq!(fast.qregs(), general.qregs(), "{name}");
        assert_eq!(exact_ops(&fast), exact_ops(&general), "{name}");
    }
}

/// Corpus circuits of different shapes, and a fixture with every construct the corpus lacks
/// (gate definitions with expressions, opaque gates, broadcasting, `if`, `reset`, `U`/`CX`).
const GOLDEN_IR: &[&str] = &[
    "mqtbench/ghz_5.qasm",
    "mqtbench/qft_4.qasm",
    "mqtbench/grover_3.qasm",
    "mqtbench/randomcircuit_3.qasm",
    "mqtbench/qwalk_3.qasm",
    "tests/fixtures/parser_tour.qasm",
];

/// The IR of a circuit as text: registers, opaque declarations, then one line per operation
/// with its parameters as exact shortest-round-trip floats.
fn ir_dump(c: &Circuit) -> String {
    use qroute::circuit::OpKind;
    use std::fmt::Write;
    let mut s = String::new();
    for (what, regs) in [("qreg", c.qregs()), ("creg", c.cregs())] {
        for r in regs {
            let _ = writeln!(s, "{what} {}[{}] at {}", r.name, r.size, r.offset);
        }
    }
    for g in c.opaque_gates() {
        let _ = writeln!(
            s,
            "opaque {} params {} arity {}",
            g.name, g.num_params, g.arity
        );
    }
    for (i, op) in c.ops().enumerate() {
        let name = match op.kind {
            OpKind::Gate(g) => g.name().to_string(),
            OpKind::Opaque(k) => format!("opaque:{}", c.opaque_gates()[k as usize].name),
            OpKind::Measure => "measure".into(),
            OpKind::Reset => "reset".into(),
            OpKind::Barrier => "barrier".into(),
            other => format!("{other:?}"),
        };
        let _ = write!(s, "{i}: {name}");
        if !op.params.is_empty() {
            let p: Vec<String> = op.params.iter().map(|x| format!("{x:?}")).collect();
            let _ = write!(s, "({})", p.join(", "));
        }
        for q in op.qubits {
            let _ = write!(s, " q{q}");
        }
        if let Some(b) = op.clbit {
            let _ = write!(s, " -> c{b}");
        }
        if let Some(cond) = op.condition {
            let _ = write!(
                s,
                " if {} == {}",
                c.cregs()[cond.creg as usize].name,
                cond.value
            );
        }
        s.push('\n');
    }
    s
}

#[test]
fn golden_ir_of_corpus_circuits() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut got = String::new();
    for f in GOLDEN_IR {
        let path = if f.starts_with("tests/") {
            root.join(f)
        } else {
            common::corpus_dir().join(f)
        };
        let c = qasm::parse_file(&path).unwrap_or_else(|e| panic!("{e}"));
        got += &format!("== {f}\n{}", ir_dump(&c));
    }
    let path = root.join("tests/golden/parser_ir.txt");
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if got != want {
        let new = path.with_extension("txt.new");
        std::fs::write(&new, &got).unwrap();
        panic!(
            "the parsed IR differs from {}; wrote {} — review the difference and move it over \
             the golden file if the change is intended",
            path.display(),
            new.display()
        );
    }
}
