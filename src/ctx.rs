//! Per-invocation context: where things are, and the steps most commands
//! share (load the recipes, read the lock, plan, open the store).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use hlb_builder::decl::Lab;
use hlb_builder::io::{FsIo, RelPath};
use hlb_builder::lock::Lock;
use hlb_builder::plan::Plan;
use hlb_builder::sched::Registry;
use hlb_cache::Profiles;
use hlb_cache::store::Store;
use hlb_fetch::{FetchEvent, FetchOptions, Fetcher, Mirror};
use serde_json::json;

use crate::cli::Global;
use crate::out::Out;
use crate::{Failure, Result};

pub const ENTRY: &str = "lab.kdl";
pub const LOCK_FILE: &str = "hlb.lock";

pub struct Ctx {
    pub global: Global,
    pub out: Out,
}

impl Ctx {
    pub fn new(global: Global) -> Ctx {
        let out = Out::new(global.json, global.color);
        Ctx { global, out }
    }

    /// The recipes directory: `--recipes`, else `.` when it has lab.kdl, else `recipes/`.
    pub fn recipes_dir(&self) -> PathBuf {
        if let Some(d) = &self.global.recipes {
            return d.clone();
        }
        if Path::new(ENTRY).exists() {
            PathBuf::from(".")
        } else {
            PathBuf::from("recipes")
        }
    }

    pub fn store_dir(&self) -> Result<PathBuf> {
        if let Some(d) = &self.global.store {
            return Ok(d.clone());
        }
        Ok(xdg("XDG_DATA_HOME", ".local/share")?.join("hlb/store"))
    }

    pub fn state_dir(&self) -> Result<PathBuf> {
        if let Some(d) = &self.global.state {
            return Ok(d.clone());
        }
        Ok(xdg("XDG_STATE_HOME", ".local/state")?.join("hlb"))
    }

    pub fn store(&self) -> Result<Store> {
        let dir = self.store_dir()?;
        Store::open(&dir)
            .with_context(|| format!("opening the store at {}", dir.display()))
            .map_err(Failure::from)
    }

    pub fn profiles(&self) -> Result<Profiles> {
        let dir = self.state_dir()?;
        Profiles::open(&dir)
            .with_context(|| format!("opening the state directory {}", dir.display()))
            .map_err(Failure::from)
    }

    /// Load and evaluate the recipes; diagnostics are reported here.
    pub fn load(&self) -> Result<Lab> {
        let dir = self.recipes_dir();
        if !dir.join(ENTRY).is_file() {
            return Err(anyhow!(
                "no {ENTRY} in {}: pass --recipes DIR (the directory holding lab.kdl)",
                dir.display()
            )
            .into());
        }
        let io = FsIo::new(dir.clone());
        let entry = RelPath::new(ENTRY).map_err(|e| anyhow!("{e}"))?;
        hlb_builder::load::load(&io, &entry).map_err(|e| {
            let n = e.diagnostics.0.len();
            self.report_diagnostics(&e.diagnostics, &e.sources);
            Failure::Reported(format!(
                "{n} problem{} in the recipes",
                if n == 1 { "" } else { "s" }
            ))
        })
    }

    pub fn report_diagnostics(
        &self,
        d: &hlb_builder::diag::Diagnostics,
        sources: &hlb_builder::diag::SourceMap,
    ) {
        if self.out.json {
            for item in d.to_json(sources).as_array().into_iter().flatten() {
                self.out.record("diagnostic", item.clone());
            }
        } else {
            eprint!("{}", d.render(sources, self.out.fancy));
        }
    }

    /// Refuse to go on when the recipes tree holds a private key or token in
    /// clear (anything but `*.age`): it would end up in git.
    pub fn refuse_plaintext_secrets(&self) -> Result<()> {
        let dir = self.recipes_dir();
        let findings = hlb::secrets::scan_tree(&dir)?;
        if findings.is_empty() {
            return Ok(());
        }
        for f in &findings {
            self.out.record(
                "plaintext-secret",
                json!({"file": f.path, "line": f.line, "kind": f.kind.to_string()}),
            );
            self.out.status(&format!("error: {}: {f}", dir.display()));
        }
        Err(Failure::Reported(format!(
            "{} file{} in {} hold{} secret material in clear: move it into a secret (`hlb secret set NAME --from-file FILE`), delete the file, and rotate it if it was ever committed",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" },
            dir.display(),
            if findings.len() == 1 { "s" } else { "" }
        )))
    }

    /// Secrets for a build: the operator's identity if there is one, else a
    /// source that fails each secret-bearing derivation with a clear message
    /// (everything else still builds).
    pub fn secret_source(&self, lab: &Lab) -> Result<Arc<dyn hlb_builder::SecretSource>> {
        match hlb::secrets::find_identities(self.global.identity.as_deref())? {
            None => Ok(Arc::new(hlb_builder::NoSecrets)),
            Some((_, ids)) => {
                let recipients: Vec<String> = lab
                    .deploy_recipients
                    .iter()
                    .map(|r| r.value.clone())
                    .collect();
                let dir =
                    hlb_secrets::SecretsDir::new(self.recipes_dir().join(lab.secrets_dir.as_str()));
                Ok(Arc::new(hlb::secrets::CliSecrets::new(
                    dir,
                    ids,
                    &recipients,
                )?))
            }
        }
    }

    /// The lab's secrets directory: its `secrets-dir` when the recipes load
    /// (quietly: `hlb secret` must work while a recipe is broken), else
    /// `secrets/` under the recipes.
    pub fn secrets_dir(&self) -> PathBuf {
        let dir = self.recipes_dir();
        let io = FsIo::new(dir.clone());
        let declared = RelPath::new(ENTRY)
            .ok()
            .and_then(|entry| hlb_builder::load::load(&io, &entry).ok())
            .map(|lab| lab.secrets_dir.as_str().to_string());
        dir.join(declared.unwrap_or_else(|| hlb_builder::load::DEFAULT_SECRETS_DIR.to_string()))
    }

    pub fn lock_path(&self) -> PathBuf {
        self.recipes_dir().join(LOCK_FILE)
    }

    pub fn read_lock(&self) -> Result<Lock> {
        let path = self.lock_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => Lock::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()).into()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock::default()),
            Err(e) => Err(anyhow!("reading {}: {e}", path.display()).into()),
        }
    }

    pub fn fetcher(&self) -> Result<Arc<Fetcher>> {
        let mut mirrors = Vec::new();
        if let Ok(env) = std::env::var("HLB_MIRRORS") {
            mirrors.extend(Mirror::parse_list(&env).map_err(|e| anyhow!("HLB_MIRRORS: {e}"))?);
        }
        for m in &self.global.mirrors {
            mirrors.push(
                Mirror::parse(m)
                    .map_err(|e| anyhow!("--mirror {}: {e}", hlb_fetch::Redacted(m)))?,
            );
        }
        let out = self.out;
        let reporter = move |e: &FetchEvent| match e {
            FetchEvent::Progress { .. } => {}
            FetchEvent::Started { url, source } => {
                out.record(
                    "fetch",
                    json!({"event": "started", "url": url, "source": source}),
                );
                if url == source {
                    out.status(&format!("downloading {url}"));
                } else {
                    out.status(&format!("downloading {url} from {source}"));
                }
            }
            FetchEvent::Retrying {
                url,
                source,
                attempt,
                delay,
                reason,
            } => {
                out.record("fetch", json!({"event": "retrying", "url": url, "source": source, "attempt": attempt, "reason": reason}));
                out.status(&format!(
                    "warning: {source} failed for {url} ({reason}); retry {attempt} in {delay:?}"
                ));
            }
            FetchEvent::MirrorSkipped {
                url,
                source,
                reason,
            } => {
                out.record("fetch", json!({"event": "mirror-skipped", "url": url, "source": source, "reason": reason}));
                out.status(&format!(
                    "warning: skipping mirror {source} for {url}: {reason}"
                ));
            }
            FetchEvent::Done { url, source, bytes } => {
                out.record(
                    "fetch",
                    json!({"event": "done", "url": url, "source": source, "bytes": bytes}),
                );
            }
        };
        let opts = FetchOptions {
            mirrors,
            offline: self.global.offline,
            reporter: Some(Arc::new(reporter)),
            ..FetchOptions::default()
        };
        Ok(Arc::new(Fetcher::new(opts).map_err(|e| anyhow!("{e}"))?))
    }

    pub fn registry(&self) -> Result<Registry> {
        Ok(hlb::registry(self.fetcher()?))
    }

    /// Load, read the lock, plan.
    pub fn plan(&self, registry: &Registry) -> Result<(Lab, Plan)> {
        let lab = self.load()?;
        let lock = self.read_lock()?;
        let plan = hlb_builder::plan::plan(&lab, &lock, &|k| registry.version(k)).map_err(|d| {
            let n = d.0.len();
            self.report_diagnostics(&d, &lab.sources);
            Failure::Reported(format!(
                "{n} problem{} in the recipes",
                if n == 1 { "" } else { "s" }
            ))
        })?;
        // Talos patch problems, found before anything is built.
        let talos = registry.check(&lab, &plan);
        if !talos.0.is_empty() {
            let n = talos.0.len();
            self.report_diagnostics(&talos, &lab.sources);
            return Err(Failure::Reported(format!(
                "{n} problem{} in the recipes",
                if n == 1 { "" } else { "s" }
            )));
        }
        Ok((lab, plan))
    }

    /// A declaration name, or a derivation id (full hex or unique prefix).
    pub fn resolve(&self, plan: &Plan, what: &str) -> Result<hlb_builder::DrvId> {
        if let Some(id) = plan.by_name.get(what) {
            return Ok(*id);
        }
        let matches: Vec<_> = plan
            .graph
            .iter()
            .filter(|(id, _)| id.hex().starts_with(what))
            .map(|(id, _)| *id)
            .collect();
        match matches.as_slice() {
            [id] if what.len() >= 6 => Ok(*id),
            _ => {
                let mut names: Vec<_> = plan.by_name.keys().map(String::as_str).collect();
                names.sort_by_key(|n| strsim_distance(n, what));
                let hint = names
                    .first()
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                Err(anyhow!("no declaration or derivation `{what}` in this lab{hint}").into())
            }
        }
    }
}

/// Edit distance, for "did you mean" hints.
pub fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let v = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
            cur.push(v);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn xdg(var: &str, fallback: &str) -> Result<PathBuf> {
    if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        if p.is_absolute() {
            return Ok(p);
        }
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| anyhow!("neither {var} nor HOME is set: pass --store and --state"))?;
    Ok(PathBuf::from(home).join(fallback))
}
