// qroute's GPU state vector: one kernel, three operation kinds, read from a uniform at a
// dynamic offset so that a whole circuit is one compute pass.
//
// `SCALAR` is replaced by f32 or f64 before compilation. Amplitudes are vec2 (re, im); qubit j
// is bit j of an amplitude's index. A matrix entry k is m[k / 2].xy (k even) or .zw (k odd),
// row-major; for two-qubit gates, bit 0 of a row or column is operand q0 and bit 1 is q1.

alias S = SCALAR;

struct Op {
    // 0: 2x2 matrix on q0; 1: 4x4 matrix on (q0, q1); 2: diagonal on q0 (and q1 unless 32)
    kind: u32,
    q0: u32,
    q1: u32,
    // Only indices with all these bits set are touched (controls).
    cmask: u32,
    // Work items: 2^(n-1), 2^(n-2) or 2^n.
    count: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
    m: array<vec4<S>, 8>,
}

@group(0) @binding(0) var<storage, read_write> state: array<vec2<S>>;
@group(0) @binding(1) var<uniform> op: Op;

fn cmul(a: vec2<S>, b: vec2<S>) -> vec2<S> {
    return vec2<S>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

fn entry(k: u32) -> vec2<S> {
    let v = op.m[k / 2u];
    if (k % 2u == 0u) {
        return v.xy;
    }
    return v.zw;
}

fn insert_zero(i: u32, bit: u32) -> u32 {
    let low = i & ((1u << bit) - 1u);
    return ((i >> bit) << (bit + 1u)) | low;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * 64u;
    if (idx >= op.count) {
        return;
    }
    if (op.kind == 0u) {
        let i0 = insert_zero(idx, op.q0);
        if ((i0 & op.cmask) != op.cmask) {
            return;
        }
        let i1 = i0 | (1u << op.q0);
        let a0 = state[i0];
        let a1 = state[i1];
        state[i0] = cmul(entry(0u), a0) + cmul(entry(1u), a1);
        state[i1] = cmul(entry(2u), a0) + cmul(entry(3u), a1);
    } else if (op.kind == 1u) {
        let lo = min(op.q0, op.q1);
        let hi = max(op.q0, op.q1);
        let base = insert_zero(insert_zero(idx, lo), hi);
        if ((base & op.cmask) != op.cmask) {
            return;
        }
        var ids: array<u32, 4>;
        var amps: array<vec2<S>, 4>;
        for (var k = 0u; k < 4u; k = k + 1u) {
            var i = base;
            if ((k & 1u) != 0u) {
                i = i | (1u << op.q0);
            }
            if ((k & 2u) != 0u) {
                i = i | (1u << op.q1);
            }
            ids[k] = i;
            amps[k] = state[i];
        }
        for (var r = 0u; r < 4u; r = r + 1u) {
            var acc = vec2<S>(S(0), S(0));
            for (var c = 0u; c < 4u; c = c + 1u) {
                acc = acc + cmul(entry(r * 4u + c), amps[c]);
            }
            state[ids[r]] = acc;
        }
    } else {
        if ((idx & op.cmask) != op.cmask) {
            return;
        }
        var local = (idx >> op.q0) & 1u;
        if (op.q1 < 32u) {
            local = local | (((idx >> op.q1) & 1u) << 1u);
        }
        state[idx] = cmul(entry(local), state[idx]);
    }
}
