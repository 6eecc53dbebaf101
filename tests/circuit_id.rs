//! The canonical circuit id: same circuit → same id, whatever the text looked like.

use qroute::circuit::qasm::parse_str;

const BASE: &str = r#"OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
h q[0];
cx q[0],q[1];
rz(pi/4) q[2];
measure q -> c;
"#;

#[test]
fn id_ignores_whitespace_comments_register_names_and_spelling() {
    let base = parse_str(BASE).unwrap().id();
    let variants = [
        // whitespace and comments
        "OPENQASM 2.0; // header\ninclude \"qelib1.inc\";\n/* block */ qreg q[3]; creg c[3];\n  h   q[0] ;\ncx q[0] , q[1];rz( pi / 4 ) q[2];\nmeasure q->c;",
        // other register names
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg data[3];\ncreg out[3];\nh data[0];\ncx data[0],data[1];\nrz(pi/4) data[2];\nmeasure data -> out;",
        // the same numbers written differently, and the same qubits split over two registers
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg a[2];\nqreg b[1];\ncreg c[3];\nh a[0];\nCX a[0],a[1];\nrz(0.7853981633974483) b[0];\nmeasure a[0] -> c[0];\nmeasure a[1] -> c[1];\nmeasure b[0] -> c[2];",
        // a user gate that inlines to the same operations
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\ngate bell x, y { h x; cx x, y; }\nqreg q[3];\ncreg c[3];\nbell q[0], q[1];\nrz(pi/4) q[2];\nmeasure q -> c;",
    ];
    for v in variants {
        assert_eq!(parse_str(v).unwrap().id(), base, "{v}");
    }
}

#[test]
fn id_changes_when_the_circuit_does() {
    let base = parse_str(BASE).unwrap().id();
    for (from, to) in [
        ("rz(pi/4)", "rz(pi/2)"),
        ("cx q[0],q[1]", "cx q[1],q[0]"),
        ("h q[0];", "x q[0];"),
        ("measure q -> c;", "measure q[0] -> c[0];"),
        ("creg c[3];", "creg c[3];\ncreg d[1];"),
    ] {
        let text = BASE.replace(from, to);
        assert_ne!(parse_str(&text).unwrap().id(), base, "{from} -> {to}");
    }
}
