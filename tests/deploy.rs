//! #32: the deployment files (Dockerfile, compose.yaml, docs/deploy/) run commands this
//! qroute accepts: every flag exists and every value parses. They cannot be run here (no
//! Docker, no cluster); a renamed flag would otherwise break them silently.

mod common;

use std::path::Path;
use std::process::Command;

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// qroute parses `args` (clap checks every flag and value before it prints the help).
fn accepts(file: &str, args: &[String]) {
    let out = Command::new(common::qroute_exe())
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{file}: `qroute {}` is refused: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The JSON arrays after `key` at the start of a (trimmed) line.
fn json_lists(text: &str, key: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(key))
        .map(|rest| serde_json::from_str(rest.trim()).unwrap_or_else(|e| panic!("{rest}: {e}")))
        .collect()
}

#[test]
fn issue_32_deployment_commands_parse() {
    let dockerfile = read("Dockerfile");
    assert_eq!(
        json_lists(&dockerfile, "ENTRYPOINT "),
        [vec!["qroute".to_string()]]
    );
    let cmd = json_lists(&dockerfile, "CMD ");
    assert_eq!(cmd.len(), 1);
    accepts("Dockerfile", &cmd[0]);
    assert!(
        dockerfile.contains("\nUSER qroute\n"),
        "the image runs as non-root"
    );

    let compose = read("compose.yaml");
    let commands: Vec<Vec<String>> = json_lists(&compose, "command: ")
        .into_iter()
        .filter(|c| c[0] != "redis-server")
        .collect();
    assert_eq!(commands.len(), 2, "serve and the workers");
    for c in &commands {
        accepts("compose.yaml", c);
    }
    assert!(compose.contains("replicas: 2"), "two workers");

    let k8s = read("docs/deploy/kubernetes.yaml");
    let args: Vec<String> = k8s
        .lines()
        .skip_while(|l| l.trim() != "args:")
        .skip(1)
        .map_while(|l| l.trim().strip_prefix("- ").map(str::to_string))
        .collect();
    assert_eq!(args.first().map(String::as_str), Some("worker"), "{k8s}");
    accepts("docs/deploy/kubernetes.yaml", &args);

    let unit = read("docs/deploy/qroute-worker.service");
    let exec: String = unit
        .lines()
        .skip_while(|l| !l.starts_with("ExecStart="))
        .scan(true, |more, l| {
            let line = (*more).then(|| l.trim_end_matches('\\').to_string());
            *more = l.ends_with('\\');
            line
        })
        .collect::<Vec<_>>()
        .join(" ");
    let words: Vec<String> = exec
        .trim_start_matches("ExecStart=")
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect();
    assert_eq!(words.first().map(String::as_str), Some("worker"), "{exec}");
    accepts("docs/deploy/qroute-worker.service", &words);
}
