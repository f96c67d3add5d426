//! Every scenario file under `scenarios/`, replayed through a fresh emulator, each step an insta snapshot.
//! A new scenario file is picked up with no code change.

use offcloud::scenario;

use crate::support::{build_handlers, offcloud_bin, workspace};

#[test]
fn scenarios() {
    build_handlers();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let ws = workspace();
    insta::glob!("../../scenarios", "**/*.toml", |path| {
        let s = scenario::load(path, &ws).unwrap_or_else(|e| panic!("{e}"));
        let launch = offcloud::lambda::LaunchOptions {
            shim: Some(offcloud_bin()),
            ..Default::default()
        };
        let steps = rt
            .block_on(scenario::run::replay(&s, &ws, launch))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!steps.is_empty(), "{} has no steps", path.display());
        for step in steps {
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_path(scenario::golden::dir(&s));
            settings.set_prepend_module_to_snapshot(false);
            settings.remove_snapshot_suffix();
            settings.set_omit_expression(false);
            settings.bind(|| {
                let value = step.value;
                insta::assert_json_snapshot!(scenario::golden::name(&s, &step.name), value);
            });
        }
    });
}
