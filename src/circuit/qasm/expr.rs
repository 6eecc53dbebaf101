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
    pub(crate) fn push(&mut self, n: Node) -> u32 {
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
                Node::Bin(op, a, b) => {
                    let (a, b) = (out[a as usize], out[b as usize]);
                    match op {
                        BinOp::Add => a + b,
                        BinOp::Sub => a - b,
                        BinOp::Mul => a * b,
                        BinOp::Div => a / b,
                        BinOp::Pow => a.powf(b),
                    }
                }
                Node::Call(f, a) => {
                    let a = out[a as usize];
                    match f {
                        Func::Sin => a.sin(),
                        Func::Cos => a.cos(),
                        Func::Tan => a.tan(),
                        Func::Exp => a.exp(),
                        Func::Ln => a.ln(),
                        Func::Sqrt => a.sqrt(),
                    }
                }
            };
            out.push(v);
        }
    }
}
