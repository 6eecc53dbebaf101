//! Circuit → OpenQASM 2 text that the parser reads back into the same circuit.

use std::fmt::Write as _;
use std::io;

use crate::circuit::{Circuit, Gate, OpKind};

/// The circuit as OpenQASM 2.0 text.
///
/// Registers keep their names; parameters are written with Rust's shortest round-trip
/// formatting, so parsing the text gives back exactly the same parameters.
pub fn to_qasm(circuit: &Circuit) -> String {
    let mut s = String::with_capacity(32 * circuit.len() + 128);
    s.push_str("OPENQASM 2.0;\n");
    // qelib1.inc would clash with an opaque gate of the same name (which only a circuit
    // without qelib1.inc can have).
    let clash = circuit
        .opaque_gates()
        .iter()
        .any(|o| Gate::from_name(&o.name).is_some_and(|g| g.info().qelib1));
    if !clash {
        s.push_str("include \"qelib1.inc\";\n");
    }
    for o in circuit.opaque_gates() {
        s.push_str("opaque ");
        s.push_str(&o.name);
        if o.num_params > 0 {
            let ps: Vec<String> = (0..o.num_params).map(|i| format!("p{i}")).collect();
            let _ = write!(s, "({})", ps.join(","));
        }
        let qs: Vec<String> = (0..o.arity).map(|i| format!("q{i}")).collect();
        let _ = writeln!(s, " {};", qs.join(","));
    }
    for r in circuit.qregs() {
        let _ = writeln!(s, "qreg {}[{}];", r.name, r.size);
    }
    for r in circuit.cregs() {
        let _ = writeln!(s, "creg {}[{}];", r.name, r.size);
    }
    let qname = names(circuit.num_qubits(), circuit.qregs());
    let cname = names(circuit.num_clbits(), circuit.cregs());
    for op in circuit.ops() {
        if let Some(c) = op.condition {
            let name = &circuit.cregs()[c.creg as usize].name;
            // A one-bit condition is OpenQASM 3's; written `if(c[1]==1)` in the version-2
            // text, which qroute's parser reads back (Qiskit's does not).
            let _ = match c.bit {
                None => write!(s, "if({name}=={}) ", c.value),
                Some(b) => write!(s, "if({name}[{b}]=={}) ", c.value),
            };
        }
        let name = match op.kind {
            OpKind::Gate(g) => g.name(),
            OpKind::Opaque(i) => &circuit.opaque_gates()[i as usize].name,
            OpKind::Measure => "measure",
            OpKind::Reset => "reset",
            OpKind::Barrier => "barrier",
        };
        s.push_str(name);
        if !op.params.is_empty() {
            s.push('(');
            for (i, p) in op.params.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                let _ = write!(s, "{p:?}");
            }
            s.push(')');
        }
        for (i, &q) in op.qubits.iter().enumerate() {
            s.push(if i == 0 { ' ' } else { ',' });
            let (r, k) = qname[q as usize];
            let _ = write!(s, "{}[{k}]", circuit.qregs()[r].name);
        }
        if let Some(c) = op.clbit {
            let (r, k) = cname[c as usize];
            let _ = write!(s, " -> {}[{k}]", circuit.cregs()[r].name);
        }
        s.push_str(";\n");
    }
    s
}

/// Writes [`to_qasm`]'s text to `w`.
pub fn write_qasm(circuit: &Circuit, mut w: impl io::Write) -> io::Result<()> {
    w.write_all(to_qasm(circuit).as_bytes())
}

/// For each flat index: (register, index within it).
fn names(n: u32, regs: &[crate::circuit::Register]) -> Vec<(usize, u32)> {
    let mut out = vec![(0, 0); n as usize];
    for (ri, r) in regs.iter().enumerate() {
        for (k, q) in r.range().enumerate() {
            out[q as usize] = (ri, k as u32);
        }
    }
    out
}
