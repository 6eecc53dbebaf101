//! Fuzzes the OpenQASM 2 parser: any bytes must give a circuit or an error, never a panic,
//! and a parsed circuit must survive write -> parse unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qroute::circuit::qasm::{ParseLimits, QasmParser, to_qasm};

fuzz_target!(|data: &[u8]| {
    // Small limits keep every input fast, so the fuzzer explores instead of waiting.
    let limits = ParseLimits {
        max_ops: 100_000,
        max_qubits: 4096,
        max_clbits: 4096,
        ..ParseLimits::default()
    };
    let parser = QasmParser::new().limits(limits).include_dir("/nonexistent");
    if let Ok(circuit) = parser.parse_bytes(data) {
        let _ = qroute::features::extract(&circuit);
        let text = to_qasm(&circuit);
        let back = parser
            .parse_str(&text)
            .unwrap_or_else(|e| panic!("written circuit does not parse: {e}\n{text}"));
        assert_eq!(back, circuit, "write -> parse changed the circuit");
    }
});
