//! `include`: `qelib1.inc` built in, other files read once and expanded within the budget.

use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use super::{Callable, FileParser, Result, parse_source};
use crate::circuit::gate::ALL_GATES;
use crate::circuit::qasm::ParseErrorKind;
use crate::circuit::qasm::lexer::Tok;

impl<'s> FileParser<'s, '_> {
    pub(super) fn include(&mut self) -> Result<()> {
        let kw = self.advance()?;
        let t = self.expect(Tok::Str, "a file name in double quotes")?;
        let name = &self.src[t.start() as usize + 1..t.end() as usize - 1];
        self.expect(Tok::Semi, "`;`")?;
        if name == "qelib1.inc" {
            if !self.st.qelib1 {
                for &g in ALL_GATES.iter().filter(|g| g.info().qelib1) {
                    if self.st.gates.contains_key(g.name()) {
                        return Err(self.error(
                            &t,
                            ParseErrorKind::GateRedefined {
                                name: g.name().to_string(),
                            },
                        ));
                    }
                    self.st
                        .gates
                        .insert(g.name().to_string(), Callable::Builtin(g));
                }
                self.st.qelib1 = true;
            }
            return Ok(());
        }
        if name == "stdgates.inc" && self.st.v3 {
            self.include_stdgates();
            return Ok(());
        }
        let base = match &self.file {
            Some(f) => f.parent().map(Path::to_path_buf).unwrap_or_default(),
            None => self.st.include_dir.clone().unwrap_or_default(),
        };
        if self.st.limits.max_include_depth == 0 {
            return Err(self.error(
                &t,
                ParseErrorKind::IncludeRefused {
                    name: crate::display::clip(name, 64),
                },
            ));
        }
        let path = base.join(name);
        self.st.includes += 1;
        if self.st.includes > self.st.limits.max_includes {
            return Err(self.error(
                &kw,
                ParseErrorKind::Limit {
                    what: "number of includes expanded",
                    limit: self.st.limits.max_includes,
                },
            ));
        }
        if self.depth + 1 > self.st.limits.max_include_depth {
            return Err(self.error(
                &kw,
                ParseErrorKind::Limit {
                    what: "include nesting",
                    limit: self.st.limits.max_include_depth as u64,
                },
            ));
        }
        let canonical = path.canonicalize().map_err(|e| {
            self.error(
                &t,
                ParseErrorKind::Io {
                    path: path.clone(),
                    source: Arc::new(e),
                },
            )
        })?;
        if self.st.include_stack.contains(&canonical) {
            return Err(self.error(&t, ParseErrorKind::IncludeCycle { path }));
        }
        let text = match self.st.included.get(&canonical) {
            Some(text) => text.clone(),
            None => {
                let text: Rc<str> = crate::circuit::qasm::read_source(&path, &self.st.limits)
                    .map_err(|e| {
                        // Reading problems are reported at the include statement.
                        if e.line == 0 {
                            self.error(&t, e.kind.clone())
                        } else {
                            Box::new(e)
                        }
                    })?
                    .into();
                self.st.included.insert(canonical.clone(), text.clone());
                text
            }
        };
        self.st.include_stack.push(canonical);
        let r = parse_source(self.st, &text, Some(Arc::new(path)), self.depth + 1);
        self.st.include_stack.pop();
        r
    }
}

#[cfg(test)]
mod tests {
    use crate::circuit::qasm::{ParseErrorKind, ParseLimits, QasmParser, parse_file, parse_str};

    #[test]
    fn qelib1_is_built_in_and_may_come_twice() {
        let c = parse_str(
            "OPENQASM 2.0;\ninclude \"qelib1.inc\";\ninclude \"qelib1.inc\";\nqreg q[1];\nh q[0];\n",
        )
        .unwrap();
        assert_eq!(c.len(), 1);
        // Without it, its gates are unknown.
        assert!(parse_str("OPENQASM 2.0;\nqreg q[1];\nh q[0];\n").is_err());
    }

    #[test]
    fn a_file_included_twice_is_expanded_twice_and_cycles_are_refused() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("body.inc"), "U(0,0,0) q[0];\n").unwrap();
        let top = d.path().join("top.qasm");
        std::fs::write(
            &top,
            "OPENQASM 2.0;\nqreg q[1];\ninclude \"body.inc\";\ninclude \"body.inc\";\n",
        )
        .unwrap();
        assert_eq!(parse_file(&top).unwrap().len(), 2);
        std::fs::write(d.path().join("a.inc"), "include \"b.inc\";\n").unwrap();
        std::fs::write(d.path().join("b.inc"), "include \"a.inc\";\n").unwrap();
        std::fs::write(&top, "OPENQASM 2.0;\ninclude \"a.inc\";\n").unwrap();
        let e = parse_file(&top).unwrap_err();
        assert!(matches!(e.kind, ParseErrorKind::IncludeCycle { .. }), "{e}");
    }

    #[test]
    fn where_includes_are_off_one_is_refused_by_name() {
        let limits = ParseLimits {
            max_include_depth: 0,
            ..ParseLimits::default()
        };
        let e = QasmParser::new()
            .limits(limits)
            .parse_str("OPENQASM 2.0;\ninclude \"secret.inc\";\n")
            .unwrap_err();
        assert!(
            matches!(&e.kind, ParseErrorKind::IncludeRefused { name } if name == "secret.inc"),
            "{e}"
        );
        assert_eq!((e.line, e.col), (2, 9));
    }
}
