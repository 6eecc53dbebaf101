//! The canonical circuit id used in telemetry.
//!
//! The id is the first 128 bits of a BLAKE3 hash over the circuit's structure: the number of
//! qubits and bits, then every operation in order with its kind, flat qubit indices, parameters
//! as IEEE-754 bits, measured bit and condition (register position and size, and value).
//! Register *names*, comments, whitespace and the way the text was written (user gate
//! definitions, broadcasting, expressions) do not enter it; aliases with identical matrices
//! (`U`/`u`/`u3`, `CX`/`cx`, `p`/`u1`, `cp`/`cu1`) hash alike. Changing this function changes
//! every id in recorded telemetry, so the domain string carries a version.

use std::fmt;

use super::{Circuit, OpKind};

/// A circuit's canonical id: 128 bits, shown as 32 lowercase hex digits.
///
/// The first 128 bits of a BLAKE3 hash over the circuit's structure. Register names,
/// comments, whitespace and the way the text was written do not enter it; aliases with
/// identical matrices hash alike (see the module source for the exact byte layout).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CircuitId(pub [u8; 16]);

impl fmt::Display for CircuitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CircuitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CircuitId({self})")
    }
}

const DOMAIN: &[u8] = b"qroute circuit id v1";

impl Circuit {
    /// The canonical id; [`CircuitId`] says what enters it.
    pub fn id(&self) -> CircuitId {
        let mut h = blake3::Hasher::new();
        h.update(DOMAIN);
        h.update(&self.num_qubits().to_le_bytes());
        h.update(&self.num_clbits().to_le_bytes());
        // Reused buffer: one update per operation is much faster than many tiny ones.
        let mut buf: Vec<u8> = Vec::with_capacity(64);
        for op in self.ops() {
            buf.clear();
            match op.kind {
                OpKind::Gate(g) => {
                    buf.push(b'g');
                    buf.extend_from_slice(g.canonical().name().as_bytes());
                }
                OpKind::Opaque(i) => {
                    buf.push(b'o');
                    buf.extend_from_slice(self.opaque_gates()[i as usize].name.as_bytes());
                }
                OpKind::Measure => buf.push(b'm'),
                OpKind::Reset => buf.push(b'r'),
                OpKind::Barrier => buf.push(b'b'),
            }
            buf.push(0);
            buf.extend_from_slice(&(op.qubits.len() as u32).to_le_bytes());
            for q in op.qubits {
                buf.extend_from_slice(&q.to_le_bytes());
            }
            buf.extend_from_slice(&(op.params.len() as u32).to_le_bytes());
            for p in op.params {
                buf.extend_from_slice(&p.to_bits().to_le_bytes());
            }
            if let Some(c) = op.clbit {
                buf.push(b'c');
                buf.extend_from_slice(&c.to_le_bytes());
            }
            if let Some(cond) = op.condition {
                let reg = &self.cregs()[cond.creg as usize];
                buf.push(b'?');
                buf.extend_from_slice(&reg.offset.to_le_bytes());
                buf.extend_from_slice(&reg.size.to_le_bytes());
                buf.extend_from_slice(&cond.value.to_le_bytes());
                // Only when set, so that every other circuit keeps its id.
                if let Some(bit) = cond.bit {
                    buf.push(b'b');
                    buf.extend_from_slice(&bit.to_le_bytes());
                }
            }
            h.update(&buf);
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&h.finalize().as_bytes()[..16]);
        CircuitId(id)
    }
}
