//! Every command the host target runs on a machine, as an argument vector
//! built by a pure function (tested exactly below), and the parsers of
//! their output. Nothing here touches the network.
//!
//! Layout on the machine, under the host root `R` (default
//! `/var/lib/hlb/deploy`):
//!
//! ```text
//! R/gens/<generation hex>/manifest       hlb-host-generation-v1, then one `<sha256>  <path>` per file
//! R/gens/<generation hex>/files/<key>    a file's content, with its mode and owner
//! R/gens/<generation hex>.partial/       a stage in progress (never read)
//! R/current -> gens/<hex>                the active generation
//! R/previous -> gens/<hex>               the one kept for rollback
//! <path> -> R/current/files/<key>        every delivered file
//! ```
//!
//! Because each delivered path is a symlink through `R/current`, swapping
//! that one symlink (a rename) switches every file at once.

use hlb_cache::Digest;
use sha2::{Digest as _, Sha256};

pub const MANIFEST_FORMAT: &str = "hlb-host-generation-v1";

/// The name of a file's content inside a generation directory: derived
/// from its destination path alone, so a path keeps its link across
/// generations and activation only touches added or removed paths.
pub fn key(path: &str) -> String {
    hex(&Sha256::digest(path.as_bytes()))[..32].to_string()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn v(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

pub fn gens(root: &str) -> String {
    format!("{root}/gens")
}

pub fn gen_dir(root: &str, generation: &Digest) -> String {
    format!("{root}/gens/{}", generation.hex())
}

pub fn partial_dir(root: &str, generation: &Digest) -> String {
    format!("{}.partial", gen_dir(root, generation))
}

/// Where a delivered path's symlink points.
pub fn link_target(root: &str, path: &str) -> String {
    format!("{root}/current/files/{}", key(path))
}

/// The active generation's manifest (fails when nothing is active).
pub fn read_manifest(root: &str) -> Vec<String> {
    v(&["cat", "--", &format!("{root}/current/manifest")])
}

/// What the previous generation is (fails when there is none).
pub fn read_previous(root: &str) -> Vec<String> {
    v(&["readlink", "--", &format!("{root}/previous")])
}

/// SHA-256 of each path's content, following symlinks; missing paths are
/// reported on stderr and make it exit 1 (the others are still printed).
pub fn hash_files(paths: &[&str]) -> Vec<String> {
    let mut a = v(&["sha256sum", "--"]);
    a.extend(paths.iter().map(|p| p.to_string()));
    a
}

/// For each existing path: its type (`l`, `f`, `d`, …), its link target
/// (empty unless a link) and the path, tab-separated, one per line.
pub fn inspect(paths: &[&str]) -> Vec<String> {
    let mut a = v(&["find"]);
    a.extend(paths.iter().map(|p| p.to_string()));
    a.extend(v(&["-maxdepth", "0", "-printf", "%y\\t%l\\t%p\\n"]));
    a
}

/// Succeeds when the generation is fully staged.
pub fn is_staged(root: &str, generation: &Digest) -> Vec<String> {
    v(&["test", "-d", &gen_dir(root, generation)])
}

pub fn mkdir_p(dirs: &[&str]) -> Vec<String> {
    let mut a = v(&["mkdir", "-p", "--"]);
    a.extend(dirs.iter().map(|p| p.to_string()));
    a
}

pub fn remove_trees(paths: &[&str]) -> Vec<String> {
    let mut a = v(&["rm", "-rf", "--"]);
    a.extend(paths.iter().map(|p| p.to_string()));
    a
}

/// Unpack a stage from stdin, keeping modes and owners. Its members are
/// named relative to `/` (`R/gens/<hex>.partial/…` without the leading
/// slash), so missing parents of `R` are made in the same step, and a
/// partial stage left by a crash is simply overwritten.
pub fn unpack() -> Vec<String> {
    v(&[
        "tar",
        "-x",
        "-p",
        "--same-owner",
        "--no-overwrite-dir",
        "-f",
        "-",
        "-C",
        "/",
    ])
}

/// Rename `from` to `to` in one step (`to` must not be a non-empty
/// directory).
pub fn rename(from: &str, to: &str) -> Vec<String> {
    v(&["mv", "-f", "-T", "--", from, to])
}

/// Create the symlink `link` → `target`, replacing a leftover `link`
/// (only ever used on temporary names; the real name is then renamed over).
pub fn symlink(target: &str, link: &str) -> Vec<String> {
    v(&["ln", "-s", "-f", "-T", "--", target, link])
}

pub fn remove_files(paths: &[&str]) -> Vec<String> {
    let mut a = v(&["rm", "-f", "--"]);
    a.extend(paths.iter().map(|p| p.to_string()));
    a
}

/// The generation directories present on the machine and where
/// `R/previous` points, in one listing (see [`parse_gens`]).
pub fn list_gens(root: &str) -> Vec<String> {
    v(&[
        "find",
        &gens(root),
        &format!("{root}/previous"),
        "-mindepth",
        "0",
        "-maxdepth",
        "1",
        "-printf",
        "%y\\t%l\\t%d\\t%f\\n",
    ])
}

/// [`list_gens`] output: generation directory names (partial ones too),
/// and the name `R/previous` points at.
pub fn parse_gens(text: &str) -> (Vec<String>, Option<String>) {
    let mut gens = Vec::new();
    let mut previous = None;
    for l in text.lines() {
        let f: Vec<&str> = l.splitn(4, '\t').collect();
        match f.as_slice() {
            ["l", link, "0", _] => {
                previous = Some(link.trim_start_matches("gens/").to_string());
            }
            ["d", _, "1", name] => gens.push(name.to_string()),
            _ => {}
        }
    }
    (gens, previous)
}

pub fn systemctl(verb: &str, unit: &str) -> Vec<String> {
    v(&["systemctl", verb, "--", unit])
}

pub fn unit_active(unit: &str) -> Vec<String> {
    v(&["systemctl", "is-active", "--quiet", "--", unit])
}

/// The manifest of a generation: the format line with its hash, then one
/// `<sha256>  <path>` line per file, sorted by path.
pub fn manifest(generation: &Digest, files: &[(String, String)]) -> String {
    let mut out = format!("{MANIFEST_FORMAT} {}\n", generation.hex());
    for (path, sha) in files {
        out.push_str(&format!("{sha}  {path}\n"));
    }
    out
}

/// A parsed manifest: the generation and `(path, sha256)` per file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub generation: Digest,
    pub files: Vec<(String, String)>,
}

pub fn parse_manifest(text: &str) -> Option<Manifest> {
    let mut lines = text.lines();
    let head = lines.next()?;
    let hex = head.strip_prefix(MANIFEST_FORMAT)?.strip_prefix(' ')?;
    let generation = Digest::from_hex(hex).ok()?;
    let mut files = Vec::new();
    for l in lines {
        let (sha, path) = l.split_once("  ")?;
        files.push((path.to_string(), sha.to_string()));
    }
    Some(Manifest { generation, files })
}

/// `sha256sum` output: path → hash. Paths with backslashes or newlines
/// are refused before anything is delivered, so no escaped lines occur.
pub fn parse_hashes(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(sha, path)| (path.to_string(), sha.to_string()))
        .collect()
}

/// [`inspect`] output: path → (type, link target).
pub fn parse_inspect(text: &str) -> Vec<(String, (String, String))> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, '\t');
            let ty = it.next()?;
            let link = it.next()?;
            let path = it.next()?;
            Some((path.to_string(), (ty.to_string(), link.to_string())))
        })
        .collect()
}

/// A path the host target can deliver to: absolute, and without the
/// characters its line-based command outputs cannot carry.
pub fn path_problem(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        Some("is not absolute")
    } else if path.contains(['\n', '\t', '\\']) {
        Some("contains a newline, tab or backslash")
    } else if path.split('/').any(|c| c == "..") {
        Some("contains `..`")
    } else {
        None
    }
}

/// The command line `ssh` gives the remote user's shell for `argv`:
/// every argument single-quoted unless it is plainly safe, so the shell
/// splits it back into exactly `argv` and expands nothing.
pub fn remote_command(argv: &[String]) -> String {
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

fn quote(a: &str) -> String {
    let safe = !a.is_empty()
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./,:=@%+".contains(&b));
    if safe {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn commands_are_exact_argument_vectors() {
        let g = Digest([0xab; 32]);
        let hex = g.hex();
        let r = "/var/lib/hlb/deploy";
        assert_eq!(
            read_manifest(r),
            s(&["cat", "--", "/var/lib/hlb/deploy/current/manifest"])
        );
        assert_eq!(
            is_staged(r, &g),
            s(&["test", "-d", &format!("/var/lib/hlb/deploy/gens/{hex}")])
        );
        assert_eq!(
            unpack(),
            s(&[
                "tar",
                "-x",
                "-p",
                "--same-owner",
                "--no-overwrite-dir",
                "-f",
                "-",
                "-C",
                "/"
            ])
        );
        assert_eq!(
            rename(&partial_dir(r, &g), &gen_dir(r, &g)),
            s(&[
                "mv",
                "-f",
                "-T",
                "--",
                &format!("/var/lib/hlb/deploy/gens/{hex}.partial"),
                &format!("/var/lib/hlb/deploy/gens/{hex}")
            ])
        );
        assert_eq!(
            symlink("gens/x", "/r/current.new"),
            s(&["ln", "-s", "-f", "-T", "--", "gens/x", "/r/current.new"])
        );
        assert_eq!(
            inspect(&["/etc/a", "/etc/b c"]),
            s(&[
                "find",
                "/etc/a",
                "/etc/b c",
                "-maxdepth",
                "0",
                "-printf",
                "%y\\t%l\\t%p\\n"
            ])
        );
        assert_eq!(hash_files(&["/etc/a"]), s(&["sha256sum", "--", "/etc/a"]));
        assert_eq!(
            systemctl("reload", "nginx.service"),
            s(&["systemctl", "reload", "--", "nginx.service"])
        );
        assert_eq!(
            unit_active("nginx.service"),
            s(&["systemctl", "is-active", "--quiet", "--", "nginx.service"])
        );
        assert_eq!(remove_files(&["/a"]), s(&["rm", "-f", "--", "/a"]));
        assert_eq!(remove_trees(&["/a"]), s(&["rm", "-rf", "--", "/a"]));
        assert_eq!(
            mkdir_p(&["/a", "/b"]),
            s(&["mkdir", "-p", "--", "/a", "/b"])
        );
        assert_eq!(read_previous("/r"), s(&["readlink", "--", "/r/previous"]));
        assert_eq!(
            list_gens("/r"),
            s(&[
                "find",
                "/r/gens",
                "/r/previous",
                "-mindepth",
                "0",
                "-maxdepth",
                "1",
                "-printf",
                "%y\\t%l\\t%d\\t%f\\n"
            ])
        );
        assert_eq!(
            parse_gens("d\t\t0\tgens\nd\t\t1\taa\nd\t\t1\tbb.partial\nl\tgens/aa\t0\tprevious\n"),
            (
                vec!["aa".to_string(), "bb.partial".to_string()],
                Some("aa".to_string())
            )
        );
    }

    #[test]
    fn keys_depend_on_the_path_only() {
        assert_eq!(key("/etc/a"), key("/etc/a"));
        assert_ne!(key("/etc/a"), key("/etc/b"));
        assert_eq!(key("/etc/a").len(), 32);
        assert_eq!(
            link_target("/r", "/etc/a"),
            format!("/r/current/files/{}", key("/etc/a"))
        );
    }

    #[test]
    fn the_remote_shell_gets_back_exactly_the_arguments() {
        let argv = s(&["printf", "%s\\n", "it's", "a b", "", "$HOME", "/plain/path"]);
        let line = remote_command(&argv);
        assert_eq!(
            line,
            r#"printf '%s\n' 'it'\''s' 'a b' '' '$HOME' /plain/path"#
        );
        // The shell itself is the oracle.
        let out = std::process::Command::new("sh")
            .args(["-c", &line])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "it's\na b\n\n$HOME\n/plain/path\n"
        );
    }

    #[test]
    fn manifests_round_trip() {
        let g = Digest([1; 32]);
        let files = vec![
            ("/etc/a".to_string(), "aa".to_string()),
            ("/etc/b c".to_string(), "bb".to_string()),
        ];
        let text = manifest(&g, &files);
        assert_eq!(
            text,
            format!("{MANIFEST_FORMAT} {}\naa  /etc/a\nbb  /etc/b c\n", g.hex())
        );
        assert_eq!(
            parse_manifest(&text),
            Some(Manifest {
                generation: g,
                files
            })
        );
        assert_eq!(parse_manifest("something else\n"), None);
    }

    #[test]
    fn outputs_parse() {
        assert_eq!(
            parse_hashes("aa  /etc/a\nbb  /etc/b c\n"),
            vec![
                ("/etc/a".to_string(), "aa".to_string()),
                ("/etc/b c".to_string(), "bb".to_string())
            ]
        );
        assert_eq!(
            parse_inspect("l\t/r/current/files/k\t/etc/a\nf\t\t/etc/b\n"),
            vec![
                (
                    "/etc/a".to_string(),
                    ("l".to_string(), "/r/current/files/k".to_string())
                ),
                ("/etc/b".to_string(), ("f".to_string(), String::new()))
            ]
        );
    }

    #[test]
    fn only_plain_absolute_paths_are_delivered() {
        assert_eq!(path_problem("/etc/a b"), None);
        assert_eq!(path_problem("etc/a"), Some("is not absolute"));
        assert!(path_problem("/etc/a\nb").is_some());
        assert!(path_problem("/etc/../a").is_some());
    }
}
