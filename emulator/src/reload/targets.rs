//! What the watcher watches, and what a changed file means: the config (or template) itself, a workspace package's
//! sources (rebuild it), or an interpreted function's code (recycle its instances).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::lambda::Lambda;

/// Folders never watched, and whose changes mean nothing: build output, version control, installed packages and
/// caches. A change under `node_modules` (an `npm install`) needs a save of the handler to be picked up.
const IGNORED_DIRS: &[&str] = &[
    "target",
    ".git",
    "node_modules",
    "__pycache__",
    ".venv",
    ".mypy_cache",
    ".pytest_cache",
];

/// Whether a changed path is noise: inside an ignored folder, or an editor's or interpreter's scratch file. Give it
/// the path below a watched root, so that a project that itself lies under a folder named `target` still counts.
pub fn is_ignored(path: &Path) -> bool {
    if path.components().any(|c| {
        c.as_os_str()
            .to_str()
            .is_some_and(|s| IGNORED_DIRS.contains(&s))
    }) {
        return true;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".pyc")
        || name.starts_with(".#")
        // Vim probes a folder's writability with a file of this name before it saves.
        || name == "4913"
}

/// A workspace whose packages some functions run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Package {
    pub workspace: PathBuf,
    pub name: String,
}

/// Everything the watcher watches, by meaning.
#[derive(Debug, Default)]
pub struct Targets {
    /// The config file and the template: a change reloads the config.
    pub config_files: Vec<PathBuf>,
    /// Each package's own folder and its path dependencies' folders, and the workspace's manifest and lock file.
    pub packages: BTreeMap<Package, Vec<PathBuf>>,
    /// The functions that run each package.
    pub package_functions: BTreeMap<Package, Vec<String>>,
    /// Each interpreted (or command-line) function's code folder, layers and the files its command names.
    pub code: BTreeMap<String, Vec<PathBuf>>,
}

/// What a batch of changed paths asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub reload_config: bool,
    pub rebuild: BTreeSet<Package>,
    pub recycle: BTreeSet<String>,
}

impl Targets {
    /// The targets of the functions `lambda` serves, reading each package workspace with `cargo metadata`.
    pub async fn of(lambda: &Lambda, config_files: Vec<PathBuf>) -> Self {
        let mut t = Targets {
            config_files,
            ..Targets::default()
        };
        let mut workspaces: BTreeMap<PathBuf, Option<Metadata>> = BTreeMap::new();
        for f in lambda.functions() {
            let Some((name, workspace)) = f.package() else {
                t.code.insert(f.name().to_string(), f.code_paths());
                continue;
            };
            let package = Package {
                workspace: workspace.to_path_buf(),
                name: name.to_string(),
            };
            if !workspaces.contains_key(workspace) {
                let metadata = Metadata::read(workspace).await;
                if let Err(e) = &metadata {
                    tracing::warn!(
                        "watch: cannot read the workspace at {}: {e}; its packages are watched as whole folders",
                        workspace.display()
                    );
                }
                workspaces.insert(workspace.to_path_buf(), metadata.ok());
            }
            let roots = match &workspaces[workspace] {
                Some(m) => m.roots(name),
                None => vec![workspace.to_path_buf()],
            };
            t.packages.insert(package.clone(), roots);
            t.package_functions
                .entry(package)
                .or_default()
                .push(f.name().to_string());
        }
        // Events name paths under the folders as they were watched: canonical ones, so that both sides compare.
        let canon = |paths: &mut Vec<PathBuf>| {
            for p in paths.iter_mut() {
                if let Ok(c) = std::fs::canonicalize(&*p) {
                    *p = c;
                }
            }
        };
        canon(&mut t.config_files);
        t.packages.values_mut().for_each(canon);
        t.code.values_mut().for_each(canon);
        t
    }

    /// Every file and folder to watch.
    pub fn watched(&self) -> BTreeSet<PathBuf> {
        self.config_files
            .iter()
            .chain(self.packages.values().flatten())
            .chain(self.code.values().flatten())
            .cloned()
            .collect()
    }

    /// What the changed `paths` ask for.
    pub fn plan(&self, paths: &[PathBuf]) -> Plan {
        let mut plan = Plan::default();
        let under = |roots: &[PathBuf], path: &Path| {
            roots
                .iter()
                .any(|r| path.strip_prefix(r).is_ok_and(|rest| !is_ignored(rest)))
        };
        for path in paths {
            if self.config_files.iter().any(|c| c == path) {
                plan.reload_config = true;
            }
            for (package, roots) in &self.packages {
                if under(roots, path) {
                    plan.rebuild.insert(package.clone());
                }
            }
            for (function, roots) in &self.code {
                if under(roots, path) {
                    plan.recycle.insert(function.clone());
                }
            }
        }
        plan
    }
}

/// The part of `cargo metadata` the watcher needs: each package's folder and its path dependencies.
#[derive(Debug, serde::Deserialize)]
struct Metadata {
    packages: Vec<MetaPackage>,
    workspace_root: PathBuf,
}

#[derive(Debug, serde::Deserialize)]
struct MetaPackage {
    name: String,
    manifest_path: PathBuf,
    dependencies: Vec<MetaDependency>,
}

#[derive(Debug, serde::Deserialize)]
struct MetaDependency {
    name: String,
    path: Option<PathBuf>,
}

impl Metadata {
    async fn read(workspace: &Path) -> Result<Self, String> {
        let out = tokio::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .current_dir(workspace)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
    }

    /// The folders whose change rebuilds `package`: its own, its path dependencies' (transitively), and the
    /// workspace's manifest and lock file.
    fn roots(&self, package: &str) -> Vec<PathBuf> {
        let by_name: BTreeMap<&str, &MetaPackage> =
            self.packages.iter().map(|p| (p.name.as_str(), p)).collect();
        let mut roots = BTreeSet::new();
        let mut todo = vec![package.to_string()];
        let mut seen = BTreeSet::new();
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let Some(p) = by_name.get(name.as_str()) else {
                continue;
            };
            if let Some(dir) = p.manifest_path.parent() {
                roots.insert(dir.to_path_buf());
            }
            for d in &p.dependencies {
                if let Some(path) = &d.path {
                    roots.insert(path.clone());
                    todo.push(d.name.clone());
                }
            }
        }
        roots.insert(self.workspace_root.join("Cargo.toml"));
        roots.insert(self.workspace_root.join("Cargo.lock"));
        roots.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_ignored() {
        for p in [
            "/p/target/debug/app",
            "/p/.git/index",
            "/p/app/__pycache__/x.cpython-311.pyc",
            "/p/app/.app.py.swp",
            "/p/app/app.py~",
            "/p/app/4913",
            "/p/node_modules/x/index.js",
        ] {
            assert!(is_ignored(Path::new(p)), "{p}");
        }
        for p in ["/p/app/app.py", "/p/src/main.rs", "/p/Cargo.toml"] {
            assert!(!is_ignored(Path::new(p)), "{p}");
        }
    }

    #[test]
    fn a_package_rebuilds_for_its_path_dependencies() {
        let m: Metadata = serde_json::from_value(serde_json::json!({
            "workspace_root": "/w",
            "packages": [
                {"name": "app", "manifest_path": "/w/app/Cargo.toml", "dependencies": [
                    {"name": "shared", "path": "/w/shared"},
                    {"name": "serde", "path": null}
                ]},
                {"name": "shared", "manifest_path": "/w/shared/Cargo.toml", "dependencies": [
                    {"name": "core", "path": "/w/core"}
                ]},
                {"name": "core", "manifest_path": "/w/core/Cargo.toml", "dependencies": []},
                {"name": "other", "manifest_path": "/w/other/Cargo.toml", "dependencies": []}
            ]
        }))
        .unwrap();
        let roots: Vec<String> = m
            .roots("app")
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            roots,
            [
                "/w/Cargo.lock",
                "/w/Cargo.toml",
                "/w/app",
                "/w/core",
                "/w/shared"
            ]
        );
    }

    #[test]
    fn a_plan_names_what_each_change_asks_for() {
        let app = Package {
            workspace: "/w".into(),
            name: "app".into(),
        };
        let t = Targets {
            config_files: vec!["/w/offcloud.toml".into()],
            packages: [(app.clone(), vec!["/w/app".into(), "/w/Cargo.lock".into()])].into(),
            package_functions: [(app.clone(), vec!["app-fn".into()])].into(),
            code: [("py".to_string(), vec!["/w/py".into()])].into(),
        };
        let plan = t.plan(&[
            "/w/app/src/main.rs".into(),
            "/w/py/__pycache__/h.pyc".into(),
            "/w/README.md".into(),
        ]);
        assert_eq!(
            plan,
            Plan {
                reload_config: false,
                rebuild: [app.clone()].into(),
                recycle: Default::default(),
            }
        );
        // A project inside a folder named `target` is still watched: only what lies below a root is judged.
        let inside = Targets {
            code: [("py".to_string(), vec!["/home/target/w/py".into()])].into(),
            ..Targets::default()
        };
        let plan = inside.plan(&[
            "/home/target/w/py/h.py".into(),
            "/home/target/w/py/target/x".into(),
        ]);
        assert_eq!(plan.recycle, ["py".to_string()].into());
        let plan = inside.plan(&["/home/target/w/py/target/x".into()]);
        assert!(plan.recycle.is_empty());
        let plan = t.plan(&["/w/py/h.py".into(), "/w/offcloud.toml".into()]);
        assert!(plan.reload_config);
        assert_eq!(plan.recycle, ["py".to_string()].into());
        assert!(plan.rebuild.is_empty());
    }
}
