//! OpenQASM 3 input (#32): Qiskit 2's exports of real circuits read into the same circuit,
//! features and exact probabilities as their OpenQASM 2 twins; the rest of the subset by hand;
//! a version-2 file without its header read with a warning.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use qroute::backend::prism::{PrismBackend, PrismTarget};
use qroute::backend::{Backend, RunSpec};
use qroute::circuit::Circuit;
use qroute::circuit::qasm::{QasmParser, parse_file, parse_str};
use qroute::config::default_price;
use qroute::features::extract;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/qasm3")
}

fn probabilities(c: &Circuit) -> Vec<f64> {
    let spec = RunSpec {
        seed: 7,
        ..RunSpec::default()
    };
    PrismBackend::new(PrismTarget::Statevector, default_price())
        .probabilities(c, &spec)
        .unwrap()
}

/// Both versions must give the same registers (but for names: Qiskit renames a register
/// called like a stdgates.inc gate, `phase` → `phase_0`), operations, features and exact
/// distribution.
fn assert_twins(v3: &Circuit, v2: &Circuit, what: &str) {
    let shape = |c: &Circuit| {
        let regs = |r: &[qroute::circuit::Register]| -> Vec<(u32, u32)> {
            r.iter().map(|r| (r.offset, r.size)).collect()
        };
        (regs(c.qregs()), regs(c.cregs()))
    };
    assert_eq!(shape(v3), shape(v2), "{what}: registers differ");
    assert!(v3.ops().eq(v2.ops()), "{what}: operations differ");
    assert_eq!(extract(v3), extract(v2), "{what}: features differ");
    assert_eq!(v3.id(), v2.id(), "{what}");
    let (p3, p2) = (probabilities(v3), probabilities(v2));
    common::assert_probs_eq(&p3, &p2, 1e-12, what);
}

#[test]
fn qiskit_exports_read_like_their_qasm2_twins() {
    let mut pairs = 0;
    let mut dynamic = 0;
    let mut entries: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".v3.qasm"))
        .collect();
    entries.sort();
    for v3_path in entries {
        let v2_path = PathBuf::from(v3_path.to_string_lossy().replace(".v3.", ".v2."));
        let what = v3_path.file_name().unwrap().to_string_lossy().to_string();
        let v3 = parse_file(&v3_path).unwrap_or_else(|e| panic!("{e}"));
        let v2 = parse_file(&v2_path).unwrap_or_else(|e| panic!("{e}"));
        assert!(v3.num_qubits() > 0, "{what}");
        if extract(&v3).values.iter().any(|x| x.is_nan()) {
            panic!("{what}: NaN feature");
        }
        if v3.ops().any(|o| o.condition.is_some()) {
            dynamic += 1;
        }
        assert_twins(&v3, &v2, &what);
        pairs += 1;
    }
    // Every MQT Bench family of the corpus, a Clifford circuit and the two built ones.
    assert!(pairs >= 30, "only {pairs} fixture pairs");
    assert!(dynamic >= 1, "no fixture has a condition");
}

const H3: &str = "OPENQASM 3.0;\ninclude \"stdgates.inc\";\n";

#[test]
fn the_rest_of_the_subset_reads_as_its_qasm2_twin() {
    let cases = [
        // Constants, one-qubit declarations, old-style registers, `U`, `gphase`, aliases.
        (
            "qubit a;\nqreg r[2];\nbit b;\ncreg c[2];\n\
             U(π/2, tau/4, euler) a;\nrz(τ/8) r[0];\ngphase(0.3);\n\
             phase(pi/5) r[1];\ncphase(ℇ) r[0], r[1];\nCX a, r[0];\n\
             b = measure a;\nmeasure r -> c;\n",
            "qreg a[1];\nqreg r[2];\ncreg b[1];\ncreg c[2];\n\
             U(pi/2, 2*pi/4, 2.718281828459045) a;\nrz(2*pi/8) r[0];\n\
             p(pi/5) r[1];\ncp(2.718281828459045) r[0], r[1];\nCX a, r[0];\n\
             measure a -> b;\nmeasure r -> c;\n",
        ),
        // `if` on a one-bit register (three spellings) and on a register, braced or not, with
        // several statements in one body; a definition using `gphase`; `reset`, `barrier`.
        (
            "gate g(t) x, y { gphase(t); h x; cx x, y; }\n\
             qubit[2] q;\nbit f;\nbit[2] c;\n\
             h q[0];\nf = measure q[0];\n\
             if (f) { x q[1]; g(0.5) q[0], q[1]; }\n\
             if (f[0] == 1) z q[0];\nif (f == false) y q[1];\n\
             if (c == 2) { reset q[0]; c[0] = measure q[1]; }\n\
             barrier q;\nc = measure q;\n",
            "gate g(t) x, y { h x; cx x, y; }\n\
             qreg q[2];\ncreg f[1];\ncreg c[2];\n\
             h q[0];\nmeasure q[0] -> f[0];\n\
             if (f == 1) x q[1];\nif (f == 1) g(0.5) q[0], q[1];\n\
             if (f == 1) z q[0];\nif (f == 0) y q[1];\n\
             if (c == 2) reset q[0];\nif (c == 2) measure q[1] -> c[0];\n\
             barrier q;\nmeasure q -> c;\n",
        ),
    ];
    for (k, (v3, v2)) in cases.iter().enumerate() {
        let a = parse_str(&format!("{H3}{v3}")).unwrap_or_else(|e| panic!("case {k}: {e}"));
        let b = parse_str(&format!("OPENQASM 2.0;\ninclude \"qelib1.inc\";\n{v2}"))
            .unwrap_or_else(|e| panic!("case {k}: {e}"));
        assert_twins(&a, &b, &format!("case {k}"));
    }
}

#[test]
fn version_3_needs_stdgates_and_keeps_version_2_names_apart() {
    // Without the include, `h` is unknown (and no qelib1 hint is given in version 3).
    let e = parse_str("OPENQASM 3.0;\nqubit q;\nh q;\n").unwrap_err();
    assert_eq!((e.line, e.col), (3, 1), "{e}");
    assert!(e.to_string().contains("unknown gate `h`"), "{e}");
    assert!(!e.to_string().contains("qelib1"), "{e}");
    // Version-3 declarations are not version-2 syntax.
    let e = parse_str("OPENQASM 2.0;\nqubit[2] q;\n").unwrap_err();
    assert_eq!((e.line, e.col), (2, 1), "{e}");
    // Assignment other than a measurement is refused where it stands.
    let e = parse_str(&format!("{H3}qubit q;\nbit c;\nc = 1;\n")).unwrap_err();
    assert_eq!((e.line, e.col), (5, 5), "{e}");
    assert!(e.to_string().contains("not supported"), "{e}");
}

#[test]
fn qasm2_without_a_header_is_read_with_a_warning() {
    let body = "include \"qelib1.inc\";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n";
    let (c, warnings) = QasmParser::new().parse_str_warned(body).unwrap();
    assert_eq!(c, parse_str(&format!("OPENQASM 2.0;\n{body}")).unwrap());
    assert_eq!(warnings.len(), 1);
    assert_eq!((warnings[0].line, warnings[0].col), (1, 1));
    assert!(warnings[0].message.contains("read as OpenQASM 2.0"));
    let (_, none) = QasmParser::new()
        .parse_str_warned(&format!("OPENQASM 2.0;\n{body}"))
        .unwrap();
    assert!(none.is_empty());

    // The command line says so on standard error and goes on.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bell.qasm");
    std::fs::write(&file, body).unwrap();
    let out = Command::new(common::qroute_exe())
        .arg("features")
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "warning: {}:1:1: no `OPENQASM` header",
            file.display()
        )),
        "{err}"
    );
}

/// `if (c[1])` on a wider register (Qiskit 2's `if_test((clbit, 1))`) is a one-bit condition,
/// its `else` the opposite one: they run as written, and survive the version-2 text qroute's
/// executors are sent.
#[test]
fn a_condition_on_one_bit_of_a_wider_register_runs() {
    let src = format!(
        "{H3}qubit[3] q;\nbit[2] c;\nbit[3] r;\n\
         x q[0];\nc[1] = measure q[0];\n\
         if (c[1]) {{ x q[1]; }} else {{ z q[1]; }}\nif (c[0] == false) x q[2];\n\
         if (c[1] == 0) x q[0];\n\
         r = measure q;\n"
    );
    let circuit = parse_str(&src).unwrap();
    let conds: Vec<_> = circuit.ops().filter_map(|o| o.condition).collect();
    assert_eq!(conds.len(), 4);
    assert!(conds.iter().all(|c| c.bit.is_some()), "{conds:?}");
    let back = parse_str(&qroute::circuit::qasm::to_qasm(&circuit)).unwrap();
    assert_eq!(back, circuit);
    // c[1] = 1 flips q[1]; c[0] = 0 flips q[2]; `c[1] == 0` does not undo q[0].
    let out = PrismBackend::new(PrismTarget::Statevector, default_price())
        .execute(
            &circuit,
            &RunSpec {
                shots: 100,
                seed: 1,
                ..RunSpec::default()
            },
        )
        .unwrap();
    let keys: Vec<String> = out.counts.keys().map(|k| k.replace(' ', "")).collect();
    // Classical bit 0 rightmost: r[2] r[1] r[0] c[1] c[0].
    assert_eq!(keys, ["11110"], "{:?}", out.counts);
}

/// The outcomes (registers run together) of 50 seeded shots on the state vector.
fn outcomes(circuit: &qroute::circuit::Circuit) -> Vec<String> {
    let out = PrismBackend::new(PrismTarget::Statevector, default_price())
        .execute(
            circuit,
            &RunSpec {
                shots: 50,
                seed: 3,
                ..RunSpec::default()
            },
        )
        .unwrap();
    out.counts.keys().map(|k| k.replace(' ', "")).collect()
}

/// #32: `else` after `if (c == n)` on a register runs exactly when the register holds another
/// value: its body is copied under each other value (the IR has no `!=`), and the copies
/// survive the version-2 text qroute's executors are sent. An `else` body that measures into
/// the register is refused.
#[test]
fn issue_32_else_after_a_register_condition_runs_the_other_branch() {
    let run = |n: u64| {
        let src = format!(
            "{H3}qubit[3] q;\nbit[2] c;\nbit[3] r;\n\
             x q[0];\nc[0] = measure q[0];\n\
             if (c == {n}) {{ x q[1]; }} else {{ x q[2]; }}\n\
             r = measure q;\n"
        );
        let circuit = parse_str(&src).unwrap_or_else(|e| panic!("{e}"));
        let conds: Vec<u64> = circuit
            .ops()
            .filter_map(|o| o.condition.map(|c| c.value))
            .collect();
        let others: Vec<u64> = (0..4).filter(|&v| v != n).collect();
        assert_eq!(conds, [vec![n], others].concat());
        let back = parse_str(&qroute::circuit::qasm::to_qasm(&circuit)).unwrap();
        assert_eq!(back, circuit);
        outcomes(&circuit)
    };
    // Classical bit 0 rightmost: r[2] r[1] r[0] c[1] c[0]; c = 1.
    assert_eq!(
        run(1),
        ["01101"],
        "the `if` branch, and no copy of the `else`"
    );
    assert_eq!(run(2), ["10101"], "the `else` branch, once");
    let err = parse_str(&format!(
        "{H3}qubit[2] q;\nbit[2] c;\nif (c == 1) {{ x q[0]; }} else {{ c[1] = measure q[1]; }}\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("an `else` body that measures into the register"),
        "{err}"
    );
}

/// Each operation under `if` reads its condition when it runs. A block that measures into a
/// bit its condition reads would change the condition for its own later statements and for
/// its `else`: both are refused where they stand; the measurement as the block's last
/// statement, with no `else`, runs as written (issue #32's `if` support).
#[test]
fn issue_32_a_block_that_writes_its_own_condition_is_refused_where_it_stands() {
    let head = format!("{H3}qubit[3] q;\nbit[2] c;\nx q[0];\nc[0] = measure q[0];\n");
    // Line 8: the statement after the measurement into c[0].
    let e = parse_str(&format!(
        "{head}if (c[0]) {{ c[0] = measure q[1];\n  x q[2]; }}\n"
    ))
    .unwrap_err();
    assert_eq!((e.line, e.col), (8, 3), "{e}");
    assert!(
        e.to_string()
            .contains("after a measurement into a bit its `if` reads"),
        "{e}"
    );
    // Line 7, at `else`: the if-body wrote c[0].
    let e = parse_str(&format!(
        "{head}if (c[0]) {{ c[0] = measure q[1]; }} else {{ x q[2]; }}\n"
    ))
    .unwrap_err();
    assert_eq!(e.line, 7, "{e}");
    assert!(
        e.to_string()
            .contains("`else` after an `if` whose body measures"),
        "{e}"
    );
    // A bit the condition does not read may be written anywhere in the block.
    let ok = parse_str(&format!(
        "{head}if (c[0]) {{ c[1] = measure q[1]; x q[2]; }} else {{ z q[2]; }}\n"
    ));
    assert!(ok.is_ok(), "{ok:?}");
    // Last in its block and no `else`: it runs as written. c[0] = 1, so x q[2] runs and
    // c[0] is measured again from q[1] (|0⟩).
    let circuit = parse_str(&format!(
        "{head}if (c[0]) {{ x q[2]; c[0] = measure q[1]; }}\nc[1] = measure q[2];\n"
    ))
    .unwrap();
    let seen = outcomes(&circuit);
    assert_eq!(seen, ["10"], "{:?}", seen);
}
