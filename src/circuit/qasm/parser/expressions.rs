//! Parameter expressions: precedence climbing with a depth limit, into a sink that either
//! evaluates at once (top-level calls) or builds an arena (gate bodies).

use super::{FileParser, Names, Result};
use crate::circuit::qasm::ParseErrorKind;
use crate::circuit::qasm::expr::{BinOp, Direct, ExprSink, Func};
use crate::circuit::qasm::lexer::Tok;

impl<'s> FileParser<'s, '_> {
    pub(super) fn enter(&self, depth: u32) -> Result<u32> {
        if depth >= self.st.limits.max_expr_depth {
            return Err(self.error(
                &self.tok,
                ParseErrorKind::Limit {
                    what: "expression nesting",
                    limit: self.st.limits.max_expr_depth as u64,
                },
            ));
        }
        Ok(depth + 1)
    }

    /// expr := term (('+' | '-') term)*
    pub(super) fn expr<S: ExprSink>(
        &mut self,
        a: &mut S,
        scope: &Names<'_>,
        depth: u32,
    ) -> Result<S::V> {
        let depth = self.enter(depth)?;
        let mut lhs = self.term(a, scope, depth)?;
        loop {
            let op = match self.tok.kind() {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(lhs),
            };
            self.advance()?;
            let rhs = self.term(a, scope, depth)?;
            lhs = a.bin(op, lhs, rhs);
        }
    }

    /// term := unary (('*' | '/') unary)*
    pub(super) fn term<S: ExprSink>(
        &mut self,
        a: &mut S,
        scope: &Names<'_>,
        depth: u32,
    ) -> Result<S::V> {
        let mut lhs = self.unary(a, scope, depth)?;
        loop {
            let op = match self.tok.kind() {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                _ => return Ok(lhs),
            };
            self.advance()?;
            let rhs = self.unary(a, scope, depth)?;
            lhs = a.bin(op, lhs, rhs);
        }
    }

    /// unary := ('-' | '+') unary | power.  `-2^2` is `-(2^2)`, as in Python.
    pub(super) fn unary<S: ExprSink>(
        &mut self,
        a: &mut S,
        scope: &Names<'_>,
        depth: u32,
    ) -> Result<S::V> {
        match self.tok.kind() {
            Tok::Minus => {
                let depth = self.enter(depth)?;
                self.advance()?;
                let x = self.unary(a, scope, depth)?;
                Ok(a.neg(x))
            }
            Tok::Plus => {
                let depth = self.enter(depth)?;
                self.advance()?;
                self.unary(a, scope, depth)
            }
            _ => self.power(a, scope, depth),
        }
    }

    /// power := atom ('^' unary)?  (right-associative)
    pub(super) fn power<S: ExprSink>(
        &mut self,
        a: &mut S,
        scope: &Names<'_>,
        depth: u32,
    ) -> Result<S::V> {
        let base = self.atom(a, scope, depth)?;
        if self.tok.kind() == Tok::Caret {
            let depth = self.enter(depth)?;
            self.advance()?;
            let exp = self.unary(a, scope, depth)?;
            return Ok(a.bin(BinOp::Pow, base, exp));
        }
        Ok(base)
    }

    pub(super) fn atom<S: ExprSink>(
        &mut self,
        a: &mut S,
        scope: &Names<'_>,
        depth: u32,
    ) -> Result<S::V> {
        let t = self.tok;
        match t.kind() {
            Tok::Int | Tok::Real => {
                self.advance()?;
                // Integers too large for u64 are still fine as reals.
                let v: f64 = self.text(&t).parse().map_err(|_| {
                    self.error(
                        &t,
                        ParseErrorKind::InvalidNumber {
                            text: self.text(&t).to_string(),
                        },
                    )
                })?;
                Ok(a.num(v))
            }
            Tok::LParen => {
                self.advance()?;
                let x = self.expr(a, scope, depth)?;
                self.expect(Tok::RParen, "`)`")?;
                Ok(x)
            }
            Tok::Ident => {
                let name = self.text(&t);
                self.advance()?;
                if name == "pi" {
                    return Ok(a.num(std::f64::consts::PI));
                }
                if let Some(i) = scope.position(name) {
                    return Ok(a.param(i));
                }
                if self.st.v3 {
                    let c = match name {
                        "π" => Some(std::f64::consts::PI),
                        "tau" | "τ" => Some(std::f64::consts::TAU),
                        "euler" | "ℇ" => Some(std::f64::consts::E),
                        _ => None,
                    };
                    if let Some(c) = c {
                        return Ok(a.num(c));
                    }
                }
                if let Some(f) = Func::from_name(name) {
                    self.expect(Tok::LParen, "`(` after a function name")?;
                    let x = self.expr(a, scope, depth)?;
                    self.expect(Tok::RParen, "`)`")?;
                    return Ok(a.call(f, x));
                }
                Err(self.error(
                    &t,
                    ParseErrorKind::UnknownIdentifier {
                        name: name.to_string(),
                    },
                ))
            }
            _ => Err(self.unexpected("an expression")),
        }
    }

    /// `(e1, e2, ...)` at top level, evaluated into `st.params`. No parentheses: no params.
    pub(super) fn top_params(&mut self) -> Result<()> {
        self.st.params.clear();
        if self.tok.kind() != Tok::LParen {
            return Ok(());
        }
        self.advance()?;
        if self.eat(Tok::RParen)? {
            return Ok(());
        }
        loop {
            let start = self.tok;
            self.count_args(&start, self.st.params.len())?;
            let v = self.expr(&mut Direct, &Names::default(), 0)?;
            if !v.is_finite() {
                return Err(self.error(&start, ParseErrorKind::NonFinite { value: v }));
            }
            self.st.params.push(v);
            if !self.eat(Tok::Comma)? {
                break;
            }
        }
        self.expect(Tok::RParen, "`)` or `,`")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::circuit::qasm::{ParseErrorKind, ParseLimits, QasmParser, parse_str};

    /// The three parameters of `U(e1, e2, e3) q[0];`.
    fn params(e: &str) -> Vec<f64> {
        let c = parse_str(&format!("OPENQASM 2.0;\nqreg q[1];\nU({e}) q[0];\n")).unwrap();
        c.ops().next().unwrap().params.to_vec()
    }

    #[test]
    fn precedence_is_python_s() {
        // -2^2 is -(2^2); ^ is right-associative; * and / before + and -.
        assert_eq!(params("-2^2, 2^3^2, 1 + 2 * 3 - 4 / 2"), [-4.0, 512.0, 5.0]);
        assert_eq!(params("(1 + 2) * 3, +1, --1"), [9.0, 1.0, 1.0]);
    }

    #[test]
    fn functions_and_pi() {
        let p = params("sin(pi / 2), ln(exp(2)), sqrt(16) + cos(0) - tan(0)");
        assert_eq!(p[0], 1.0);
        assert!((p[1] - 2.0).abs() < 1e-15);
        assert_eq!(p[2], 5.0);
    }

    #[test]
    fn nesting_and_values_are_bounded() {
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        let limits = ParseLimits {
            max_expr_depth: 64,
            ..ParseLimits::default()
        };
        let e = QasmParser::new()
            .limits(limits)
            .parse_str(&format!("OPENQASM 2.0;\nqreg q[1];\nU({deep},0,0) q[0];\n"))
            .unwrap_err();
        assert!(
            matches!(e.kind, ParseErrorKind::Limit { what, .. } if what == "expression nesting")
        );
        let e = parse_str("OPENQASM 2.0;\nqreg q[1];\nU(1/0,0,0) q[0];\n").unwrap_err();
        assert!(matches!(e.kind, ParseErrorKind::NonFinite { .. }), "{e}");
        let e = parse_str("OPENQASM 2.0;\nqreg q[1];\nU(theta,0,0) q[0];\n").unwrap_err();
        assert!(
            matches!(e.kind, ParseErrorKind::UnknownIdentifier { .. }),
            "{e}"
        );
    }
}
