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
            // A golden this run agrees with keeps its origin, so that `--force-update-snapshots` does not relabel
            // a recorded one; any other is what the emulator produced.
            let golden = scenario::golden::path(&s, &step.name);
            let origin = match scenario::golden::read(&golden) {
                Some(g) if g == step.value => scenario::golden::read_origin(&golden).ok().flatten(),
                _ => Some(scenario::golden::Origin::Emulated),
            };
            if let Some(origin) = &origin {
                settings.set_info(origin);
            }
            settings.bind(|| {
                let value = step.value;
                insta::assert_json_snapshot!(scenario::golden::name(&s, &step.name), value);
            });
        }
    });
}

/// The ec2-inventory scenarios with their cluster on MariaDB (the server backend, its schema run at start) give
/// the very goldens they give on SQLite.
#[test]
fn ec2_inventory_on_mariadb_gives_the_same_goldens() {
    let Some((server, install)) = crate::servers::mariadb::installed() else {
        assert!(!crate::servers::required(), "MariaDB is not installed");
        eprintln!("*** MariaDB is not installed: run 'sudo apt-get install -y mariadb-server' ***");
        return;
    };
    build_handlers();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let maria = rt
        .block_on(crate::servers::mariadb::MariaDb::start(&server, &install))
        .unwrap();
    let ws = workspace();
    let dir = ws.join("scenarios/ec2-inventory");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let s = scenario::load(&path, &ws).unwrap_or_else(|e| panic!("{e}"));
        // Each scenario starts from an empty database, as each starts a fresh emulator on SQLite.
        rt.block_on(async {
            use mysql_async::prelude::Queryable;
            let mut c = mysql_async::Conn::new(maria.opts(None)).await.unwrap();
            c.query_drop("DROP DATABASE IF EXISTS ec2_inventory_db")
                .await
                .unwrap();
            c.disconnect().await.unwrap();
        });
        let url = format!("mysql://root@127.0.0.1:{}", maria.port);
        let launch = offcloud::lambda::LaunchOptions {
            shim: Some(offcloud_bin()),
            ..Default::default()
        };
        let steps = rt
            .block_on(scenario::run::replay_with(
                &s,
                &ws,
                launch,
                &indicatif::ProgressBar::hidden(),
                |config| {
                    for c in &mut config.clusters {
                        c.url = Some(toml::Spanned::new(0..0, url.clone()));
                        c.schema_on_start = true;
                    }
                },
            ))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for step in steps {
            let golden = scenario::golden::path(&s, &step.name);
            let want = scenario::golden::read(&golden)
                .unwrap_or_else(|| panic!("{} has no golden", golden.display()));
            assert_eq!(
                step.value,
                want,
                "{} step {} differs on MariaDB",
                path.display(),
                step.name
            );
        }
    }
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("offcloud-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(offcloud_bin())
        .args(args)
        .current_dir(workspace())
        .output()
        .unwrap()
}

/// Recording against a live endpoint, here a second emulator on loopback, writes goldens that replay accepts.
#[tokio::test]
async fn record_against_a_live_endpoint_then_replay_offline() {
    build_handlers();
    let dir = temp_dir("record");
    let file = dir.join("get-time.toml");
    std::fs::copy(
        workspace().join("scenarios/epoch-time/get-time.toml"),
        &file,
    )
    .unwrap();
    let live = crate::process::serve(&workspace().join("fixtures/offcloud.toml"), &[]);
    // The live server prints its API line second; ask it through the main port's neighbour instead.
    let api = live.api.clone().expect("an API port");
    let out = cli(&[
        "scenario",
        "record",
        "--target",
        &format!("http://{api}"),
        "--aws-endpoint",
        &format!("http://{}", live.main),
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let golden = std::fs::read_to_string(dir.join("snapshots/get-time__rest.snap")).unwrap();
    assert!(golden.contains("[epoch_s]"), "{golden}");
    let out = cli(&["scenario", "run", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("6 passed, 0 failed"), "{stdout}");

    // A golden that disagrees fails, with a field-by-field diff.
    let snap = dir.join("snapshots/get-time__unknown-route.snap");
    let text = std::fs::read_to_string(&snap)
        .unwrap()
        .replace("403", "404");
    std::fs::write(&snap, text).unwrap();
    let out = cli(&["scenario", "run", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("FAIL")
            && stdout.contains("-  \"status\": 404")
            && stdout.contains("+  \"status\": 403"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_scenario_files_name_the_file_line_and_reason() {
    let dir = temp_dir("badscenario");
    let cases = [
        (
            "name = \"x\"\npurpose = \"y\"\n[[step]]\nname = \"s\"\nbogus = { a = 1 }\n",
            5,
            "unknown field `bogus`",
        ),
        (
            "name = \"x\"\npurpose = \"y\"\n[[step]]\nname = \"s\"\n",
            3,
            "exactly one of",
        ),
        (
            "name = \"x\"\npurpose = \"y\"\n\n[[step]]\nname = \"s\"\ninvoke = { function = \"nope\" }\n",
            4,
            "unknown function \"nope\"",
        ),
        ("purpose = \"y\"\n", 1, "missing field `name`"),
        (
            "name = \"x\"\npurpose = \"y\"\n[[step]]\nname = \"s\"\nhttp = { path = \"/x\" }\nfaults = [{ service = \"dynamodb\", error = \"Boom\" }]\n",
            3,
            "step \"s\": fault: unknown dynamodb error \"Boom\"",
        ),
    ];
    for (i, (text, line, reason)) in cases.iter().enumerate() {
        let f = dir.join(format!("bad{i}.toml"));
        std::fs::write(&f, text).unwrap();
        let e = offcloud::scenario::load(&f, &workspace()).unwrap_err();
        assert_eq!(e.line, *line, "{e}");
        assert!(e.to_string().contains(reason), "{e}");
        assert!(e.to_string().starts_with(&f.display().to_string()), "{e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn scenario_files_replayed_at_once_print_in_file_order() {
    build_handlers();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // The first file takes over a second (its SDK backs off while DynamoDB throttles), the second a few
    // milliseconds: replayed at once, the second finishes first.
    let files = [
        workspace().join("scenarios/dynamodb-manager/throttled.toml"),
        workspace().join("scenarios/epoch-time/get-time.toml"),
    ];
    let run = |jobs: usize| {
        let launch = offcloud::lambda::LaunchOptions {
            shim: Some(offcloud_bin()),
            ..Default::default()
        };
        let mut out = Vec::new();
        let output = scenario::cli::RunOutput {
            jobs,
            ..Default::default()
        };
        rt.block_on(scenario::cli::run(
            &files,
            &workspace(),
            launch,
            output,
            &mut out,
        ))
        .unwrap();
        String::from_utf8(out).unwrap()
    };
    let one_at_a_time = run(1);
    let at_once = run(2);
    assert_eq!(at_once, one_at_a_time);
    let first_of = |name: &str| at_once.lines().position(|l| l.contains(name));
    assert!(
        first_of("throttled.toml") < first_of("get-time.toml"),
        "{at_once}"
    );
}

#[test]
fn scenario_run_prints_each_step_s_trace_as_a_tree() {
    build_handlers();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let launch = offcloud::lambda::LaunchOptions {
        shim: Some(offcloud_bin()),
        ..Default::default()
    };
    let mut out = Vec::new();
    let output = scenario::cli::RunOutput {
        color: false,
        traces: true,
        ..Default::default()
    };
    rt.block_on(scenario::cli::run(
        &[workspace().join("scenarios/port-master/allocate.toml")],
        &workspace(),
        launch,
        output,
        &mut out,
    ))
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    // The first step's trace: the gateway request, the invocation under it, and its DynamoDB calls under that.
    let lines: Vec<&str> = text.lines().collect();
    let gateway = lines
        .iter()
        .position(|l| l.starts_with("       apigateway POST /Prod/ports  "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(lines[gateway - 1].starts_with("     trace 1-"), "{text}");
    assert!(
        lines[gateway + 1].starts_with("         lambda port-master  "),
        "{text}"
    );
    assert!(
        lines[gateway + 1..]
            .iter()
            .take_while(|l| !l.starts_with("     trace ") && !l.starts_with("ok "))
            .any(|l| l.starts_with("           dynamodb TransactWriteItems  ")),
        "{text}"
    );
}
