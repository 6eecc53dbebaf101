//! Parameter expressions, stored as a post-order arena so that evaluation is one loop with no
//! recursion (a million-term sum cannot overflow the stack) and no allocation per node.

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

/// Unary functions of OpenQASM 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Sin,
    Cos,
    Tan,
    Exp,
    Ln,
    Sqrt,
}

impl Func {
    pub(crate) fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "sin" => Func::Sin,
            "cos" => Func::Cos,
            "tan" => Func::Tan,
            "exp" => Func::Exp,
            "ln" => Func::Ln,
            "sqrt" => Func::Sqrt,
            _ => return None,
        })
    }
}

/// Where the parser puts an expression as it reads it: an [`Arena`] builds nodes (gate bodies,
/// evaluated per call), [`Direct`] computes the value at once (top-level parameters). The
/// parser is generic over it, so there is one grammar and no tree for a plain `pi/2`.
pub(crate) trait ExprSink {
    /// A built expression: a node index, or a value.
    type V: Copy;
    fn num(&mut self, x: f64) -> Self::V;
    fn param(&mut self, i: u32) -> Self::V;
    fn neg(&mut self, a: Self::V) -> Self::V;
    fn bin(&mut self, op: BinOp, a: Self::V, b: Self::V) -> Self::V;
    fn call(&mut self, f: Func, a: Self::V) -> Self::V;
}

/// Evaluates as it parses. Only for expressions without parameters.
pub(crate) struct Direct;

impl ExprSink for Direct {
    type V = f64;
    #[inline]
    fn num(&mut self, x: f64) -> f64 {
        x
    }
    #[inline]
    fn param(&mut self, _: u32) -> f64 {
        // The parser resolves names against an empty scope at top level, so no parameter
        // reaches here; NaN would be reported as a non-finite value if one did.
        f64::NAN
    }
    #[inline]
    fn neg(&mut self, a: f64) -> f64 {
        -a
    }
    #[inline]
    fn bin(&mut self, op: BinOp, a: f64, b: f64) -> f64 {
        op.apply(a, b)
    }
    #[inline]
    fn call(&mut self, f: Func, a: f64) -> f64 {
        f.apply(a)
    }
}

impl ExprSink for Arena {
    type V = u32;
    fn num(&mut self, x: f64) -> u32 {
        self.push(Node::Num(x))
    }
    fn param(&mut self, i: u32) -> u32 {
        self.push(Node::Param(i))
    }
    fn neg(&mut self, a: u32) -> u32 {
        self.push(Node::Neg(a))
    }
    fn bin(&mut self, op: BinOp, a: u32, b: u32) -> u32 {
        self.push(Node::Bin(op, a, b))
    }
    fn call(&mut self, f: Func, a: u32) -> u32 {
        self.push(Node::Call(f, a))
    }
}

impl BinOp {
    #[inline]
    fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Mul => a * b,
            BinOp::Div => a / b,
            BinOp::Pow => a.powf(b),
        }
    }
}

impl Func {
    #[inline]
    fn apply(self, a: f64) -> f64 {
        match self {
            Func::Sin => a.sin(),
            Func::Cos => a.cos(),
            Func::Tan => a.tan(),
            Func::Exp => a.exp(),
            Func::Ln => a.ln(),
            Func::Sqrt => a.sqrt(),
        }
    }
}

/// One node; children always come before their parent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Node {
    Num(f64),
    /// The gate's i-th parameter.
    Param(u32),
    Neg(u32),
    Bin(BinOp, u32, u32),
    Call(Func, u32),
}

/// A list of nodes holding one or more expressions; an expression is its root's index.
#[derive(Debug, Clone, Default)]
pub(crate) struct Arena {
    pub(crate) nodes: Vec<Node>,
}

impl Arena {
    #[inline]
    fn push(&mut self, n: Node) -> u32 {
        self.nodes.push(n);
        (self.nodes.len() - 1) as u32
    }

    /// Evaluates every node with the given parameter values into `out` (same indices).
    pub(crate) fn eval_all(&self, params: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.reserve(self.nodes.len());
        for n in &self.nodes {
            let v = match *n {
                Node::Num(x) => x,
                Node::Param(i) => params[i as usize],
                Node::Neg(a) => -out[a as usize],
                Node::Bin(op, a, b) => op.apply(out[a as usize], out[b as usize]),
                Node::Call(f, a) => f.apply(out[a as usize]),
            };
            out.push(v);
        }
    }
}
